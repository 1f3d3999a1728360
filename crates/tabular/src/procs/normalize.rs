use kindling_core::Result;
use serde::{Deserialize, Serialize};

use super::FillMissing;
use crate::table::Table;

/// fastai's tabular `Normalize`: `(x - mean) / (std + 1e-7)` with the training rows' mean and
/// population standard deviation (`ddof = 0`), computed after FillMissing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Normalize {
    /// Mean of each continuous column.
    pub means: Vec<f64>,
    /// Standard deviation + 1e-7 of each continuous column.
    pub stds: Vec<f64>,
}

impl Normalize {
    /// Statistics over `train` of the (filled) continuous columns.
    pub fn fit(table: &Table, cont: &[String], fill: &FillMissing, train: &[usize]) -> Result<Self> {
        let (mut means, mut stds) = (Vec::new(), Vec::new());
        for (j, name) in cont.iter().enumerate() {
            let col = table.require(name)?;
            let vals: Vec<f64> = train.iter().map(|&i| fill.fill(j, col, i).0).collect();
            let n = vals.len() as f64;
            let mean = vals.iter().sum::<f64>() / n;
            let var = vals.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
            means.push(mean);
            stds.push(var.sqrt() + 1e-7);
        }
        Ok(Self { means, stds })
    }

    /// Normalises a value of column `j`.
    pub fn apply(&self, j: usize, v: f64) -> f64 {
        (v - self.means[j]) / self.stds[j]
    }
}
