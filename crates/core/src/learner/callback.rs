//! Callbacks, with fastai's events in fastai's order, and the training state they see.
//!
//! The training loop emits, for each fit:
//! `BeforeFit`, then per epoch `BeforeEpoch`, `BeforeTrain`, per batch (`BeforeBatch`,
//! `AfterPred`, `AfterLoss`, `BeforeBackward`, `AfterBackward`, `BeforeStep`, `AfterStep`,
//! `AfterBatch`), `AfterTrain`, `BeforeValidate`, `AfterValidate`, `AfterEpoch`; finally
//! `AfterFit`. A callback cancels part of the loop with [`FitState::cancel`], as fastai's
//! `Cancel*Exception`s do.

use std::time::Instant;

use crate::error::Result;
use crate::metrics::SmoothLoss;
use crate::optim::{Hypers, Optimizer};

use super::recorder::Recorder;

/// A point in the training loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Event {
    /// Start of a fit.
    BeforeFit,
    /// Start of an epoch.
    BeforeEpoch,
    /// Start of the training pass of an epoch.
    BeforeTrain,
    /// Before a training batch (schedulers set the hyper-parameters here).
    BeforeBatch,
    /// After the forward pass.
    AfterPred,
    /// After the loss is computed (`FitState::loss` is set).
    AfterLoss,
    /// Before gradients are computed.
    BeforeBackward,
    /// After gradients are computed.
    AfterBackward,
    /// Before the optimizer step.
    BeforeStep,
    /// After the optimizer step.
    AfterStep,
    /// End of a training batch.
    AfterBatch,
    /// End of the training pass.
    AfterTrain,
    /// Start of the validation pass.
    BeforeValidate,
    /// End of the validation pass (`FitState::valid_loss` and metrics are set).
    AfterValidate,
    /// End of an epoch.
    AfterEpoch,
    /// End of the fit (also after a cancelled fit).
    AfterFit,
}

/// What a callback can cancel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cancel {
    /// Skip the rest of this batch (no step).
    Batch,
    /// End the training pass of this epoch.
    Train,
    /// Skip the validation pass.
    Validate,
    /// End this epoch.
    Epoch,
    /// End the fit.
    Fit,
}

/// The training state every callback sees and may change.
#[derive(Debug)]
pub struct FitState {
    /// Epochs in this fit.
    pub n_epochs: usize,
    /// The current epoch of this fit (0-based).
    pub epoch: usize,
    /// The index of this fit since the learner was made (fine_tune runs two fits).
    pub fit_index: usize,
    /// Batch within the current pass (0-based).
    pub iter: usize,
    /// Training batches done in this fit.
    pub train_iter: usize,
    /// Training batches in the whole fit.
    pub n_iter: usize,
    /// Training batches per epoch.
    pub n_train_batches: usize,
    /// `train_iter / n_iter`: progress through the fit, what schedules read.
    pub pct_train: f64,
    /// Whether the loop is in a training pass.
    pub training: bool,
    /// Hyper-parameters for the next step (schedulers write them).
    pub hypers: Hypers,
    /// The last batch's loss.
    pub loss: Option<f64>,
    /// The smoothed training loss.
    pub smooth_loss: SmoothLoss,
    /// Items in the last batch.
    pub batch_size: usize,
    /// The last validation loss (`None` when validation was skipped or empty).
    pub valid_loss: Option<f64>,
    /// The last validation metrics, by name (`None` when not computed).
    pub metrics: Vec<(String, Option<f64>)>,
    /// When the current epoch started.
    pub epoch_start: Instant,
    pub(crate) cancel: Option<Cancel>,
}

impl FitState {
    pub(crate) fn new(n_epochs: usize, fit_index: usize, n_train_batches: usize, hypers: Hypers) -> Self {
        Self {
            n_epochs,
            epoch: 0,
            fit_index,
            iter: 0,
            train_iter: 0,
            n_iter: n_epochs * n_train_batches,
            n_train_batches,
            pct_train: 0.0,
            training: false,
            hypers,
            loss: None,
            smooth_loss: SmoothLoss::default(),
            batch_size: 0,
            valid_loss: None,
            metrics: Vec::new(),
            epoch_start: Instant::now(),
            cancel: None,
        }
    }

    /// Asks the loop to cancel at the given level (the widest request wins).
    pub fn cancel(&mut self, what: Cancel) {
        self.cancel = Some(self.cancel.map_or(what, |c| c.max(what)));
    }

    /// The pending cancellation, if any.
    pub fn cancelled(&self) -> Option<Cancel> {
        self.cancel
    }
}

/// What a callback is given at each event: the model and optimizer to read, the recorder,
/// and the training state to read and change.
pub struct Ctx<'a, M> {
    /// The model (read only: a callback that saves weights reads them here).
    pub model: &'a M,
    /// The optimizer.
    pub opt: &'a Optimizer,
    /// The history of this learner.
    pub recorder: &'a mut Recorder,
    /// The training state.
    pub state: &'a mut FitState,
}

/// Something that acts at points of the training loop.
pub trait Callback<M>: Send {
    /// A name for messages.
    fn name(&self) -> &str;
    /// Callbacks run in increasing order (fastai: schedulers 60, recorder 50, progress 0 …);
    /// equal orders run in the order they were added.
    fn order(&self) -> i32 {
        0
    }
    /// Acts on `event`.
    fn on(&mut self, event: Event, ctx: &mut Ctx<'_, M>) -> Result<()>;
}
