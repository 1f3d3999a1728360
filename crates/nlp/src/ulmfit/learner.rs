//! ULMFiT's learners on core's Learner (fastai's `language_model_learner`,
//! `text_classifier_learner` and chapter 10's schedule): Adam with fastai's defaults, momentum
//! cycling 0.8 → 0.7 → 0.8 (fastai's `TextLearner`), cross-entropy over every token (language
//! model) or text, accuracy (and perplexity), and the AR/TAR penalty the models add in training.

use std::sync::Arc;

use kindling_core::learner::{CrossEntropyLoss, Learner, Loader};
use kindling_core::metrics::{Accuracy, F1Average, F1Score};
use kindling_core::optim::OptimizerConfig;
use kindling_core::schedule::{LrSpec, OneCycle};
use kindling_core::Result;

use super::classifier::{AwdClassifier, AwdClassifierConfig};
use super::awd_lstm::AwdLstmConfig;
use super::language_model::LanguageModel;
use super::lm_data::LmBatch;
use super::perplexity::Perplexity;
use crate::data::TextBatch;

/// fastai's `TextLearner` momentums for the one-cycle policy.
pub const TEXT_MOMS: (f64, f64, f64) = (0.8, 0.7, 0.8);

/// The one-cycle policy text learners use: fastai's defaults with [`TEXT_MOMS`].
pub fn text_one_cycle(lr_max: f64) -> OneCycle {
    OneCycle { moms: TEXT_MOMS, ..OneCycle::new(lr_max) }
}

/// fastai's `fit_one_cycle(epochs, lr)` on a text learner.
pub fn fit_one_cycle<M: kindling_core::learner::TaskModel<B>, B: kindling_core::learner::Batch>(learn: &mut Learner<M, B>, epochs: usize, lr: LrSpec) -> Result<()> {
    learn.fit_one_cycle_with(epochs, text_one_cycle(lr.max()), lr)
}

/// A language model learner: accuracy and perplexity on the validation streams.
pub fn lm_learner(model: LanguageModel, config: &AwdLstmConfig, train: impl Loader<LmBatch> + 'static, valid: impl Loader<LmBatch> + 'static) -> Learner<LanguageModel, LmBatch> {
    Learner::from_loaders(model, Arc::new(train), Arc::new(valid), CrossEntropyLoss)
        .with_optimizer(OptimizerConfig::adam(), config.lm_param_groups())
        .with_metrics(vec![Box::new(Accuracy::default()), Box::new(Perplexity::default())])
}

/// A classifier learner: accuracy and macro F1.
pub fn classifier_learner(
    model: AwdClassifier,
    config: &AwdClassifierConfig,
    train: impl Loader<TextBatch> + 'static,
    valid: impl Loader<TextBatch> + 'static,
) -> Learner<AwdClassifier, TextBatch> {
    Learner::from_loaders(model, Arc::new(train), Arc::new(valid), CrossEntropyLoss)
        .with_optimizer(OptimizerConfig::adam(), config.param_groups())
        .with_metrics(vec![Box::new(Accuracy::default()), Box::new(F1Score::new(F1Average::Macro))])
}

/// fastai's factor between the rates of consecutive layer groups in chapter 10 (`2.6 ** 4`
/// across the four encoder groups).
pub const LR_DECAY: f64 = 2.6 * 2.6 * 2.6 * 2.6;

/// Chapter 10's gradual unfreezing, as the peer script runs it, from `lr` (the book: 2e-2):
/// the head alone for one epoch at `lr`; `freeze_to(-2)`, one epoch at `slice(lr/2 / 2.6⁴,
/// lr/2)`; `freeze_to(-3)`, one at `slice(lr/4 / 2.6⁴, lr/4)`; everything, `last_epochs` at
/// `slice(lr/20 / 2.6⁴, lr/20)`.
pub fn gradual_unfreezing(learn: &mut Learner<AwdClassifier, TextBatch>, lr: f64, last_epochs: usize) -> Result<()> {
    let n = learn.n_groups();
    learn.freeze();
    fit_one_cycle(learn, 1, LrSpec::Single(lr))?;
    for (k, div) in [(2, 2.0), (3, 4.0)] {
        learn.freeze_to(n.saturating_sub(k));
        let top = lr / div;
        fit_one_cycle(learn, 1, LrSpec::Range(top / LR_DECAY, top))?;
    }
    learn.unfreeze();
    let top = lr / 20.0;
    fit_one_cycle(learn, last_epochs, LrSpec::Range(top / LR_DECAY, top))
}
