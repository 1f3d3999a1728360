//! ULMFiT, fastai's own text pipeline (fastbook chapter 10): tokenize and numericalize, train an
//! AWD-LSTM language model, fine-tune it on the target corpus, then a classifier on its encoder
//! with gradual unfreezing.
//!
//! - [`tokenize`]: fastai's rules and an English word splitter as spaCy's; [`vocab`]: `Numericalize`;
//! - [`lm_data`]: the corpus as contiguous streams (`LMDataLoader`);
//! - [`awd_lstm`] with its [`dropout`]s, on core's LSTM kernel; [`language_model`]: tied decoder,
//!   carried state, AR/TAR; [`perplexity`];
//! - [`transfer`]: a language model moved to a new vocabulary (`match_embeds`);
//! - [`generate`]: continuing a prompt;
//! - [`classifier`]: `SentenceEncoder` + `PoolingLinearClassifier`;
//! - [`learner`]: the learners and chapter 10's gradual unfreezing; [`export`]: model files;
//! - [`commands`]: what the `lm train`, `lm generate` and `train --arch awd-lstm` commands do.

pub mod awd_lstm;
pub mod classifier;
pub mod commands;
pub mod dropout;
pub mod export;
pub mod generate;
pub mod language_model;
pub mod learner;
pub mod lm_data;
pub mod perplexity;
pub mod tokenize;
pub mod transfer;
pub mod vocab;

pub use awd_lstm::{AwdLstm, AwdLstmConfig, CarriedState, LstmLayer};
pub use classifier::{AwdClassifier, AwdClassifierConfig};
pub use generate::{decode_spec_tokens, generate};
pub use language_model::LanguageModel;
pub use lm_data::{LmBatch, LmLoader};
pub use perplexity::Perplexity;
pub use transfer::match_embeds;
pub use vocab::Vocab;
