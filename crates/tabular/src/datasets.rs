//! The data sets kindling-tabular knows: the fetched ones (`--dataset NAME`), in their archives' layouts, and the raw UCI Adult files.

use std::path::PathBuf;

use kindling_core::datasets::dataset_dir;
use kindling_core::{Error, Result};

/// The table file of data set `name` and its target column.
///
/// | name | file | target |
/// |---|---|---|
/// | `adult_sample` (fastai's `ADULT_SAMPLE`) | `adult_sample/adult.csv` | `salary` |
pub fn locate(name: &str) -> Result<(PathBuf, Option<&'static str>)> {
    match name.to_ascii_lowercase().as_str() {
        "adult_sample" => Ok((dataset_dir("adult_sample", "adult_sample")?.join("adult.csv"), Some("salary"))),
        other => Err(Error::invalid("--dataset", format!("'{other}' is not a tabular data set kindling knows (adult_sample); use --csv for any table"))),
    }
}

/// The column names of the raw UCI Adult files (`adult.data`, `adult.test`), which have no
/// header line.
pub const ADULT_COLUMNS: [&str; 15] = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation", "relationship", "race", "sex",
    "capital-gain", "capital-loss", "hours-per-week", "native-country", "salary",
];

/// The categorical columns of chapter 1's Adult model (fastbook's and the fastai peer's).
pub const ADULT_CAT: [&str; 6] = ["workclass", "education", "marital-status", "occupation", "relationship", "race"];

/// The continuous columns of chapter 1's Adult model.
pub const ADULT_CONT: [&str; 3] = ["age", "fnlwgt", "education-num"];

/// How to read a raw UCI Adult file: no header, [`ADULT_COLUMNS`] as the names.
///
/// ```
/// let read = kindling_tabular::datasets::adult_read_options();
/// assert!(!read.has_header);
/// assert_eq!(read.names.unwrap().last().map(String::as_str), Some("salary"));
/// ```
pub fn adult_read_options() -> crate::read::ReadOptions {
    crate::read::ReadOptions { has_header: false, names: Some(ADULT_COLUMNS.map(String::from).to_vec()), ..Default::default() }
}
