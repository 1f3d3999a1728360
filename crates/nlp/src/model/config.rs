//! The encoder's configuration, read from a Hugging Face checkpoint's `config.json`.

use std::path::Path;

use kindling_core::{Error, Result};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The transformer families whose checkpoints kindling reads. All three are the same post-norm
/// encoder; they differ in key names, token types and where position ids start.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelType {
    /// BERT and the models built like it (MiniLM, all-MiniLM-L6-v2, …): `model_type: "bert"`.
    Bert,
    /// RoBERTa: as BERT, with position ids starting after the padding id. `"roberta"`.
    Roberta,
    /// DistilBERT: as BERT, without token types or pooler, with its own key names.
    /// `"distilbert"`.
    DistilBert,
}

impl ModelType {
    /// The `model_type` values of `config.json` that are read.
    pub const SUPPORTED: [&'static str; 3] = ["bert", "roberta", "distilbert"];

    /// The family named by a `config.json`'s `model_type`, if it is one of [`Self::SUPPORTED`].
    pub fn from_hub(name: &str) -> Option<Self> {
        match name {
            "bert" => Some(Self::Bert),
            "roberta" => Some(Self::Roberta),
            "distilbert" => Some(Self::DistilBert),
            _ => None,
        }
    }

    /// The name Hugging Face gives the family (`"bert"`, `"roberta"`, `"distilbert"`).
    pub fn hub_name(self) -> &'static str {
        match self {
            Self::Bert => "bert",
            Self::Roberta => "roberta",
            Self::DistilBert => "distilbert",
        }
    }
}

/// A BERT-family encoder's shape and settings, in one form for the three families (the
/// `config.json` of a checkpoint is read by [`HubConfig::read`]; this struct's own serde form,
/// with these field names, is what kindling writes into its model files).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HubConfig {
    /// The family (serialised as Hugging Face spells it: `"bert"`, `"roberta"`, `"distilbert"`).
    pub model_type: ModelType,
    /// Rows of the word embedding table.
    pub vocab_size: usize,
    /// Width of the hidden states (`hidden_size`; DistilBERT's `dim`).
    pub hidden_size: usize,
    /// Encoder layers (`num_hidden_layers`; DistilBERT's `n_layers`).
    pub num_layers: usize,
    /// Attention heads per layer (`num_attention_heads`; DistilBERT's `n_heads`);
    /// `hidden_size` is a multiple of it.
    pub num_heads: usize,
    /// Width of the feed-forward layer (`intermediate_size`; DistilBERT's `hidden_dim`).
    pub intermediate_size: usize,
    /// Rows of the position embedding table (`max_position_embeddings`). RoBERTa uses only the
    /// rows from [`position_offset`](Self::position_offset) on; see [`HubConfig::max_tokens`].
    pub max_positions: usize,
    /// Rows of the token type table (`type_vocab_size`): 2 for BERT, 1 for RoBERTa, 0 for
    /// DistilBERT, which has no token types. Every token is given type 0.
    pub type_vocab_size: usize,
    /// The LayerNorms' epsilon (`layer_norm_eps`; 1e-12 for DistilBERT, which has no setting).
    pub layer_norm_eps: f64,
    /// The padding token's id (`pad_token_id`).
    pub pad_token_id: usize,
    /// The feed-forward activation (`hidden_act`; DistilBERT's `activation`). Only `"gelu"`
    /// (the exact, erf-based GELU) is supported.
    pub hidden_act: String,
    /// The position id of the first token: 0 for BERT and DistilBERT; `pad_token_id + 1` for
    /// RoBERTa, whose position ids count from just after the padding id (so of its
    /// `max_positions` rows, `max_positions - pad_token_id - 1` are usable).
    pub position_offset: usize,
    /// Dropout on hidden states (`hidden_dropout_prob`; DistilBERT's `dropout`), applied only
    /// while training on an autodiff device.
    pub hidden_dropout: f64,
    /// Dropout on attention probabilities (`attention_probs_dropout_prob`; DistilBERT's
    /// `attention_dropout`), applied only while training on an autodiff device.
    pub attention_dropout: f64,
    /// Whether the encoder has BERT's pooler (`pooler.dense` + tanh on the first token).
    /// [`HubConfig::read`] assumes one for BERT and RoBERTa and none for DistilBERT;
    /// [`load_hub`](super::load_hub) sets it from what the checkpoint holds.
    pub pooler: bool,
}

