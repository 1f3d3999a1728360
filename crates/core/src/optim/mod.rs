//! fastai's optimizers, written as update rules over a burn module so that the learning rate
//! of every parameter group and the momentum can change at every step (one-cycle cycles
//! momentum; burn's own optimizers fix it at construction).
//!
//! - [`OptimizerConfig`]: Adam or SGD with fastai's defaults;
//! - [`ParamGroups`]: which parameters share a learning rate (body and head, say);
//! - [`Optimizer`]: the state (moving averages, keyed by parameter path so that it can be
//!   checkpointed and restored into a fresh process) and the step.

mod config;
mod groups;
mod optimizer;
mod state_io;

pub use config::{OptimizerConfig, OptimizerKind};
pub use groups::{ParamGroups, ParamInfo};
pub use optimizer::{Hypers, Optimizer};
