use std::collections::{BTreeMap, HashMap};

use super::{Splits, Splitter};
use crate::error::{Error, Result};

/// A table that can hand out a boolean column by name (a polars `DataFrame` in the tabular
/// crate, a plain map in tests).
pub trait BoolColumns {
    /// The names of all columns, for error messages.
    fn column_names(&self) -> Vec<String>;
    /// The column `name` as booleans; `None` if there is no such column, an error if it cannot
    /// be read as booleans.
    fn bool_column(&self, name: &str) -> Option<Result<Vec<bool>>>;
}

impl BoolColumns for HashMap<String, Vec<bool>> {
    fn column_names(&self) -> Vec<String> {
        let mut names: Vec<_> = self.keys().cloned().collect();
        names.sort();
        names
    }
    fn bool_column(&self, name: &str) -> Option<Result<Vec<bool>>> {
        self.get(name).cloned().map(Ok)
    }
}

impl BoolColumns for BTreeMap<String, Vec<bool>> {
    fn column_names(&self) -> Vec<String> {
        self.keys().cloned().collect()
    }
    fn bool_column(&self, name: &str) -> Option<Result<Vec<bool>>> {
        self.get(name).cloned().map(Ok)
    }
}

/// Splits rows by a boolean column, as fastai's `ColSplitter('is_valid')`: rows where it is
/// true validate. An optional second column marks held-out test rows.
///
/// ```
/// use std::collections::HashMap;
/// use kindling_core::data::split::{ColSplitter, Splitter};
/// let table = HashMap::from([("is_valid".to_string(), vec![false, true, false])]);
/// let s = ColSplitter::new("is_valid").split(&table).unwrap();
/// assert_eq!(s.valid, vec![1]);
/// assert!(ColSplitter::new("nope").split(&table).unwrap_err().to_string().contains("is_valid"));
/// ```
#[derive(Clone, Debug)]
pub struct ColSplitter {
    valid_col: String,
    test_col: Option<String>,
}

impl ColSplitter {
    /// Rows where `valid_col` is true validate.
    pub fn new(valid_col: impl Into<String>) -> Self {
        Self { valid_col: valid_col.into(), test_col: None }
    }

    /// Rows where `test_col` is true are held out as test.
    pub fn with_test(mut self, test_col: impl Into<String>) -> Self {
        self.test_col = Some(test_col.into());
        self
    }

    fn column<T: BoolColumns + ?Sized>(table: &T, name: &str) -> Result<Vec<bool>> {
        table.bool_column(name).unwrap_or_else(|| {
            Err(Error::MissingColumn { name: name.into(), available: table.column_names().join(", ") })
        })
    }
}

impl<T: BoolColumns + ?Sized> Splitter<T> for ColSplitter {
    fn split(&self, table: &T) -> Result<Splits> {
        let valid_mask = Self::column(table, &self.valid_col)?;
        let test_mask = match &self.test_col {
            Some(c) => Self::column(table, c)?,
            None => vec![false; valid_mask.len()],
        };
        let n = valid_mask.len();
        let (mut train, mut valid, mut test) = (Vec::new(), Vec::new(), Vec::new());
        for i in 0..n {
            match (valid_mask[i], test_mask[i]) {
                (true, true) => {
                    return Err(Error::Data(format!(
                        "row {i} is marked both '{}' and '{}'",
                        self.valid_col,
                        self.test_col.as_deref().unwrap_or_default()
                    )));
                }
                (true, false) => valid.push(i),
                (false, true) => test.push(i),
                (false, false) => train.push(i),
            }
        }
        Splits::new(n, train, valid, test, true)
    }
}
