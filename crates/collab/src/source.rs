//! Where a model's ratings came from and how they were split, recorded in the model file so
//! that `interpret` rebuilds the very validation set without the user repeating a flag.

use std::path::{Path, PathBuf};

use kindling_core::data::Splits;
use kindling_core::export::SplitRecord;
use kindling_core::{Error, Result};
use kindling_tabular::read::ReadOptions;
use serde::{Deserialize, Serialize};

use crate::ratings::Ratings;

/// The ratings file, how it was read, and the random split drawn from it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RatingsSource {
    /// The ratings file, as an absolute path when it could be resolved.
    pub path: PathBuf,
    /// The fetched data set it belongs to (`--dataset`), when it was named that way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<String>,
    /// The field separator (one character; `\t` for tab).
    pub separator: String,
    /// Whether the first line names the columns.
    pub has_header: bool,
    /// Column names given to a file without a header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub names: Option<Vec<String>>,
    /// Share of the ratings validated on.
    pub valid_pct: f64,
    /// The seed that drew the split.
    pub seed: u64,
}

impl RatingsSource {
    /// A record of reading `path` with `read`, split by `valid_pct` and `seed`.
    pub fn new(path: &Path, dataset: Option<String>, read: &ReadOptions, valid_pct: f64, seed: u64) -> Self {
        Self {
            path: std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()),
            dataset,
            separator: (read.separator as char).to_string(),
            has_header: read.has_header,
            names: read.names.clone(),
            valid_pct,
            seed,
        }
    }

    /// How to read the file again.
    pub fn read_options(&self) -> Result<ReadOptions> {
        Ok(ReadOptions { separator: separator(&self.separator)?, has_header: self.has_header, names: self.names.clone(), ..ReadOptions::default() })
    }

    /// The splitter in words, as the split record names it.
    pub fn method(&self) -> String {
        format!("random, valid_pct {}", self.valid_pct)
    }

    /// The record of `splits` of `ratings`, each rating keyed by its user and item.
    pub fn split_record(&self, ratings: &Ratings, splits: &Splits) -> SplitRecord {
        SplitRecord::new(&self.method(), self.seed, splits, |k| format!("{}\t{}", ratings.users[k], ratings.items[k]))
    }
}

/// A field separator given on the command line: one character, or `\t` / `tab` for a tab.
pub fn separator(s: &str) -> Result<u8> {
    match s {
        "\\t" | "tab" | "\t" => Ok(b'\t'),
        s if s.len() == 1 => Ok(s.as_bytes()[0]),
        s => Err(Error::invalid("--sep", format!("'{s}' is not a single character"))),
    }
}

/// A separator as a person types it: `\t` for a tab.
pub fn shown_separator(b: u8) -> String {
    if b == b'\t' { "\\t".into() } else { (b as char).to_string() }
}
