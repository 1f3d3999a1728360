use kindling_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::table::{Column, Table};

/// fastai's `FillMissing` (median strategy, `add_col`): missing (or infinite) continuous values
/// become the training median, and a column that had missing values in training gets a
/// `<col>_na` categorical companion marking where values were filled.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FillMissing {
    /// `(column, training median)` for every continuous column.
    pub medians: Vec<(String, f64)>,
    /// For each continuous column, whether it has an `_na` companion.
    pub add_na: Vec<bool>,
}

impl FillMissing {
    /// Medians over `train` of the columns `cont`.
    pub fn fit(table: &Table, cont: &[String], train: &[usize]) -> Result<Self> {
        let mut medians = Vec::new();
        let mut add_na = Vec::new();
        for name in cont {
            let Column::Numeric { values, .. } = table.require(name)? else {
                return Err(Error::invalid("--cont", format!("column '{name}' holds text, not numbers")));
            };
            let mut present: Vec<f64> = train.iter().filter_map(|&i| values[i]).filter(|v| v.is_finite()).collect();
            if present.is_empty() {
                return Err(Error::Data(format!("column '{name}' has no values in the training rows: leave it out")));
            }
            present.sort_by(f64::total_cmp);
            let m = present.len();
            // pandas' median: the mean of the two middle values for an even count.
            let median = if m % 2 == 1 { present[m / 2] } else { (present[m / 2 - 1] + present[m / 2]) / 2.0 };
            add_na.push(present.len() < train.len());
            medians.push((name.clone(), median));
        }
        Ok(Self { medians, add_na })
    }

    /// Names of the `_na` columns, in continuous-column order.
    pub fn na_columns(&self) -> Vec<String> {
        self.medians.iter().zip(&self.add_na).filter(|(_, a)| **a).map(|((n, _), _)| format!("{n}_na")).collect()
    }

    /// The position among the `_na` columns of continuous column `j`'s companion, if it has one.
    pub fn na_index(&self, j: usize) -> Option<usize> {
        self.add_na[j].then(|| self.add_na[..j].iter().filter(|a| **a).count())
    }

    /// Row `i` of continuous column `j`: its value (filled if missing) and whether it was missing.
    pub fn fill(&self, j: usize, col: &Column, i: usize) -> (f64, bool) {
        let v = match col {
            Column::Numeric { values, .. } => values[i].filter(|v| v.is_finite()),
            Column::Text(t) => t[i].as_deref().and_then(|s| s.parse::<f64>().ok()).filter(|v| v.is_finite()),
        };
        match v {
            Some(v) => (v, false),
            None => (self.medians[j].1, true),
        }
    }
}
