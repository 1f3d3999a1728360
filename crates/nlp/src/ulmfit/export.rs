//! ULMFiT's model files, written and read through core's checked model files: a language model
//! (task `language_model`: the AWD-LSTM, its tied decoder's bias, the vocabulary), its encoder
//! alone (task `awd_lstm_encoder`, fastai's `save_encoder`) and a classifier (task
//! `text_ulmfit`: the encoder, the head, the vocabulary and the classes). The header is checked
//! against the tensors before a model is built from it.

use std::path::Path;

use burn::module::Module;
use burn::tensor::Device;
use kindling_core::export::{self, Fault, HeaderCheck, ModelHeader, SplitRecord, TensorShapes};
use kindling_core::Result;
use serde::{Deserialize, Serialize};

use super::awd_lstm::{AwdLstm, AwdLstmConfig};
use super::classifier::{AwdClassifier, AwdClassifierConfig};
use super::language_model::LanguageModel;
use super::vocab::Vocab;

/// The task name of a language model file.
pub const LM_TASK: &str = "language_model";
/// The task name of an encoder file (fastai's `save_encoder`).
pub const ENCODER_TASK: &str = "awd_lstm_encoder";
/// The task name of a ULMFiT classifier file.
pub const CLASSIFIER_TASK: &str = "text_ulmfit";
/// The tokenizer the vocabulary was built with.
pub const TOKENIZER: &str = "fastai-defaults";

const MAX_VOCAB: usize = 1 << 22;
const MAX_WIDTH: usize = 1 << 14;
const MAX_LAYERS: usize = 64;

/// What a ULMFiT model file carries besides its weights.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UlmfitPreprocessing {
    /// The tokenizer (fastai's default rules and word splitting).
    pub tokenizer: String,
    /// The vocabulary, index by index.
    pub vocab: Vocab,
}

impl UlmfitPreprocessing {
    /// fastai's tokenizer and `vocab`.
    pub fn new(vocab: Vocab) -> Self {
        Self { tokenizer: TOKENIZER.into(), vocab }
    }
}

/// Sizes within bounds, the vocabulary as long as the embedding, and every encoder tensor of
/// the shape the configuration says.
fn check_encoder(a: &AwdLstmConfig, field: &str, vocab: &Vocab, t: &TensorShapes, prefix: &str) -> std::result::Result<(), Fault> {
    if a.vocab_size == 0 || a.vocab_size > MAX_VOCAB {
        return Err(Fault::new(format!("{field}.vocab_size"), format!("{}: must be 1 to {MAX_VOCAB}", a.vocab_size)));
    }
    for (name, v) in [("emb_sz", a.emb_sz), ("n_hid", a.n_hid)] {
        if v == 0 || v > MAX_WIDTH {
            return Err(Fault::new(format!("{field}.{name}"), format!("{v}: must be 1 to {MAX_WIDTH}")));
        }
    }
    if a.n_layers == 0 || a.n_layers > MAX_LAYERS {
        return Err(Fault::new(format!("{field}.n_layers"), format!("{}: must be 1 to {MAX_LAYERS}", a.n_layers)));
    }
    Fault::len("preprocessing.vocab", vocab.len(), a.vocab_size, &format!("the embeddings ({field}.vocab_size)"))?;
    t.expect(&format!("{prefix}encoder"), &[a.vocab_size, a.emb_sz], &format!("{field}.emb_sz"))?;
    for l in 0..a.n_layers {
        let (n_in, h) = a.layer_sizes(l);
        t.expect(&format!("{prefix}rnns.{l}.weight_ih"), &[4 * h, n_in], &format!("{field}.n_hid"))?;
        t.expect(&format!("{prefix}rnns.{l}.weight_hh"), &[4 * h, h], &format!("{field}.n_hid"))?;
    }
    if t.dims(&format!("{prefix}rnns.{}.weight_ih", a.n_layers)).is_ok() {
        return Err(Fault::new(format!("{field}.n_layers"), format!("says {}, but the file holds more layers", a.n_layers)));
    }
    Ok(())
}

impl HeaderCheck<AwdLstmConfig> for UlmfitPreprocessing {
    fn check(&self, arch: &AwdLstmConfig, _: &[String], t: &TensorShapes) -> std::result::Result<(), Fault> {
        if t.dims("decoder_bias").is_err() {
            // An encoder file: the AWD-LSTM's own tensors at the top level.
            return check_encoder(arch, "arch", &self.vocab, t, "");
        }
        check_encoder(arch, "arch", &self.vocab, t, "encoder.")?;
        t.expect("decoder_bias", &[arch.vocab_size], "arch.vocab_size")
    }
}

