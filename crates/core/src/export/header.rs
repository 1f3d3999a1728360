//! What a model file says about itself: [`ModelHeader`], and the [`SplitRecord`] that lets a
//! later command rebuild (and verify) the validation set the model was measured on.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::data::Splits;

/// The format name written in every header.
pub const FORMAT: &str = "kindling-model";
/// The header layout version this build writes. Version 1 files (whose checksum covered the
/// weights only) are still read.
pub const FORMAT_VERSION: u32 = 2;

/// What a model file says about itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelHeader {
    /// Always [`FORMAT`].
    pub format: String,
    /// Header layout version.
    pub format_version: u32,
    /// The kindling version that wrote the file.
    pub kindling_version: String,
    /// The task crate that can rebuild the model (`tabular`, `vision` …).
    pub task: String,
    /// The architecture's configuration, enough to rebuild the model before loading weights.
    pub arch: serde_json::Value,
    /// Preprocessing state fitted on the training data.
    pub preprocessing: serde_json::Value,
    /// Class names in output order (empty for regression).
    pub classes: Vec<String>,
    /// What made the train/valid split the model was trained and measured on, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<SplitRecord>,
}

impl ModelHeader {
    /// A header for `task` with this build's version and no split record.
    pub fn new(task: &str, arch: serde_json::Value, preprocessing: serde_json::Value, classes: Vec<String>) -> Self {
        Self {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            kindling_version: env!("CARGO_PKG_VERSION").into(),
            task: task.into(),
            arch,
            preprocessing,
            classes,
            split: None,
        }
    }

    /// The same header recording `split`.
    pub fn with_split(mut self, split: Option<SplitRecord>) -> Self {
        self.split = split;
        self
    }
}

/// What made a train/valid split: how (the splitter and its settings, in words a user can pass
/// back as flags), the seed, the sizes, and a SHA-256 of the validation items' keys in order.
/// A command that rebuilds the split from the data (`interpret`) compares its own record with
/// the model's and refuses, naming the difference, rather than measuring on training items.
///
/// ```
/// use kindling_core::data::Splits;
/// use kindling_core::export::SplitRecord;
///
/// let names = ["a.png", "b.png", "c.png", "d.png"];
/// let splits = Splits::new(4, vec![0, 1, 2], vec![3], vec![], true).unwrap();
/// let rec = SplitRecord::new("random, valid_pct 0.25", 42, &splits, |i| names[i].to_string());
/// let same = SplitRecord::new("random, valid_pct 0.25", 42, &splits, |i| names[i].to_string());
/// assert!(rec.check_same(&same).is_ok());
/// let other = Splits::new(4, vec![1, 2, 3], vec![0], vec![], true).unwrap();
/// let moved = SplitRecord::new("random, valid_pct 0.25", 7, &other, |i| names[i].to_string());
/// let err = rec.check_same(&moved).unwrap_err();
/// assert!(err.contains("seed"), "{err}");
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SplitRecord {
    /// The splitter and its settings (`random, valid_pct 0.2`, `train/valid folders` …).
    pub method: String,
    /// The seed that drew it.
    pub seed: u64,
    /// Items in the train, valid and test sets together.
    pub n_items: usize,
    /// Training items.
    pub n_train: usize,
    /// Validation items.
    pub n_valid: usize,
    /// SHA-256 (hex) of the validation items' keys, one per line, in split order.
    pub valid_sha256: String,
}

impl SplitRecord {
    /// The record of `splits`, with `key(i)` naming item `i` (a path, a row number …).
    pub fn new(method: &str, seed: u64, splits: &Splits, key: impl Fn(usize) -> String) -> Self {
        let mut h = Sha256::new();
        for &i in &splits.valid {
            h.update(key(i).as_bytes());
            h.update(b"\n");
        }
        let (n_train, n_valid, n_test) = splits.sizes();
        Self {
            method: method.into(),
            seed,
            n_items: n_train + n_valid + n_test,
            n_train,
            n_valid,
            valid_sha256: h.finalize().iter().map(|b| format!("{b:02x}")).collect(),
        }
    }

    /// `Ok` when `now` (the split rebuilt from today's data and flags) is the recorded one;
    /// otherwise the differences, in words (the flag to change where one differs).
    pub fn check_same(&self, now: &SplitRecord) -> Result<(), String> {
        let mut diffs = Vec::new();
        if self.method != now.method {
            diffs.push(format!("the model was split by {}, this data by {}", self.method, now.method));
        }
        if self.seed != now.seed {
            diffs.push(format!("the model was split with --seed {}, not {}", self.seed, now.seed));
        }
        if self.n_items != now.n_items {
            diffs.push(format!("the model's data had {} items, this data has {}", self.n_items, now.n_items));
        }
        if (self.n_train, self.n_valid) != (now.n_train, now.n_valid) {
            diffs.push(format!(
                "the model trained on {} and validated on {} items, this split has {} and {}",
                self.n_train, self.n_valid, now.n_train, now.n_valid
            ));
        }
        if diffs.is_empty() && self.valid_sha256 != now.valid_sha256 {
            diffs.push("the validation items are not the ones the model was measured on (the data changed)".into());
        }
        if diffs.is_empty() { Ok(()) } else { Err(diffs.join("; ")) }
    }
}
