#![warn(missing_docs)]
//! # kindling-core
//!
//! The shared core of kindling, fast.ai's practical deep-learning toolkit rebuilt in Rust on
//! [burn](https://burn.dev). Every task crate (vision, tabular, collab, …) stands on it:
//!
//! - [`data`]: datasets, honest train/valid/test [splits](data::split), a
//!   [leakage check](data::LeakageReport), item and batch [transforms](data::transform) and a
//!   parallel [`DataLoader`](data::DataLoader);
//! - [`learner`]: the fastai-style [`Learner`](learner::Learner) — `fit`, `fit_one_cycle`,
//!   `fine_tune`, `lr_find`, callbacks, metrics, checkpoints;
//! - [`optim`], [`schedule`], [`metrics`]: fastai's optimizers, schedules and metrics,
//!   checked against golden values from the real fastai;
//! - [`interpret`]: confusion matrix, most confused classes, top losses, classification report;
//! - [`export`]: one self-describing model file, and loading it back for prediction;
//! - [`cli`]: the flags and run-directory contract every task binary shares.
//!
//! Devices are chosen at run time with [`DeviceChoice`]: `cpu` always, `wgpu` with the
//! `wgpu` feature.

pub mod allocator;
pub mod bench;
pub mod cli;
pub mod data;
pub mod datasets;
pub mod device;
pub mod error;
pub mod export;
pub mod hash;
pub mod interpret;
pub mod io;
pub mod learner;
pub mod metrics;
pub mod nn;
pub mod optim;
pub mod output;
pub mod plot;
pub mod schedule;
pub mod seed;
pub mod stamp;
pub mod suggest;
pub mod weights;

pub use device::DeviceChoice;
pub use error::{Error, Result};

/// Re-export of the burn version kindling is built on, so that users name the same types.
pub use burn;

/// The names most programs need, in one `use`.
pub mod prelude {
    pub use crate::data::split::{ColSplitter, GrandparentSplitter, IndexSplitter, RandomSplitter, Splitter, TimeSplitter};
    pub use crate::data::{Batcher, DataLoader, DataLoaders, Dataset, LeakageReport, LoaderConfig, Splits, VecDataset};
    pub use crate::device::DeviceChoice;
    pub use crate::error::{Error, Result};
    pub use crate::export::{self, ModelHeader};
    pub use crate::learner::{Batch, CrossEntropyLoss, Learner, LrFindConfig, MseLoss, Target, TaskModel};
    pub use crate::metrics::{Accuracy, ErrorRate, F1Score, Mae, Mse, Rmse};
    pub use crate::optim::{OptimizerConfig, ParamGroups};
    pub use crate::schedule::{LrSpec, OneCycle};
    pub use burn::tensor::{Device, Tensor};
}
