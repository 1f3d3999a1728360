//! fastai's `TabularPandas` + `TabularDataLoaders`: a table, its split and its fitted procs,
//! turned into loaders of [`TabularBatch`]es.

use std::sync::Arc;

use burn::tensor::{Device, Int, Tensor, TensorData};
use kindling_core::data::{Batcher, DataLoaders, Dataset, Splits, VecDataset};
use kindling_core::learner::{Batch, Target};
use kindling_core::{Error, Result};

use crate::procs::{Processed, TabularProcs, Targets};
use crate::roles::Roles;
use crate::table::{Column, Table};

/// A batch of rows: category indices, normalised continuous values and targets.
#[derive(Clone, Debug)]
pub struct TabularBatch {
    /// Category indices, one `[batch, 1]` tensor per categorical column (what each embedding
    /// looks up, without slicing a matrix on every step).
    pub cats: Vec<Tensor<2, Int>>,
    /// `[batch, n_cont]`.
    pub conts: Tensor<2>,
    /// Targets (class indices, or `[batch, 1]` values).
    pub y: Target,
}

impl Batch for TabularBatch {
    fn target(&self) -> Target {
        self.y.clone()
    }
}

/// Gathers processed rows into batches.
#[derive(Clone)]
pub struct TabularBatcher {
    data: Arc<Processed>,
    n_cat: usize,
    n_cont: usize,
}

impl TabularBatcher {
    /// A batcher over `data`.
    pub fn new(data: Arc<Processed>, n_cat: usize, n_cont: usize) -> Self {
        Self { data, n_cat, n_cont }
    }
}

impl Batcher<usize, TabularBatch> for TabularBatcher {
    fn batch(&self, rows: Vec<usize>, device: &Device) -> Result<TabularBatch> {
        let (n, d) = (rows.len(), &self.data);
        let mut cats = vec![Vec::with_capacity(n); self.n_cat];
        let mut conts = Vec::with_capacity(n * self.n_cont);
        for &r in &rows {
            for (j, col) in cats.iter_mut().enumerate() {
                col.push(d.cats[r * self.n_cat + j]);
            }
            conts.extend_from_slice(&d.conts[r * self.n_cont..(r + 1) * self.n_cont]);
        }
        let y = match &d.target {
            Some(Targets::Classes(c)) => {
                Target::Classes(Tensor::from_data(TensorData::new(rows.iter().map(|&r| c[r]).collect::<Vec<_>>(), [n]), device))
            }
            Some(Targets::Values(v)) => {
                Target::Values(Tensor::from_data(TensorData::new(rows.iter().map(|&r| v[r]).collect::<Vec<_>>(), [n, 1]), device))
            }
            None => Target::Values(Tensor::zeros([n, 1], device)),
        };
        Ok(TabularBatch {
            cats: cats.into_iter().map(|c| Tensor::from_data(TensorData::new(c, [n, 1]), device)).collect(),
            conts: Tensor::from_data(TensorData::new(conts, [n, self.n_cont]), device),
            y,
        })
    }
}

/// A table split into train / valid / test with procs fitted on the training rows.
pub struct TabularData {
    /// The fitted procs and roles.
    pub procs: TabularProcs,
    /// Every row, processed.
    pub processed: Arc<Processed>,
    /// The split.
    pub splits: Splits,
}

impl TabularData {
    /// Fits the procs on the training rows of `splits` and processes the whole table.
    pub fn new(table: &Table, roles: Roles, splits: Splits) -> Result<Self> {
        if table.n_rows() == 0 {
            return Err(Error::Data("the table has no rows".into()));
        }
        // A missing value is an empty field or an NA marker; a NaN or an infinity written in a
        // training table is a fault in the data (fastai's Normalize would turn it into NaN).
        for name in &roles.cont {
            if let Column::Numeric { values, .. } = table.require(name)?
                && let Some((i, v)) = values.iter().enumerate().find_map(|(i, v)| v.filter(|x| !x.is_finite()).map(|x| (i, x)))
            {
                return Err(Error::Data(format!(
                    "column '{name}', row {}: {v} is not a finite number; leave the field empty or list its text in --na to mark it missing",
                    i + 1
                )));
            }
        }
        let procs = TabularProcs::fit(table, roles, &splits.train)?;
        let processed = Arc::new(procs.apply(table, true)?);
        Ok(Self { procs, processed, splits })
    }

    /// A batcher over the processed rows.
    pub fn batcher(&self) -> TabularBatcher {
        TabularBatcher::new(self.processed.clone(), self.procs.cat_names().len(), self.procs.roles.cont.len())
    }

    /// Train and valid loaders (fastai's `TabularDataLoaders`).
    pub fn dataloaders(&self, bs: usize, seed: u64, device: &Device) -> Result<DataLoaders<usize, TabularBatch>> {
        let rows: Arc<dyn Dataset<Item = usize>> = Arc::new(VecDataset::new((0..self.processed.n_rows).collect::<Vec<_>>()));
        let mut dls = DataLoaders::from_splits(rows, &self.splits, Arc::new(self.batcher()), bs, seed, device.clone())?;
        // Batches are gathered from memory: worker threads would cost more than they save.
        for l in [&mut dls.train, &mut dls.valid] {
            let mut cfg = l.config().clone();
            cfg.num_workers = 0;
            *l = l.clone().with_config(cfg)?;
        }
        Ok(dls)
    }
}

#[cfg(test)]
mod tests {
    use kindling_core::data::split::{RandomSplitter, Splitter};

    use super::*;
    use crate::roles::resolve;

    #[test]
    fn a_nan_or_infinity_written_in_a_continuous_column_is_refused_naming_column_and_row() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut x: Vec<Option<f64>> = (0..20).map(|i| Some(i as f64 + 0.5)).collect();
            x[17] = Some(bad);
            x[3] = None; // an empty field is a missing value, and fine
            let table = Table {
                names: vec!["x".into(), "y".into()],
                columns: vec![Column::numeric(x), Column::Text((0..20).map(|i| Some(format!("{}", i % 2))).collect())],
            };
            let roles = resolve(&table, Some("y"), None, None, None).unwrap();
            let splits = RandomSplitter::new(0.2, 0).split(&20).unwrap();
            let err = TabularData::new(&table, roles.clone(), splits.clone()).err().expect("refused").to_string();
            assert!(err.contains("column 'x', row 18") && err.contains("--na"), "{err}");
            let mut fixed = table.clone();
            fixed.columns[0] = Column::numeric((0..20).map(|i| (i != 17).then_some(i as f64)).collect());
            assert!(TabularData::new(&fixed, roles, splits).is_ok());
        }
    }
}
