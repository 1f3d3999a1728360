#![warn(missing_docs)]
//! # kindling-collab
//!
//! Collaborative filtering as fastai does it (`CollabDataLoaders`, `collab_learner`), and the
//! analysis chapter 8 of *Practical Deep Learning for Coders* does with the trained embeddings:
//!
//! - [`ratings`]: (user, item, rating) from any table, ids as text, any rating scale;
//! - [`vocab`]: id vocabularies from the training ratings (`#na#` first);
//! - [`data`]: splits, encoding and loaders of [`CollabBatch`]es;
//! - [`model`]: `EmbeddingDotBias` and `EmbeddingNN`; [`learner`]: `collab_learner`;
//! - [`predict`]: export, predictions, recommendations, similar items (found by id or title,
//!   with "did you mean" from [`suggest`]); [`pca`] for the maps (drawn by core's `plot::labeled_scatter`);
//! - [`interpret`]: the worst-predicted validation ratings, the split rebuilt from the model
//!   file's [`source`] record; [`titles`] to name items; [`output`] for tables a script can read.

pub mod cli;
pub mod data;
pub mod datasets;
pub mod interpret;
pub mod learner;
pub mod model;
pub use kindling_core::output;
pub mod pca;
pub mod predict;
pub mod ratings;
pub mod source;
pub use kindling_core::suggest;
pub mod titles;
pub mod vocab;

pub use data::{CollabBatch, CollabData};
pub use model::{CollabModel, CollabModelConfig};
pub use predict::CollabPredictor;
