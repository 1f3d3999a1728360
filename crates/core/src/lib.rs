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
//! - [`export`]: one self-describing model file, and loading it back for prediction;
//! - [`cli`]: the flags and run-directory contract every task binary shares.
//!
//! Devices are chosen at run time with [`DeviceChoice`]: `cpu` always, `wgpu` with the
//! `wgpu` feature.

pub mod cli;
pub mod data;
pub mod device;
pub mod error;
pub mod export;
pub mod io;
pub mod learner;
pub mod metrics;
pub mod optim;
pub mod plot;
pub mod schedule;
pub mod seed;

pub use device::DeviceChoice;
pub use error::{Error, Result};

/// Re-export of the burn version kindling is built on, so that users name the same types.
pub use burn;
