#![warn(missing_docs)]
//! # kindling-nlp
//!
//! Text classification by fine-tuning a pretrained transformer, as chapter 4 of the course does
//! with Hugging Face, with no Python:
//!
//! - [`model`]: a checkpoint in the Hugging Face Hub layout (`config.json`, `model.safetensors`)
//!   read into kindling's BERT-family encoder (BERT, MiniLM, DistilBERT, RoBERTa);
//! - [`tokenizer`]: its `tokenizer.json`, through Hugging Face's `tokenizers` crate;
//! - [`data`]: texts and labels from a CSV/Parquet file or a folder per class, split, tokenized,
//!   and batched by length (fastai's `SortedDL`);
//! - [`classifier`]: encoder + pooling + linear head, and [`learner`]: it on core's Learner;
//! - [`predict`]: export (the tokenizer and config travel in the model file), the header check,
//!   and prediction; [`embed`]: sentence embeddings and nearest lines;
//! - [`ulmfit`]: fastai's own pipeline (chapter 10): its tokenizer, an AWD-LSTM language model,
//!   transfer to a new corpus, and a classifier with gradual unfreezing;
//! - [`cli`]: the `kindling-nlp` command.

pub mod classifier;
pub mod cli;
pub mod data;
pub mod embed;
pub mod learner;
pub mod model;
pub mod predict;
pub mod tokenizer;
pub mod ulmfit;
