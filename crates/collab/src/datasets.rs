//! The fetched data sets kindling-collab reads (`--dataset NAME`), in their archives' layouts.

use std::path::PathBuf;

use kindling_core::datasets::dataset_dir;
use kindling_core::{Error, Result};
use kindling_tabular::read::ReadOptions;

/// The ratings file of data set `name` and how to read it.
///
/// | name | file | format |
/// |---|---|---|
/// | `ml_sample` (fastai's `ML_SAMPLE`) | `movie_lens_sample/ratings.csv` | CSV: userId, movieId, rating, timestamp |
/// | `ml_100k` (fastai's `ML_100k`) | `ml-100k/u.data` | tab separated, no header: user, item, rating, timestamp |
pub fn locate(name: &str) -> Result<(PathBuf, ReadOptions)> {
    match name.to_ascii_lowercase().as_str() {
        "ml_sample" => Ok((dataset_dir("ml_sample", "movie_lens_sample")?.join("ratings.csv"), ReadOptions::default())),
        "ml_100k" => Ok((
            dataset_dir("ml_100k", "ml-100k")?.join("u.data"),
            ReadOptions {
                has_header: false,
                names: Some(["user", "item", "rating", "timestamp"].map(String::from).to_vec()),
                separator: b'\t',
                ..ReadOptions::default()
            },
        )),
        other => Err(Error::invalid("--dataset", format!("'{other}' is not a ratings data set kindling knows (ml_sample, ml_100k); use --ratings for any table"))),
    }
}
