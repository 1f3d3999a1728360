//! Exporting a fine-tuned text classifier with everything prediction needs (the tokenizer, the
//! encoder's configuration, the labels), checking such a file's header against its tensors,
//! and predicting with it.

use std::path::Path;

use burn::module::Module;
use burn::tensor::Device;
use kindling_core::export::{self, Fault, HeaderCheck, ModelHeader, SplitRecord, TensorShapes};
use kindling_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::classifier::{ClassifierConfig, TextClassifier};
use crate::data::{clean_text, rows_by_length};
use crate::learner::TextTask;
use crate::tokenizer::TextTokenizer;

/// The task name in the model header.
pub const TASK: &str = "text";

/// The largest sizes a model file may declare (guards on numbers read from a file).
const MAX_VOCAB: usize = 1 << 22;
const MAX_HIDDEN: usize = 1 << 14;
const MAX_LAYERS: usize = 256;

/// What turns a text into the model's input and its output into an answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TextPreprocessing {
    /// The tokenizer, as Hugging Face's `tokenizer.json`.
    pub tokenizer: String,
    /// Single-label, multi-label or regression.
    pub task: TextTask,
    /// Multi-label: a label is predicted when its probability exceeds this.
    pub thresh: f32,
}

/// Writes the classifier, its tokenizer, configuration, labels and split to one file.
pub fn export_text(
    path: &Path,
    model: &TextClassifier,
    config: &ClassifierConfig,
    pre: &TextPreprocessing,
    classes: Vec<String>,
    split: Option<SplitRecord>,
) -> Result<()> {
    export::export_task(path, model, TASK, config, pre, classes, split)
}

/// The header [`export_text`] writes (without the split): what `train --from` checks a file
/// against. The tokenizer and the kind of task give the weights their meaning ([`FITTED`]).
pub fn text_header(config: &ClassifierConfig, pre: &TextPreprocessing, classes: Vec<String>) -> Result<ModelHeader> {
    export::task_header(TASK, config, pre, classes)
}

/// The preprocessing keys that must match for a run to start from a model file.
pub const FITTED: [&str; 2] = ["tokenizer", "task"];

impl HeaderCheck<ClassifierConfig> for TextPreprocessing {
    fn check(&self, arch: &ClassifierConfig, classes: &[String], t: &TensorShapes) -> std::result::Result<(), Fault> {
        let e = &arch.encoder;
        // The rules a Hub config.json is held to (sizes at least 1, heads dividing the width,
        // the activation, the positions), then the bounds a model file adds.
        e.check().map_err(|reason| Fault::new("arch.encoder", reason))?;
        if e.vocab_size > MAX_VOCAB {
            return Err(Fault::new("arch.encoder.vocab_size", format!("{}: at most {MAX_VOCAB}", e.vocab_size)));
        }
        if e.hidden_size > MAX_HIDDEN {
            return Err(Fault::new("arch.encoder.hidden_size", format!("{}: at most {MAX_HIDDEN}", e.hidden_size)));
        }
        if e.num_layers > MAX_LAYERS {
            return Err(Fault::new("arch.encoder.num_layers", format!("{}: at most {MAX_LAYERS}", e.num_layers)));
        }
        match self.task {
            TextTask::Regression => Fault::len("arch.n_out", arch.n_out, 1, "a regression model's single output")?,
            TextTask::Single | TextTask::Multi => {
                if self.task == TextTask::Single && classes.len() < 2 {
                    return Err(Fault::new("classes", format!("{} classes: a classifier needs at least 2", classes.len())));
                }
                Fault::len("classes", classes.len(), arch.n_out, "the model's outputs (arch.n_out)")?;
            }
        }
        if !(self.thresh > 0.0 && self.thresh < 1.0) {
            return Err(Fault::new("preprocessing.thresh", format!("{}: must be between 0 and 1", self.thresh)));
        }
        if arch.max_len < 2 || arch.max_len > e.max_tokens() {
            return Err(Fault::new("arch.max_len", format!("{}: must be 2 to the encoder's {} positions", arch.max_len, e.max_tokens())));
        }
        t.expect("encoder.embeddings.word_embeddings.weight", &[e.vocab_size, e.hidden_size], "arch.encoder.vocab_size")?;
        t.expect("head.weight", &[e.hidden_size, arch.n_out], "arch.n_out")?;
        let layers = t
            .under("encoder.layers.")
            .filter_map(|(name, _)| name["encoder.layers.".len()..].split('.').next()?.parse::<usize>().ok())
            .max()
            .map_or(0, |m| m + 1);
        if layers != e.num_layers {
            return Err(Fault::new("arch.encoder.num_layers", format!("says {}, but the file holds {layers} layers", e.num_layers)));
        }
        let tok = TextTokenizer::from_json(&self.tokenizer).map_err(|err| Fault::new("preprocessing.tokenizer", err.to_string()))?;
        if tok.vocab_size() > e.vocab_size {
            return Err(Fault::new(
                "preprocessing.tokenizer",
                format!("has {} tokens, more than the model's {} embeddings (arch.encoder.vocab_size)", tok.vocab_size(), e.vocab_size),
            ));
        }
        Ok(())
    }
}