impl HubConfig {
    /// Reads `dir/config.json`, a checkpoint in the Hugging Face Hub layout.
    ///
    /// # Errors
    ///
    /// [`Error::Io`] naming the file when it cannot be read; [`Error::BadFile`] naming it when it
    /// is not JSON, when its `model_type` is not one of [`ModelType::SUPPORTED`] (the message
    /// names `model_type` and the supported values), when a needed key is missing or not a
    /// number, when the activation is not `gelu`, or when the sizes do not make a model
    /// (`hidden_size` not divisible by the number of heads, a zero size, a dropout outside
    /// `[0, 1)`, no usable position).
    pub fn read(dir: &Path) -> Result<HubConfig> {
        let path = dir.join("config.json");
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        Self::from_json(&text).map_err(|reason| Error::bad_file(&path, reason))
    }

    /// Parses the text of a Hugging Face `config.json`; the error says what is wrong with it.
    pub fn from_json(text: &str) -> std::result::Result<HubConfig, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("not a JSON config: {e}"))?;
        if !v.is_object() {
            return Err("not a JSON config: expected an object".into());
        }
        let model_type = match v.get("model_type") {
            Some(Value::String(name)) => ModelType::from_hub(name).ok_or_else(|| {
                format!("model_type '{name}' is not supported; supported model types: {}", ModelType::SUPPORTED.join(", "))
            })?,
            Some(other) => return Err(format!("model_type must be a string, found {other}")),
            None => {
                return Err(format!("no model_type: this is not a Hugging Face model config (supported model types: {})", ModelType::SUPPORTED.join(", ")));
            }
        };
        let c = match model_type {
            ModelType::Bert | ModelType::Roberta => {
                let roberta = model_type == ModelType::Roberta;
                let pad_token_id = opt_usize(&v, "pad_token_id")?.unwrap_or(usize::from(roberta));
                HubConfig {
                    model_type,
                    vocab_size: req_usize(&v, "vocab_size")?,
                    hidden_size: req_usize(&v, "hidden_size")?,
                    num_layers: req_usize(&v, "num_hidden_layers")?,
                    num_heads: req_usize(&v, "num_attention_heads")?,
                    intermediate_size: req_usize(&v, "intermediate_size")?,
                    max_positions: opt_usize(&v, "max_position_embeddings")?.unwrap_or(512),
                    type_vocab_size: opt_usize(&v, "type_vocab_size")?.unwrap_or(2),
                    layer_norm_eps: opt_f64(&v, "layer_norm_eps")?.unwrap_or(1e-12),
                    pad_token_id,
                    hidden_act: opt_str(&v, "hidden_act")?.unwrap_or("gelu").to_string(),
                    position_offset: if roberta { pad_token_id + 1 } else { 0 },
                    hidden_dropout: opt_f64(&v, "hidden_dropout_prob")?.unwrap_or(0.1),
                    attention_dropout: opt_f64(&v, "attention_probs_dropout_prob")?.unwrap_or(0.1),
                    pooler: true,
                }
            }
            ModelType::DistilBert => HubConfig {
                model_type,
                vocab_size: req_usize(&v, "vocab_size")?,
                hidden_size: req_usize(&v, "dim")?,
                num_layers: req_usize(&v, "n_layers")?,
                num_heads: req_usize(&v, "n_heads")?,
                intermediate_size: req_usize(&v, "hidden_dim")?,
                max_positions: opt_usize(&v, "max_position_embeddings")?.unwrap_or(512),
                type_vocab_size: 0,
                layer_norm_eps: 1e-12,
                pad_token_id: opt_usize(&v, "pad_token_id")?.unwrap_or(0),
                hidden_act: opt_str(&v, "activation")?.unwrap_or("gelu").to_string(),
                position_offset: 0,
                hidden_dropout: opt_f64(&v, "dropout")?.unwrap_or(0.1),
                attention_dropout: opt_f64(&v, "attention_dropout")?.unwrap_or(0.1),
                pooler: false,
            },
        };
        c.check()?;
        Ok(c)
    }

    /// Checks that the settings make a model; the error names the setting at fault.
    pub fn check(&self) -> std::result::Result<(), String> {
        let sizes = [
            ("vocab_size", self.vocab_size),
            ("hidden_size", self.hidden_size),
            ("num_hidden_layers", self.num_layers),
            ("num_attention_heads", self.num_heads),
            ("intermediate_size", self.intermediate_size),
        ];
        if let Some((name, _)) = sizes.iter().find(|(_, n)| *n == 0) {
            return Err(format!("{name} must be at least 1"));
        }
        if !self.hidden_size.is_multiple_of(self.num_heads) {
            return Err(format!(
                "hidden_size {} is not divisible by num_attention_heads {}",
                self.hidden_size, self.num_heads
            ));
        }
        if self.hidden_act != "gelu" {
            return Err(format!(
                "hidden_act '{}' is not supported: only \"gelu\" (the exact, erf-based GELU) is",
                self.hidden_act
            ));
        }
        if self.max_tokens() == 0 {
            return Err(format!(
                "max_position_embeddings {} leaves no usable position after the offset {} (pad_token_id + 1)",
                self.max_positions, self.position_offset
            ));
        }
        if self.pad_token_id >= self.vocab_size {
            return Err(format!("pad_token_id {} is not below vocab_size {}", self.pad_token_id, self.vocab_size));
        }
        if self.model_type != ModelType::DistilBert && self.type_vocab_size == 0 {
            return Err("type_vocab_size must be at least 1".into());
        }
        for (name, p) in [("hidden_dropout_prob", self.hidden_dropout), ("attention_probs_dropout_prob", self.attention_dropout)] {
            if !(0.0..1.0).contains(&p) {
                return Err(format!("{name} {p} is not in [0, 1)"));
            }
        }
        if !(self.layer_norm_eps.is_finite() && self.layer_norm_eps > 0.0) {
            return Err(format!("layer_norm_eps {} must be a positive number", self.layer_norm_eps));
        }
        Ok(())
    }

    /// The longest input, in tokens (special tokens included), that the position table covers:
    /// `max_positions - position_offset` (512 for BERT's 512 rows, and for RoBERTa's 514 rows
    /// with padding id 1).
    pub fn max_tokens(&self) -> usize {
        self.max_positions.saturating_sub(self.position_offset)
    }

    /// The width of one attention head, `hidden_size / num_heads`.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_heads
    }
}

