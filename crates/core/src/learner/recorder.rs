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

    /// The two curves of [`plot_losses`](Self::plot_losses) as `(batch, loss)` points: the
    /// smoothed training loss after each batch, and the validation loss after each epoch.
    pub fn loss_curves(&self) -> (Vec<(f64, f64)>, Vec<(f64, f64)>) {
        let train = self.iters.iter().zip(&self.smooth_losses).map(|(&i, &l)| (i as f64, l)).collect();
        let valid = self.valid_losses.iter().filter_map(|&(i, l)| l.map(|l| (i as f64, l))).collect();
        (train, valid)
    }

    /// Writes the loss curves as fastai's `plot_loss` draws them: the smoothed training loss
    /// (the moving average the progress table shows) against batches, and the validation loss
    /// once per epoch, at the batch where the epoch ended, as a line with a dot per epoch.
    pub fn plot_losses(&self, path: &std::path::Path) -> crate::Result<()> {
        use crate::plot::{ChartSpec, Series, line_chart};
        let (train, valid) = self.loss_curves();
        let mut series = vec![Series { label: "train (smoothed)", points: train, dots: false }];
        if !valid.is_empty() {
            series.push(Series { label: "valid", points: valid, dots: true });
        }
        line_chart(path, &ChartSpec { title: "Loss", x_label: "batches", y_label: "loss", log_x: false }, &series, &[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_curves_draw_the_smoothed_training_loss_and_one_valid_point_an_epoch() {
        let rec = Recorder {
            losses: vec![1.0, 3.0, 1.0, 3.0],
            smooth_losses: vec![1.0, 2.0, 1.8, 2.2],
            iters: vec![1, 2, 3, 4],
            valid_losses: vec![(2, Some(1.5)), (4, Some(1.2))],
            ..Recorder::default()
        };
        let (train, valid) = rec.loss_curves();
        assert_eq!(train, vec![(1.0, 1.0), (2.0, 2.0), (3.0, 1.8), (4.0, 2.2)]);
        assert_eq!(valid, vec![(2.0, 1.5), (4.0, 1.2)]);
        let path = std::env::temp_dir().join(format!("kindling-history-{}.png", std::process::id()));
        rec.plot_losses(&path).unwrap();
        assert!(std::fs::metadata(&path).unwrap().len() > 1000);
        std::fs::remove_file(path).unwrap();
    }
}
