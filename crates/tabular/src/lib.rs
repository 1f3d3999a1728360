#![warn(missing_docs)]
//! # kindling-tabular
//!
//! fastai's `TabularPandas` and `tabular_learner`, in Rust on polars:
//!
//! - [`read`]: CSV and Parquet through polars' lazy scanner into a [`Table`];
//! - [`roles`]: target, categorical and continuous columns, given or inferred (`cont_cat_split`);
//! - [`procs`]: Categorify, FillMissing and Normalize, fitted on the training rows only;
//! - [`data`]: the processed table, its split, and loaders of [`TabularBatch`]es;
//! - [`model`]: fastai's `TabularModel`; [`learner`]: `tabular_learner`;
//! - [`predict`]: one exported file with the model, its preprocessing and the table and split
//!   it was trained on, and prediction;
//! - [`interpret`]: confusion matrix, top losses and permutation feature importance
//!   ([`importance`]) on the validation rows;
//! - [`suggest`]: "did you mean …?" for a column name that is not there.
//!
//! ```no_run
//! use kindling_core::prelude::*;
//! use kindling_tabular::prelude::*;
//! # fn main() -> kindling_core::Result<()> {
//! let table = read_table("adult.csv".as_ref(), &ReadOptions::default(), None)?;
//! let roles = resolve(&table, Some("salary"), None, None, None)?;
//! let splits = RandomSplitter::new(0.2, 42).split(&table.n_rows())?;
//! let data = TabularData::new(&table, roles, splits)?;
//! let device = Device::flex();
//! let dls = data.dataloaders(64, 42, &device)?;
//! let (mut learn, config) = tabular_learner(&data, &dls, &TabularLearnerConfig::default(), &device);
//! learn.fit_one_cycle(3, 1e-3)?;
//! export_tabular("model.safetensors".as_ref(), learn.model(), &config, &data.procs, &ReadOptions::default())?;
//! # Ok(()) }
//! ```

mod check;
pub mod cli;
pub mod data;
pub mod datasets;
pub mod importance;
pub mod interpret;
pub mod learner;
pub mod model;
pub mod predict;
pub mod procs;
pub mod read;
pub mod roles;
pub use kindling_core::suggest;
pub mod table;

pub use data::{TabularBatch, TabularData};
pub use table::{Column, Table};

/// The names most programs need.
pub mod prelude {
    pub use crate::data::{TabularBatch, TabularData};
    pub use crate::learner::{TabularLearnerConfig, tabular_learner};
    pub use crate::model::{TabularModel, TabularModelConfig};
    pub use crate::predict::{TabularPredictions, TabularPredictor, export_tabular};
    pub use crate::procs::TabularProcs;
    pub use crate::read::{ReadOptions, read_table};
    pub use crate::roles::{Roles, TaskKind, resolve};
    pub use crate::table::{Column, Table};
}
