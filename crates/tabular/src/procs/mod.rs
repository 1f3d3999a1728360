//! fastai's tabular procs — Categorify, FillMissing, Normalize — fitted on the training rows only
//! and applied to every row of any table with the same columns (valid, test, new data).

mod categorify;
mod fill_missing;
mod normalize;

pub use categorify::{Categorify, NA};
pub use fill_missing::FillMissing;
pub use normalize::Normalize;

use kindling_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::roles::{Roles, TaskKind};
use crate::table::{Column, Table};

/// The fitted state of all procs, and the target's encoding: everything needed to turn a raw
/// table into model inputs. It goes into the exported model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TabularProcs {
    /// Column roles.
    pub roles: Roles,
    /// FillMissing's medians and `_na` columns.
    pub fill: FillMissing,
    /// Categorify's vocabularies, for the categorical columns then the `_na` columns.
    pub categorify: Categorify,
    /// Normalize's statistics for the continuous columns.
    pub normalize: Normalize,
    /// The classes of a classification target, sorted (fastai's `Categorize` vocabulary).
    pub classes: Vec<String>,
}

/// A table turned into model inputs.
#[derive(Clone, Debug, PartialEq)]
pub struct Processed {
    /// Rows.
    pub n_rows: usize,
    /// Category indices, `n_rows × n_cat` row-major.
    pub cats: Vec<i64>,
    /// Normalised continuous values, `n_rows × n_cont` row-major.
    pub conts: Vec<f32>,
    /// Targets, when the table has the target column.
    pub target: Option<Targets>,
}

/// Encoded targets.
#[derive(Clone, Debug, PartialEq)]
pub enum Targets {
    /// Class indices into [`TabularProcs::classes`].
    Classes(Vec<i64>),
    /// Values.
    Values(Vec<f32>),
}

impl TabularProcs {
    /// Fits every proc on the rows `train` of `table`, checking the data on the way.
    pub fn fit(table: &Table, roles: Roles, train: &[usize]) -> Result<Self> {
        if train.is_empty() {
            return Err(Error::Data("no training rows".into()));
        }
        for name in roles.cat.iter().chain(&roles.cont) {
            let col = table.require(name)?;
            let present = train.iter().filter(|&&i| col.category_ref(i).is_some()).count();
            if present == 0 {
                return Err(Error::Data(format!("column '{name}' has no values in the training rows: leave it out")));
            }
            if col.is_constant(train) && col.n_missing() == 0 {
                eprintln!("warning: column '{name}' has one value in every training row: it carries no information");
            }
        }
        let fill = FillMissing::fit(table, &roles.cont, train)?;
        let mut cat_names = roles.cat.clone();
        cat_names.extend(fill.na_columns());
        let categorify = Categorify::fit(table, &roles.cat, &fill, train)?;
        debug_assert_eq!(categorify.names(), cat_names);
        let normalize = Normalize::fit(table, &roles.cont, &fill, train)?;
        let target = table.require(&roles.target)?;
        let classes = match roles.kind {
            TaskKind::Classification => {
                let classes = target.distinct(train);
                if classes.len() < 2 {
                    return Err(Error::Data(format!(
                        "the target '{}' has {} in the training rows: a classifier needs at least two classes",
                        roles.target,
                        classes.first().map_or("no values".to_string(), |c| format!("the single class '{c}'"))
                    )));
                }
                classes
            }
            TaskKind::Regression => Vec::new(),
        };
        Ok(Self { roles, fill, categorify, normalize, classes })
    }

    /// Names of the categorical inputs, `_na` columns last (one embedding each).
    pub fn cat_names(&self) -> Vec<String> {
        self.categorify.names()
    }

    /// Cardinality (vocabulary size, `#na#` included) of each categorical input.
    pub fn cardinalities(&self) -> Vec<usize> {
        self.categorify.cardinalities()
    }

    /// Applies the procs to every row of `table`. With `with_target`, the target column must be
    /// there and every value valid; without, it is ignored.
    pub fn apply(&self, table: &Table, with_target: bool) -> Result<Processed> {
        let n = table.n_rows();
        let conts_raw: Vec<&Column> = self.roles.cont.iter().map(|c| table.require(c)).collect::<Result<_>>()?;
        let cat_cols: Vec<&Column> = self.roles.cat.iter().map(|c| table.require(c)).collect::<Result<_>>()?;
        let n_cat = self.categorify.names().len();
        let n_cont = self.roles.cont.len();
        let mut cats = vec![0i64; n * n_cat];
        let mut conts = vec![0f32; n * n_cont];
        let lookups = self.categorify.lookups();
        let code = |j: usize, v: Option<&str>| v.and_then(|v| lookups[j].get(v).copied()).unwrap_or(0);
        for i in 0..n {
            for (j, col) in cat_cols.iter().enumerate() {
                cats[i * n_cat + j] = code(j, col.category_ref(i).as_deref());
            }
            for (j, col) in conts_raw.iter().enumerate() {
                let (value, missing) = self.fill.fill(j, col, i);
                if let Some(k) = self.fill.na_index(j) {
                    cats[i * n_cat + cat_cols.len() + k] = code(cat_cols.len() + k, Some(if missing { "True" } else { "False" }));
                }
                conts[i * n_cont + j] = self.normalize.apply(j, value) as f32;
            }
        }
        let target = if with_target { Some(self.encode_target(table)?) } else { None };
        Ok(Processed { n_rows: n, cats, conts, target })
    }

