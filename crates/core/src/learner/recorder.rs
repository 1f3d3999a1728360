//! The history of a learner: losses and hyper-parameters per batch, and one record per epoch.

use serde::{Deserialize, Serialize};

/// The values of one epoch, as fastai's table shows them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// Epoch number within its fit (0-based).
    pub epoch: usize,
    /// Which fit it belongs to (fine_tune has two).
    pub fit: usize,
    /// Smoothed training loss at the end of the epoch.
    pub train_loss: Option<f64>,
    /// Validation loss (`None` when there is no validation set).
    pub valid_loss: Option<f64>,
    /// Metrics by fastai name, in the order they were given.
    pub metrics: Vec<(String, Option<f64>)>,
    /// Wall time of the epoch.
    pub seconds: f64,
}

/// Everything recorded while training.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Recorder {
    /// Learning rate (last group) at each training batch.
    pub lrs: Vec<f64>,
    /// Momentum at each training batch.
    pub moms: Vec<f64>,
    /// Raw loss of each training batch.
    pub losses: Vec<f64>,
    /// Smoothed loss after each training batch (what lr_find reads).
    pub smooth_losses: Vec<f64>,
    /// Number of the training batches above (global index) — for plotting loss curves.
    pub iters: Vec<usize>,
    /// Validation loss at the end of each epoch, with the global batch index it was taken at.
    pub valid_losses: Vec<(usize, Option<f64>)>,
    /// One record per finished epoch.
    pub epochs: Vec<EpochRecord>,
}

impl Recorder {
    /// The last epoch's record.
    pub fn last(&self) -> Option<&EpochRecord> {
        self.epochs.last()
    }

    /// Clears the per-batch history (lr_find does this so its sweep does not mix with training).
    pub fn clear_batches(&mut self) {
        self.lrs.clear();
        self.moms.clear();
        self.losses.clear();
        self.smooth_losses.clear();
        self.iters.clear();
    }

    /// Writes the loss curves (training per batch, validation per epoch) as a PNG.
    pub fn plot_losses(&self, path: &std::path::Path) -> crate::Result<()> {
        use crate::plot::{ChartSpec, Series, line_chart};
        let train: Vec<(f64, f64)> = self.iters.iter().zip(&self.losses).map(|(&i, &l)| (i as f64, l)).collect();
        let valid: Vec<(f64, f64)> = self.valid_losses.iter().filter_map(|&(i, l)| l.map(|l| (i as f64, l))).collect();
        let mut series = vec![Series { label: "train", points: train }];
        if !valid.is_empty() {
            series.push(Series { label: "valid", points: valid });
        }
        line_chart(path, &ChartSpec { title: "Loss", x_label: "batches", y_label: "loss", log_x: false }, &series, &[])
    }
}
