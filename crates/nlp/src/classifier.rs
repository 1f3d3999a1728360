//! The text classifier: a pretrained encoder, a pooling of its last hidden state into one
//! vector per text, and a linear head (what Hugging Face's `AutoModelForSequenceClassification`
//! and the course's chapter 4 train; the peer script `hf_minilm_amazon.py` builds the same).

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Int, Tensor};
use kindling_core::learner::TaskModel;
use kindling_core::optim::ParamGroups;
use serde::{Deserialize, Serialize};

use crate::data::TextBatch;
use crate::model::{Encoder, HubConfig, mean_pool};

/// How the hidden states of a text become one vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Pooling {
    /// The mean over the text's tokens, padding left out (sentence-transformers' pooling, and
    /// the default).
    Mean,
    /// The first token (`[CLS]`), through the checkpoint's pooler (dense + tanh) when it has
    /// one, as BERT's classifier does.
    Cls,
}

/// What a text classifier is built from: the encoder's configuration, the pooling, the number
/// of outputs, and the longest input in tokens.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassifierConfig {
    /// The encoder, as its Hub `config.json` describes it.
    pub encoder: HubConfig,
    /// How hidden states are pooled.
    pub pooling: Pooling,
    /// Outputs: classes, labels (multi-label) or 1 (regression).
    pub n_out: usize,
    /// Texts are cut to this many tokens, special tokens included.
    pub max_len: usize,
}

impl ClassifierConfig {
    /// A classifier around `encoder` (its weights usually loaded from a checkpoint) with a
    /// freshly initialised head.
    pub fn init_with(&self, encoder: Encoder, device: &Device) -> TextClassifier {
        let head = LinearConfig::new(self.encoder.hidden_size, self.n_out).init(device);
        TextClassifier { encoder, head, cls: self.pooling == Pooling::Cls }
    }

    /// A classifier with random weights everywhere (the shape a model file is loaded into).
    pub fn init(&self, device: &Device) -> TextClassifier {
        self.init_with(self.encoder.init(device), device)
    }

    /// The parameter groups for freezing and discriminative learning rates: the embeddings,
    /// then each encoder layer, then the rest (pooler and head). `fine_tune` freezes all but
    /// the last group for its first epoch and then spreads its rates over these groups,
    /// smallest on the embeddings.
    pub fn param_groups(&self) -> ParamGroups {
        let mut prefixes = vec!["encoder.embeddings".to_string()];
        prefixes.extend((0..self.encoder.num_layers).map(|i| format!("encoder.layers.{i}")));
        let refs: Vec<&str> = prefixes.iter().map(String::as_str).collect();
        ParamGroups::by_prefix(&refs)
    }
}

/// See [`ClassifierConfig`].
#[derive(Module, Debug)]
pub struct TextClassifier {
    /// The pretrained encoder.
    pub encoder: Encoder,
    /// The linear head on the pooled vector.
    pub head: Linear,
    /// Pool with the first token rather than the mean.
    pub cls: bool,
}

impl TextClassifier {
    /// One vector per text, `[batch, hidden]`, from token ids and the attention mask.
    pub fn features(&self, ids: Tensor<2, Int>, mask: Tensor<2, Int>) -> Tensor<2> {
        let hidden = self.encoder.forward(ids, mask.clone());
        if self.cls { self.encoder.pool_cls(hidden) } else { mean_pool(hidden, mask) }
    }

    /// Raw outputs `[batch, n_out]` (logits, or values for regression).
    pub fn forward(&self, ids: Tensor<2, Int>, mask: Tensor<2, Int>) -> Tensor<2> {
        self.head.forward(self.features(ids, mask))
    }
}

impl TaskModel<TextBatch> for TextClassifier {
    fn forward_batch(&self, batch: &TextBatch) -> Tensor<2> {
        self.forward(batch.ids.clone(), batch.mask.clone())
    }
}
