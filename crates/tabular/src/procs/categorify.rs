use std::collections::HashMap;

use kindling_core::Result;
use serde::{Deserialize, Serialize};

use super::FillMissing;
use crate::table::Table;

/// The vocabulary slot for missing and unseen values.
pub const NA: &str = "#na#";

/// fastai's `Categorify`: each categorical column's vocabulary is `#na#` followed by its
/// training values in sorted order; a value maps to its position, a missing or unseen one to 0.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Categorify {
    /// `(column, vocabulary)`, categorical columns first, then the `_na` columns.
    pub vocabs: Vec<(String, Vec<String>)>,
}

impl Categorify {
    /// Fits vocabularies on `train` for `cat` and for FillMissing's `_na` columns.
    pub fn fit(table: &Table, cat: &[String], fill: &FillMissing, train: &[usize]) -> Result<Self> {
        let mut vocabs = Vec::new();
        for name in cat {
            let mut v = vec![NA.to_string()];
            v.extend(table.require(name)?.distinct(train));
            vocabs.push((name.clone(), v));
        }
        for na in fill.na_columns() {
            vocabs.push((na, vec![NA.into(), "False".into(), "True".into()]));
        }
        Ok(Self { vocabs })
    }

    /// Column names, in input order.
    pub fn names(&self) -> Vec<String> {
        self.vocabs.iter().map(|(n, _)| n.clone()).collect()
    }

    /// Vocabulary sizes.
    pub fn cardinalities(&self) -> Vec<usize> {
        self.vocabs.iter().map(|(_, v)| v.len()).collect()
    }

    /// Lookup tables from value to vocabulary index, one per column; a missing or unseen value
    /// is not in them and encodes as 0 (`#na#`).
    pub fn lookups(&self) -> Vec<HashMap<&str, i64>> {
        self.vocabs.iter().map(|(_, v)| v.iter().enumerate().skip(1).map(|(i, s)| (s.as_str(), i as i64)).collect()).collect()
    }
}