/// One text's prediction.
#[derive(Clone, Debug, PartialEq)]
pub struct TextPrediction {
    /// Probabilities per class (softmax, or sigmoid per label for multi-label); the value for
    /// regression.
    pub probs: Vec<f32>,
    /// The predicted class names (one; any number for multi-label; none for regression).
    pub labels: Vec<String>,
    /// How many tokens the model saw (after truncation to `max_len`).
    pub n_tokens: usize,
    /// Whether the text was longer than `max_len` tokens and cut.
    pub truncated: bool,
}

/// A loaded text model.
pub struct TextPredictor {
    /// The architecture.
    pub config: ClassifierConfig,
    /// Task and tokenizer.
    pub pre: TextPreprocessing,
    /// Class (label) names.
    pub classes: Vec<String>,
    /// The recorded train/valid split.
    pub split: Option<SplitRecord>,
    tokenizer: TextTokenizer,
    model: TextClassifier,
    device: Device,
}

impl TextPredictor {
    /// Loads a model file written by [`export_text`], checked first.
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        let f = export::open::<ClassifierConfig, TextPreprocessing>(path, TASK, "a text model")?;
        let tokenizer = TextTokenizer::from_json(&f.preprocessing.tokenizer).map_err(|e| Error::bad_file(path, e.to_string()))?;
        let model = export::load(path, f.arch.init(device), f.bytes)?.valid();
        Ok(Self { config: f.arch, pre: f.preprocessing, classes: f.classes, split: f.split, tokenizer, model, device: device.clone() })
    }

    /// The fine-tuned encoder.
    pub fn encoder(&self) -> &crate::model::Encoder {
        &self.model.encoder
    }

    /// The tokenizer the model was trained with.
    pub fn tokenizer(&self) -> &TextTokenizer {
        &self.tokenizer
    }

    /// Raw model outputs `[texts, n_out]` for already tokenized texts, in their order, computed
    /// in batches of `bs` texts of similar lengths.
    pub fn raw_outputs(&self, ids: &[Vec<u32>], bs: usize) -> Result<Vec<Vec<f32>>> {
        rows_by_length(ids, bs, self.tokenizer.pad_id(), &self.device, |ids, mask| self.model.forward(ids, mask))
    }

    /// Predictions for `texts` (cleaned and tokenized as in training).
    pub fn predict(&self, texts: &[&str]) -> Result<Vec<TextPrediction>> {
        let cleaned: Vec<String> = texts.iter().map(|t| clean_text(t)).collect();
        let refs: Vec<&str> = cleaned.iter().map(String::as_str).collect();
        let (ids, cut): (Vec<Vec<u32>>, Vec<bool>) = self.tokenizer.encode_batch_marked(&refs, self.config.max_len)?.into_iter().unzip();
        let raw = self.raw_outputs(&ids, 32)?;
        Ok(raw
            .into_iter()
            .zip(ids.iter().zip(cut))
            .map(|(r, (ids, truncated))| {
                let (probs, labels) = self.activate(&r);
                TextPrediction { probs, labels, n_tokens: ids.len(), truncated }
            })
            .collect())
    }

    /// Turns one text's raw outputs into probabilities and label names.
    pub fn activate(&self, raw: &[f32]) -> (Vec<f32>, Vec<String>) {
        match self.pre.task {
            TextTask::Single => {
                let m = raw.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let e: Vec<f32> = raw.iter().map(|v| (v - m).exp()).collect();
                let s: f32 = e.iter().sum();
                let p: Vec<f32> = e.iter().map(|v| v / s).collect();
                let best = (0..p.len()).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap_or(0);
                (p, vec![self.classes[best].clone()])
            }
            TextTask::Multi => {
                let p: Vec<f32> = raw.iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect();
                let labels = p.iter().enumerate().filter(|(_, v)| **v > self.pre.thresh).map(|(i, _)| self.classes[i].clone()).collect();
                (p, labels)
            }
            TextTask::Regression => (raw.to_vec(), Vec::new()),
        }
    }
}