    fn encode_target(&self, table: &Table) -> Result<Targets> {
        let name = &self.roles.target;
        let col = table.require(name)?;
        match self.roles.kind {
            TaskKind::Classification => (0..table.n_rows())
                .map(|i| {
                    let v = col.category(i).ok_or_else(|| Error::Data(format!("row {}: the target '{name}' is missing", i + 1)))?;
                    self.classes.iter().position(|c| *c == v).map(|p| p as i64).ok_or_else(|| {
                        Error::Data(format!("row {}: target class '{v}' is not among the training classes {:?}", i + 1, self.classes))
                    })
                })
                .collect::<Result<Vec<_>>>()
                .map(Targets::Classes),
            TaskKind::Regression => {
                let Column::Numeric { values, .. } = col else {
                    return Err(Error::Data(format!("the target '{name}' is not numeric")));
                };
                values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        v.filter(|x| x.is_finite())
                            .map(|x| x as f32)
                            .ok_or_else(|| Error::Data(format!("row {}: the target '{name}' is missing or not finite", i + 1)))
                    })
                    .collect::<Result<Vec<_>>>()
                    .map(Targets::Values)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roles::resolve;

    /// Rows 0..6 train, 6..8 valid. `x` is missing in train row 2 and valid row 7; `c` has a
    /// value ("z") seen only in the valid rows.
    fn table() -> Table {
        Table {
            names: vec!["c".into(), "x".into(), "y".into()],
            columns: vec![
                Column::Text(["b", "a", "b", "a", "c", "a", "z", "a"].iter().map(|s| Some(s.to_string())).collect()),
                Column::numeric(vec![Some(1.0), Some(2.0), None, Some(4.0), Some(10.0), Some(3.0), Some(100.0), None]),
                Column::Text(["p", "q", "p", "q", "p", "q", "p", "q"].iter().map(|s| Some(s.to_string())).collect()),
            ],
        }
    }

    fn fitted() -> (TabularProcs, Processed) {
        let t = table();
        let roles = resolve(&t, Some("y"), Some(vec!["c".into()]), Some(vec!["x".into()]), None).unwrap();
        let procs = TabularProcs::fit(&t, roles, &[0, 1, 2, 3, 4, 5]).unwrap();
        let p = procs.apply(&t, true).unwrap();
        (procs, p)
    }

    #[test]
    fn categorify_has_na_slot_sorted_train_values_and_maps_unseen_to_it() {
        let (procs, p) = fitted();
        assert_eq!(procs.categorify.vocabs[0], ("c".to_string(), vec!["#na#".into(), "a".into(), "b".into(), "c".into()]));
        // rows: b a b a c a z a -> 2 1 2 1 3 1 0(unseen) 1; two cat inputs per row (c, x_na)
        let c: Vec<i64> = p.cats.chunks(2).map(|r| r[0]).collect();
        assert_eq!(c, vec![2, 1, 2, 1, 3, 1, 0, 1]);
    }

    #[test]
    fn fill_missing_uses_the_train_median_and_adds_an_na_column() {
        let (procs, p) = fitted();
        // train values 1 2 4 10 3 -> median 3 (the valid 100 is not seen)
        assert_eq!(procs.fill.medians, vec![("x".to_string(), 3.0)]);
        assert_eq!(procs.cat_names(), vec!["c", "x_na"]);
        assert_eq!(procs.categorify.vocabs[1].1, vec!["#na#", "False", "True"]);
        let na: Vec<i64> = p.cats.chunks(2).map(|r| r[1]).collect();
        assert_eq!(na, vec![1, 1, 2, 1, 1, 1, 1, 2]);
    }

    #[test]
    fn normalize_uses_train_statistics_after_filling() {
        let (procs, p) = fitted();
        let train = [1.0, 2.0, 3.0, 4.0, 10.0, 3.0f64];
        let mean = train.iter().sum::<f64>() / 6.0;
        let std = (train.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 6.0).sqrt() + 1e-7;
        assert!((procs.normalize.means[0] - mean).abs() < 1e-12 && (procs.normalize.stds[0] - std).abs() < 1e-12);
        assert!((p.conts[6] as f64 - (100.0 - mean) / std).abs() < 1e-5, "valid row uses train stats");
        assert_eq!(procs.classes, vec!["p", "q"]);
        assert_eq!(p.target, Some(Targets::Classes(vec![0, 1, 0, 1, 0, 1, 0, 1])));
    }

    #[test]
    fn refuses_single_class_targets_and_empty_columns() {
        let mut t = table();
        t.columns[2] = Column::Text(vec![Some("p".into()); 8]);
        let roles = resolve(&t, Some("y"), Some(vec!["c".into()]), Some(vec!["x".into()]), None).unwrap();
        let err = TabularProcs::fit(&t, roles, &[0, 1, 2]).unwrap_err().to_string();
        assert!(err.contains("single class 'p'"), "{err}");
        let mut t = table();
        t.columns[1] = Column::numeric(vec![None; 8]);
        let roles = resolve(&t, Some("y"), Some(vec!["c".into()]), Some(vec!["x".into()]), None).unwrap();
        let err = TabularProcs::fit(&t, roles, &[0, 1, 2]).unwrap_err().to_string();
        assert!(err.contains("'x' has no values"), "{err}");
    }
}
