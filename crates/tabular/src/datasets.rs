//! The fetched data sets kindling-tabular reads (`--dataset NAME`), in their archives' layouts.

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
