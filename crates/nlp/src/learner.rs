//! A text classifier on core's Learner: the loss and metrics that fit the labels, AdamW with
//! the settings transformers are fine-tuned with, gradient clipping, and one parameter group per
//! encoder layer for freezing and discriminative learning rates.

use kindling_core::data::DataLoaders;
use kindling_core::learner::{BceWithLogitsLoss, CrossEntropyLoss, Learner, MseLoss};
use kindling_core::metrics::{Accuracy, AccuracyMulti, F1Average, F1Score, Metric, Mse};
use kindling_core::optim::OptimizerConfig;
use kindling_core::schedule::OneCycle;
use serde::{Deserialize, Serialize};

use crate::classifier::{ClassifierConfig, TextClassifier};
use crate::data::{TextBatch, TextItem};

/// What the labels are, and so which loss, metrics and output activation the model uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TextTask {
    /// One class per text: cross-entropy, accuracy and macro F1, softmax.
    Single,
    /// Any number of labels per text: binary cross-entropy, `accuracy_multi`, sigmoid.
    Multi,
    /// A number per text: mean squared error.
    Regression,
}

impl TextTask {
    /// The metrics reported each epoch (and in `metrics.json`).
    pub fn metrics(self, thresh: f32) -> Vec<Box<dyn Metric>> {
        match self {
            TextTask::Single => vec![Box::new(Accuracy::default()), Box::new(F1Score::new(F1Average::Macro))],
            TextTask::Multi => vec![Box::new(AccuracyMulti::new(thresh))],
            TextTask::Regression => vec![Box::new(Mse::default())],
        }
    }
}

/// Hugging Face's AdamW defaults (`betas (0.9, 0.999)`, `eps 1e-8`, weight decay 0.01), in
/// fastai's form: the decay is decoupled and skips biases and LayerNorm weights, and
/// `clip_norm` clips the global gradient norm (the Hugging Face Trainer clips at 1.0).
pub fn adamw(clip_norm: Option<f64>) -> OptimizerConfig {
    OptimizerConfig { sqr_mom: 0.999, eps: 1e-8, wd: 0.01, clip_norm, ..OptimizerConfig::adam() }
}

/// The one-cycle schedule transformers are fine-tuned with (PyTorch's `OneCycleLR` defaults, as
/// the peer script uses them): warm up over `warmup_pct` of the steps from `lr / 25`, then
/// cosine-anneal to `lr / 1e4`; momentum cycles 0.95 → 0.85 → 0.95.
pub fn one_cycle(lr: f64, warmup_pct: f64) -> OneCycle {
    OneCycle { div_final: 1e4, ..OneCycle::new(lr).pct_start(warmup_pct) }
}

/// A learner for `model` on `dls`: the loss and metrics of `task`, [`adamw`], and the
/// parameter groups of [`ClassifierConfig::param_groups`]. Nothing is frozen: call
/// `fine_tune` to train the head alone first, as fastai does.
pub fn text_learner(
    config: &ClassifierConfig,
    model: TextClassifier,
    dls: &DataLoaders<TextItem, TextBatch>,
    task: TextTask,
    clip_norm: Option<f64>,
) -> Learner<TextClassifier, TextBatch> {
    let learn = match task {
        TextTask::Single => Learner::new(model, dls, CrossEntropyLoss),
        TextTask::Multi => Learner::new(model, dls, BceWithLogitsLoss),
        TextTask::Regression => Learner::new(model, dls, MseLoss),
    };
    learn.with_optimizer(adamw(clip_norm), config.param_groups()).with_metrics(task.metrics(0.5))
}