fn req_usize(v: &Value, key: &str) -> std::result::Result<usize, String> {
    opt_usize(v, key)?.ok_or_else(|| format!("no {key}"))
}

fn opt_usize(v: &Value, key: &str) -> std::result::Result<Option<usize>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => x
            .as_u64()
            .and_then(|n| usize::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| format!("{key} must be a whole number ≥ 0, found {x}")),
    }
}

fn opt_f64(v: &Value, key: &str) -> std::result::Result<Option<f64>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => x.as_f64().map(Some).ok_or_else(|| format!("{key} must be a number, found {x}")),
    }
}

fn opt_str<'a>(v: &'a Value, key: &str) -> std::result::Result<Option<&'a str>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => x.as_str().map(Some).ok_or_else(|| format!("{key} must be a string, found {x}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINILM: &str = r#"{"architectures": ["BertModel"], "attention_probs_dropout_prob": 0.1,
        "hidden_act": "gelu", "hidden_dropout_prob": 0.1, "hidden_size": 384, "intermediate_size": 1536,
        "layer_norm_eps": 1e-12, "max_position_embeddings": 512, "model_type": "bert",
        "num_attention_heads": 12, "num_hidden_layers": 6, "pad_token_id": 0, "type_vocab_size": 2,
        "vocab_size": 30522}"#;

    #[test]
    fn bert_config_is_read() {
        let c = HubConfig::from_json(MINILM).unwrap();
        assert_eq!(c.model_type, ModelType::Bert);
        assert_eq!((c.vocab_size, c.hidden_size, c.num_layers, c.num_heads), (30522, 384, 6, 12));
        assert_eq!((c.intermediate_size, c.max_positions, c.type_vocab_size, c.pad_token_id), (1536, 512, 2, 0));
        assert_eq!((c.layer_norm_eps, c.hidden_dropout, c.attention_dropout), (1e-12, 0.1, 0.1));
        assert_eq!((c.position_offset, c.max_tokens(), c.head_dim()), (0, 512, 32));
        assert!(c.pooler);
    }

    #[test]
    fn roberta_positions_start_after_padding() {
        let c = HubConfig::from_json(
            r#"{"model_type": "roberta", "vocab_size": 50265, "hidden_size": 768, "num_hidden_layers": 12,
            "num_attention_heads": 12, "intermediate_size": 3072, "max_position_embeddings": 514,
            "type_vocab_size": 1, "layer_norm_eps": 1e-05, "pad_token_id": 1, "hidden_act": "gelu"}"#,
        )
        .unwrap();
        assert_eq!((c.model_type, c.position_offset, c.max_tokens(), c.type_vocab_size), (ModelType::Roberta, 2, 512, 1));
        assert_eq!(c.layer_norm_eps, 1e-5);
    }

    #[test]
    fn distilbert_keys_are_read() {
        let c = HubConfig::from_json(
            r#"{"model_type": "distilbert", "vocab_size": 30522, "dim": 768, "n_layers": 6, "n_heads": 12,
            "hidden_dim": 3072, "max_position_embeddings": 512, "activation": "gelu", "dropout": 0.1,
            "attention_dropout": 0.2, "pad_token_id": 0, "sinusoidal_pos_embds": false}"#,
        )
        .unwrap();
        assert_eq!((c.hidden_size, c.num_layers, c.num_heads, c.intermediate_size), (768, 6, 12, 3072));
        assert_eq!((c.type_vocab_size, c.layer_norm_eps, c.attention_dropout, c.pooler), (0, 1e-12, 0.2, false));
    }

    #[test]
    fn serde_form_round_trips_with_lowercase_model_type() {
        let c = HubConfig::from_json(MINILM).unwrap();
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains(r#""model_type":"bert""#), "{json}");
        assert_eq!(serde_json::from_str::<HubConfig>(&json).unwrap(), c);
        assert_eq!(serde_json::to_string(&ModelType::DistilBert).unwrap(), r#""distilbert""#);
    }

    #[test]
    fn bad_configs_say_what_is_wrong() {
        let err = |s: &str| HubConfig::from_json(s).unwrap_err();
        let e = err(&MINILM.replace(r#""model_type": "bert""#, r#""model_type": "gpt2""#));
        assert!(e.contains("model_type 'gpt2'") && e.contains("bert, roberta, distilbert"), "{e}");
        let e = err(&MINILM.replace(r#""num_attention_heads": 12"#, r#""num_attention_heads": 5"#));
        assert!(e.contains("not divisible by num_attention_heads 5"), "{e}");
        let e = err(&MINILM.replace(r#""hidden_act": "gelu""#, r#""hidden_act": "relu""#));
        assert!(e.contains("hidden_act 'relu'"), "{e}");
        let e = err(&MINILM.replace(r#""hidden_size": 384,"#, ""));
        assert!(e.contains("no hidden_size"), "{e}");
        let e = err(&MINILM.replace(r#""vocab_size": 30522"#, r#""vocab_size": -3"#));
        assert!(e.contains("vocab_size must be a whole number"), "{e}");
        assert!(err("[1, 2]").contains("not a JSON config"));
        assert!(err("{}").contains("no model_type"));
    }
}
