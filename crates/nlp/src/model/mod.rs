//! The BERT-family encoder (BERT, MiniLM, RoBERTa, DistilBERT) and reading its Hugging Face
//! checkpoints.
//!
//! - [`HubConfig`]: the model's shape, read from a checkpoint's `config.json`;
//! - [`Encoder`]: embeddings, post-norm transformer layers and BERT's optional pooler, as burn
//!   modules (field paths `embeddings`, `layers.N`, `pooler`), with [`HubConfig::init`] for
//!   random weights;
//! - [`load_hub`]: a checkpoint folder (`config.json` + `model.safetensors`) into an encoder;
//! - [`mean_pool`] and [`Encoder::pool_cls`]: one vector per text.
//!
//! ```no_run
//! # use std::path::Path;
//! # use burn::tensor::{Device, Int, Tensor};
//! let device = Device::flex();
//! let (config, encoder) = kindling_nlp::model::load_hub(Path::new("all-MiniLM-L6-v2"), &device)?;
//! let ids = Tensor::<2, Int>::from_ints([[101, 7592, 2088, 102]], &device);
//! let mask = Tensor::<2, Int>::ones([1, 4], &device);
//! let hidden = encoder.forward(ids, mask.clone()); // [1, 4, 384]
//! let sentence = kindling_nlp::model::mean_pool(hidden, mask); // [1, 384]
//! # Ok::<(), kindling_core::Error>(())
//! ```

mod attention;
mod config;
mod embeddings;
mod encoder;
mod init;
mod load;
mod pooling;

pub use attention::{SelfAttention, attention_bias};
pub use config::{HubConfig, ModelType};
pub use embeddings::Embeddings;
pub use encoder::{Encoder, EncoderLayer};
pub use load::{load_hub, weights_file};
pub use pooling::{Pooler, mean_pool};
