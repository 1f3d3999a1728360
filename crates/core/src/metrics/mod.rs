//! Metrics accumulated over a whole epoch (not averaged per batch), under fastai's names, and
//! the smoothed training loss fastai reports.
//!
//! A metric sees predictions and targets on the host, batch by batch, and gives one value at
//! the end. Predictions are the model's raw outputs (logits for classification).

mod classification;
mod regression;
mod smooth;

pub use classification::{Accuracy, AccuracyMulti, ErrorRate, F1Score, F1Average};
pub use regression::{Mae, Mse, Rmse};
pub use smooth::SmoothLoss;

/// Targets of a batch on the host.
#[derive(Clone, Debug, PartialEq)]
pub enum HostTarget {
    /// A class index per item.
    Classes(Vec<i64>),
    /// `n_out` values per item, row-major.
    Values(Vec<f32>),
}

impl HostTarget {
    /// Number of items when predictions have `n_out` columns.
    pub fn n_items(&self, n_out: usize) -> usize {
        match self {
            HostTarget::Classes(c) => c.len(),
            HostTarget::Values(v) => v.len() / n_out.max(1),
        }
    }
}

/// Predictions of a batch on the host: `n_items × n_out`, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct HostPreds {
    /// The values.
    pub values: Vec<f32>,
    /// Columns per item (classes, or regression outputs).
    pub n_out: usize,
}

impl HostPreds {
    /// Row `i`.
    pub fn row(&self, i: usize) -> &[f32] {
        &self.values[i * self.n_out..(i + 1) * self.n_out]
    }

    /// Number of items.
    pub fn n_items(&self) -> usize {
        self.values.len() / self.n_out.max(1)
    }

    /// The index of the largest value of each row.
    pub fn argmax(&self) -> Vec<i64> {
        (0..self.n_items())
            .map(|i| {
                let row = self.row(i);
                let mut best = 0;
                for (j, &v) in row.iter().enumerate() {
                    if v > row[best] {
                        best = j;
                    }
                }
                best as i64
            })
            .collect()
    }

    /// For probabilities, each row's cross-entropy against its class: `-ln p(target)`, with
    /// `p` floored at 1e-12 so that a zero probability gives a large, finite loss.
    ///
    /// ```
    /// let p = kindling_core::metrics::HostPreds { values: vec![0.5, 0.5, 1.0, 0.0], n_out: 2 };
    /// let l = p.nll(&[0, 1]);
    /// assert!((l[0] - 0.5f32.ln().abs()).abs() < 1e-6 && l[1] > 27.0);
    /// ```
    pub fn nll(&self, targets: &[i64]) -> Vec<f32> {
        targets.iter().enumerate().map(|(i, &t)| -self.row(i)[t as usize].max(1e-12).ln()).collect()
    }
}

/// A value computed over a whole epoch of predictions.
pub trait Metric: Send {
    /// fastai's name for it (`accuracy`, `error_rate`, `rmse` …): the column in the epoch table
    /// and the key in `metrics.json`.
    fn name(&self) -> String;
    /// Forgets everything seen (start of a validation pass).
    fn reset(&mut self);
    /// Takes in one batch.
    fn accumulate(&mut self, preds: &HostPreds, target: &HostTarget);
    /// The value over everything since `reset`; `None` if nothing was seen.
    fn value(&self) -> Option<f64>;
    /// Whether a larger value is better (for early stopping and best-model tracking).
    fn higher_is_better(&self) -> bool;
}

/// The metric named `name` (as written on the command line), if kindling has it.
///
/// ```
/// let m = kindling_core::metrics::by_name("error_rate").unwrap();
/// assert_eq!(m.name(), "error_rate");
/// assert!(kindling_core::metrics::by_name("bogus").is_none());
/// ```
pub fn by_name(name: &str) -> Option<Box<dyn Metric>> {
    Some(match name {
        "accuracy" => Box::new(Accuracy::default()),
        "error_rate" => Box::new(ErrorRate::default()),
        "accuracy_multi" => Box::new(AccuracyMulti::new(0.5)),
        "mse" => Box::new(Mse::default()),
        "rmse" => Box::new(Rmse::default()),
        "mae" => Box::new(Mae::default()),
        "f1" | "f1_binary" => Box::new(F1Score::new(F1Average::Binary)),
        "f1_macro" => Box::new(F1Score::new(F1Average::Macro)),
        _ => return None,
    })
}