impl HeaderCheck<AwdClassifierConfig> for UlmfitPreprocessing {
    fn check(&self, arch: &AwdClassifierConfig, classes: &[String], t: &TensorShapes) -> std::result::Result<(), Fault> {
        check_encoder(&arch.encoder, "arch.encoder", &self.vocab, t, "encoder.")?;
        if classes.len() < 2 {
            return Err(Fault::new("classes", format!("{} classes: a classifier needs at least 2", classes.len())));
        }
        Fault::len("classes", classes.len(), arch.n_class, "the model's outputs (arch.n_class)")?;
        if arch.lin_ftrs.iter().any(|&w| w == 0 || w > MAX_WIDTH) || arch.lin_ftrs.len() > MAX_LAYERS {
            return Err(Fault::new("arch.lin_ftrs", format!("{:?}: widths must be 1 to {MAX_WIDTH}", arch.lin_ftrs)));
        }
        if arch.bptt == 0 || arch.max_len == 0 {
            return Err(Fault::new("arch.bptt", "bptt and max_len must be at least 1"));
        }
        let last = arch.lin_ftrs.len();
        let n_in = arch.lin_ftrs.last().copied().unwrap_or(3 * arch.encoder.emb_sz);
        t.expect(&format!("layers.{last}.lin.weight"), &[n_in, arch.n_class], "arch.n_class")
    }
}

/// The preprocessing key that gives a ULMFiT model's weights their meaning: each embedding row
/// is a word of the vocabulary (what `train --from` checks).
pub const FITTED: [&str; 1] = ["vocab"];

/// The header [`export_language_model`] writes: what `lm train --from` checks a file against.
pub fn language_model_header(config: &AwdLstmConfig, vocab: &Vocab) -> Result<ModelHeader> {
    export::task_header(LM_TASK, config, &UlmfitPreprocessing::new(vocab.clone()), Vec::new())
}

/// The header [`export_classifier`] writes (without the split): what `train --arch awd-lstm
/// --from` checks a file against.
pub fn classifier_header(config: &AwdClassifierConfig, vocab: &Vocab, classes: Vec<String>) -> Result<ModelHeader> {
    export::task_header(CLASSIFIER_TASK, config, &UlmfitPreprocessing::new(vocab.clone()), classes)
}

/// Writes a language model and its vocabulary.
pub fn export_language_model(path: &Path, lm: &LanguageModel, config: &AwdLstmConfig, vocab: &Vocab) -> Result<()> {
    export::export_task(path, lm, LM_TASK, config, &UlmfitPreprocessing::new(vocab.clone()), Vec::new(), None)
}

/// Reads a language model file (checked): the model on `device` (for training: call
/// `.valid()` for generation), its configuration and vocabulary.
pub fn load_language_model(path: &Path, device: &Device) -> Result<(LanguageModel, AwdLstmConfig, Vocab)> {
    let f = export::open::<AwdLstmConfig, UlmfitPreprocessing>(path, LM_TASK, "a language model")?;
    let lm = export::load(path, f.arch.init_language_model(device), f.bytes)?;
    Ok((lm, f.arch, f.preprocessing.vocab))
}

/// Writes a language model's encoder alone with its vocabulary (fastai's `save_encoder`): what a
/// classifier starts from.
pub fn export_encoder(path: &Path, encoder: &AwdLstm, config: &AwdLstmConfig, vocab: &Vocab) -> Result<()> {
    export::export_task(path, encoder, ENCODER_TASK, config, &UlmfitPreprocessing::new(vocab.clone()), Vec::new(), None)
}

/// The encoder, configuration and vocabulary of a language model file or an encoder file,
/// whichever `path` is (both checked).
pub fn load_encoder(path: &Path, device: &Device) -> Result<(AwdLstm, AwdLstmConfig, Vocab)> {
    let (header, _) = export::read(path)?;
    if header.task == ENCODER_TASK {
        let f = export::open::<AwdLstmConfig, UlmfitPreprocessing>(path, ENCODER_TASK, "an AWD-LSTM encoder")?;
        let encoder = export::load(path, f.arch.init(device), f.bytes)?;
        return Ok((encoder, f.arch, f.preprocessing.vocab));
    }
    let (lm, config, vocab) = load_language_model(path, device)?;
    Ok((lm.encoder, config, vocab))
}

/// Writes a ULMFiT classifier with its vocabulary, classes and split.
pub fn export_classifier(path: &Path, model: &AwdClassifier, config: &AwdClassifierConfig, vocab: &Vocab, classes: Vec<String>, split: Option<SplitRecord>) -> Result<()> {
    export::export_task(path, model, CLASSIFIER_TASK, config, &UlmfitPreprocessing::new(vocab.clone()), classes, split)
}

/// A ULMFiT classifier read from its file.
pub struct LoadedClassifier {
    /// The model, for evaluation.
    pub model: AwdClassifier,
    /// Its configuration.
    pub config: AwdClassifierConfig,
    /// Its vocabulary.
    pub vocab: Vocab,
    /// Class names.
    pub classes: Vec<String>,
    /// The recorded split.
    pub split: Option<SplitRecord>,
}

/// Reads a classifier file (checked) onto `device`, ready for evaluation.
pub fn load_classifier(path: &Path, device: &Device) -> Result<LoadedClassifier> {
    let f = export::open::<AwdClassifierConfig, UlmfitPreprocessing>(path, CLASSIFIER_TASK, "a ULMFiT text classifier")?;
    let model = export::load(path, f.arch.init(device), f.bytes)?.valid();
    Ok(LoadedClassifier { model, config: f.arch, vocab: f.preprocessing.vocab, classes: f.classes, split: f.split })
}
