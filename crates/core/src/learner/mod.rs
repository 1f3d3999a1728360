//! The Learner: a model, its data loaders, a loss, an optimizer, metrics and callbacks, trained
//! the way fastai trains (`fit`, `fit_one_cycle`, `fine_tune`, `lr_find`), with checkpoints that
//! let a crashed run resume and end exactly where an uninterrupted run would have.
//!
//! The loop is written so that later backends and strategies slot in without a rewrite: batches
//! come from [`Loader`]s (a data-parallel loader can split them across devices), the step is one
//! call to the [`Optimizer`] on gradients (gradients from several devices can be summed first,
//! as burn's `MultiGradientsParams` does), and predictions are read back to the host in one
//! place (`host_preds`), where a mixed-precision model's half floats would be widened.

mod callback;
mod checkpoint;
mod early_stopping;
mod loss;
mod lr_find;
mod model;
mod progress;
mod recorder;
mod recording;
mod run_dir;
mod scheduler;

pub use callback::{Callback, Cancel, Ctx, Event, FitState};
pub use checkpoint::{CHECKPOINT_DIR, CheckpointState, Checkpointer, LoadedCheckpoint, load_checkpoint};
pub use early_stopping::EarlyStopping;
pub use loss::{BceWithLogitsLoss, CrossEntropyLoss, Loss, MseLoss};
pub use lr_find::{LrFindConfig, LrFindResult, minimum, slide, steep, valley};
pub use model::{Batch, Target, TaskModel};
pub use progress::{Progress, table_header, table_row};
pub use recorder::{EpochRecord, Recorder};
pub use recording::Recording;
pub use run_dir::{RunDirWriter, RunInfo, SplitSizes};
pub use scheduler::ParamScheduler;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor};

use crate::data::DataLoader;
use crate::data::loader::{BatchIter, DataLoaders};
use crate::error::{Error, Result};
use crate::metrics::{HostPreds, HostTarget, Metric, SmoothLoss};
use crate::optim::{Hypers, Optimizer, OptimizerConfig, ParamGroups};
use crate::schedule::{LrSpec, OneCycle};
use crate::seed;

/// A source of batches the Learner can iterate, epoch by epoch.
pub trait Loader<B>: Send + Sync {
    /// The batches of `epoch`.
    fn batches(&self, epoch: usize) -> BatchIter<B>;
    /// Batches per epoch.
    fn n_batches(&self) -> usize;
    /// Items per epoch.
    fn n_items(&self) -> usize;
    /// The device batches are put on.
    fn device(&self) -> &Device;
}

impl<I: Send + 'static, B: Send + 'static> Loader<B> for DataLoader<I, B> {
    fn batches(&self, epoch: usize) -> BatchIter<B> {
        self.iter(epoch)
    }
    fn n_batches(&self) -> usize {
        self.len()
    }
    fn n_items(&self) -> usize {
        DataLoader::n_items(self)
    }
    fn device(&self) -> &Device {
        DataLoader::device(self)
    }
}

/// fastai's `fine_tune` settings besides the epochs and base rate.
#[derive(Clone, Debug, PartialEq)]
pub struct FineTune {
    /// Epochs with the body frozen (fastai: 1).
    pub freeze_epochs: usize,
    /// The body's rate is `base_lr / lr_mult` in the unfrozen phase (fastai: 100).
    pub lr_mult: f64,
    /// `pct_start` of the unfrozen phase (fastai: 0.3).
    pub pct_start: f64,
    /// `div` of the unfrozen phase (fastai: 5).
    pub div: f64,
}

impl Default for FineTune {
    fn default() -> Self {
        Self { freeze_epochs: 1, lr_mult: 100.0, pct_start: 0.3, div: 5.0 }
    }
}

/// Loss and metrics of a validation (or test) pass.
#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    /// Mean loss over all items (`None` for an empty set).
    pub loss: Option<f64>,
    /// Metric values by name.
    pub metrics: Vec<(String, Option<f64>)>,
    /// Items evaluated.
    pub n_items: usize,
}

/// Predictions over a whole loader, in its order (fastai's `get_preds(with_loss=True)`).
#[derive(Clone, Debug, PartialEq)]
pub struct Predictions {
    /// Activated predictions (probabilities for classification).
    pub probs: HostPreds,
    /// Raw model outputs.
    pub raw: HostPreds,
    /// Targets.
    pub targets: Option<HostTarget>,
    /// Loss of each item.
    pub losses: Vec<f32>,
}

/// Where a resumed run picks up.
#[derive(Clone, Debug)]
struct ResumePoint {
    fit_index: usize,
    epoch: usize,
    epochs_seen: usize,
    plan: String,
    smooth_loss: SmoothLoss,
}

/// What kind of fit the loop runs.
enum FitKind {
    /// A real fit, counted, checkpointed, with the user's callbacks.
    Train { plan: String },
    /// lr_find's sweep: not counted, not checkpointed, quiet.
    Sweep,
}

/// A model, data, loss, optimizer, metrics and callbacks, trained as fastai trains.
pub struct Learner<M, B> {
    model: M,
    train: Arc<dyn Loader<B>>,
    valid: Arc<dyn Loader<B>>,
    loss: Arc<dyn Loss>,
    opt: Optimizer,
    metrics: Vec<Box<dyn Metric>>,
    callbacks: Vec<Box<dyn Callback<M>>>,
    /// Everything recorded while training.
    pub recorder: Recorder,
    seed: u64,
    mom: f64,
    train_bn: bool,
    checkpoint_dir: Option<PathBuf>,
    n_fits: usize,
    epochs_seen: usize,
    resume: Option<ResumePoint>,
}

impl<M: TaskModel<B>, B: Batch> Learner<M, B> {
    /// A learner on `dls` with fastai's defaults: Adam, one parameter group, seed 42, a progress
    /// table. The model is moved to the loaders' device.
    pub fn new<I: Send + 'static>(model: M, dls: &DataLoaders<I, B>, loss: impl Loss + 'static) -> Self {
        Self::from_loaders(model, Arc::new(dls.train.clone()), Arc::new(dls.valid.clone()), loss)
    }

    /// A learner on any two loaders.
    pub fn from_loaders(model: M, train: Arc<dyn Loader<B>>, valid: Arc<dyn Loader<B>>, loss: impl Loss + 'static) -> Self {
        let model = model.to_device(train.device());
        let opt = Optimizer::new(OptimizerConfig::adam(), ParamGroups::single());
        Self {
            model,
            train,
            valid,
            loss: Arc::new(loss),
            mom: opt.config().mom,
            opt,
            metrics: Vec::new(),
            callbacks: vec![Box::new(Progress::new())],
            recorder: Recorder::default(),
            seed: 42,
            train_bn: true,
            checkpoint_dir: None,
            n_fits: 0,
            epochs_seen: 0,
            resume: None,
        }
    }

    /// Uses `config` (Adam or SGD, weight decay …) and parameter `groups`.
    pub fn with_optimizer(mut self, config: OptimizerConfig, groups: ParamGroups) -> Self {
        self.mom = config.mom;
        self.opt = Optimizer::new(config, groups);
        self
    }

    /// Reports these metrics after every epoch.
    pub fn with_metrics(mut self, metrics: Vec<Box<dyn Metric>>) -> Self {
        self.metrics = metrics;
        self
    }

    /// Adds a callback.
    pub fn with_callback(mut self, cb: impl Callback<M> + 'static) -> Self {
        self.callbacks.push(Box::new(cb));
        self
    }

    /// Removes the progress table (tests, library use).
    pub fn quiet(mut self) -> Self {
        self.callbacks.retain(|c| c.name() != "ProgressCallback");
        self
    }

    /// Seeds shuffling, augmentation and dropout.
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// Keeps normalisation layers trainable in frozen groups (fastai's `train_bn`, default on).
    pub fn with_train_bn(mut self, train_bn: bool) -> Self {
        self.train_bn = train_bn;
        self
    }

    /// Writes a checkpoint into `dir` after every epoch.
    pub fn with_checkpoints(mut self, dir: impl Into<PathBuf>) -> Self {
        self.checkpoint_dir = Some(dir.into());
        self
    }

    /// Batches in one training epoch.
    pub fn n_train_batches(&self) -> usize {
        self.train.n_batches()
    }

    /// The model.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The model, for evaluation (no autodiff, dropout off, BatchNorm frozen).
    pub fn eval_model(&self) -> M {
        self.model.valid()
    }

    /// Takes the model out.
    pub fn into_model(self) -> M {
        self.model
    }

    /// The optimizer.
    pub fn optimizer(&self) -> &Optimizer {
        &self.opt
    }

    /// Number of parameter groups.
    pub fn n_groups(&self) -> usize {
        self.opt.groups().len()
    }

    /// Freezes groups `0..n` (fastai's `freeze_to`).
    pub fn freeze_to(&mut self, n: usize) {
        self.model = self.opt.groups().freeze_to(self.model.clone(), n, self.train_bn);
    }

    /// Freezes every group but the last (fastai's `freeze`).
    pub fn freeze(&mut self) {
        self.freeze_to(self.n_groups() - 1);
    }

    /// Makes every group trainable (fastai's `unfreeze`).
    pub fn unfreeze(&mut self) {
        self.freeze_to(0);
    }

    /// Starts from the weights of a model file, checked by [`crate::export::same_model`] or
    /// [`crate::export::read`] (`bytes`, read from `origin`): fastai's "fit again" on a finished
    /// model. The optimizer and the history start afresh.
    pub fn load_weights(&mut self, bytes: Vec<u8>, origin: &Path) -> Result<()> {
        self.model = crate::export::weights_from_bytes(self.model.clone(), bytes, origin)?.to_device(self.train.device());
        Ok(())
    }

    /// Picks up from the checkpoint in `dir`: loads the weights, optimizer state and history,
    /// and makes the next fit calls skip what was already done. The fit calls that follow must
    /// be the ones that wrote the checkpoint (the same plan), or they are refused.
    pub fn resume_from(&mut self, dir: &Path) -> Result<()> {
        let ck = load_checkpoint(dir)?;
        self.model = crate::export::weights_from_bytes(self.model.clone(), ck.model_bytes, &dir.join(&ck.state.model_file))?;
        self.model = self.model.clone().to_device(self.train.device());
        self.opt.load_state_bytes(&ck.optim_bytes, self.train.device())?;
        self.recorder = ck.state.recorder.clone();
        self.resume = Some(ResumePoint {
            fit_index: ck.state.fit_index,
            epoch: ck.state.epoch,
            epochs_seen: ck.state.epochs_seen,
            plan: ck.state.plan.clone(),
            smooth_loss: ck.state.smooth_loss.clone(),
        });
        Ok(())
    }

    /// Trains `epochs` epochs at a constant learning rate (fastai's `fit`).
    pub fn fit(&mut self, epochs: usize, lr: impl Into<LrSpec>) -> Result<()> {
        let lrs = lr.into().per_group(self.n_groups());
        let plan = format!("fit(epochs={epochs}, lrs={lrs:?})");
        let hypers = Hypers { lrs, mom: self.mom };
        self.run(FitKind::Train { plan }, epochs, hypers, Vec::new())
    }

    /// Trains with fastai's one-cycle policy and its defaults (fastai's `fit_one_cycle`).
    pub fn fit_one_cycle(&mut self, epochs: usize, lr_max: impl Into<LrSpec>) -> Result<()> {
        let lr = lr_max.into();
        self.fit_one_cycle_with(epochs, OneCycle::new(lr.max()), lr)
    }

    /// Trains with the one-cycle `policy`, each group peaking at its rate from `lr`.
    pub fn fit_one_cycle_with(&mut self, epochs: usize, policy: OneCycle, lr: LrSpec) -> Result<()> {
        let lr_maxs = lr.per_group(self.n_groups());
        let plan = format!(
            "fit_one_cycle(epochs={epochs}, lr_max={lr_maxs:?}, div={}, div_final={}, pct_start={}, moms={:?})",
            policy.div, policy.div_final, policy.pct_start, policy.moms
        );
        let sched = ParamScheduler::one_cycle(&policy, &lr_maxs);
        let hypers = Hypers { lrs: lr_maxs.iter().map(|l| l / policy.div).collect(), mom: policy.moms.0 };
        self.run(FitKind::Train { plan }, epochs, hypers, vec![Box::new(sched)])
    }

    /// fastai's `fine_tune` with its defaults: one frozen epoch at `base_lr`, then `epochs`
    /// unfrozen with discriminative rates up to `base_lr / 2`.
    pub fn fine_tune(&mut self, epochs: usize, base_lr: f64) -> Result<()> {
        self.fine_tune_with(epochs, base_lr, FineTune::default())
    }

    /// fastai's `fine_tune` with explicit settings.
    pub fn fine_tune_with(&mut self, epochs: usize, base_lr: f64, ft: FineTune) -> Result<()> {
        self.freeze();
        self.fit_one_cycle_with(ft.freeze_epochs, OneCycle::new(base_lr).pct_start(0.99), LrSpec::Upto(base_lr))?;
        let base_lr = base_lr / 2.0;
        self.unfreeze();
        self.fit_one_cycle_with(epochs, OneCycle::new(base_lr).pct_start(ft.pct_start).div(ft.div), LrSpec::Range(base_lr / ft.lr_mult, base_lr))
    }

    /// fastai's `lr_find`: a sweep of growing learning rates on the training data. The weights,
    /// optimizer state and history are restored afterwards.
    pub fn lr_find(&mut self, config: LrFindConfig) -> Result<LrFindResult> {
        let n_train = self.train.n_batches();
        if n_train == 0 {
            return Err(Error::Data("lr_find needs at least one training batch".into()));
        }
        let saved = (self.model.clone(), self.opt.clone(), std::mem::take(&mut self.recorder), self.epochs_seen);
        let n_epochs = config.num_it / n_train + 1;
        let hypers = Hypers { lrs: vec![config.start_lr; self.n_groups()], mom: self.mom };
        let num_it = config.num_it.max(6);
        let result = self.run(FitKind::Sweep, n_epochs, hypers, vec![Box::new(lr_find::LrFinder::new(config))]);
        let curve = (self.recorder.lrs.clone(), self.recorder.smooth_losses.clone());
        (self.model, self.opt, self.recorder, self.epochs_seen) = saved;
        result?;
        Ok(LrFindResult::from_curve(curve.0, curve.1, num_it))
    }

    /// Loss and metrics on the validation set.
    pub fn validate(&mut self) -> Result<Evaluation> {
        let valid = self.valid.clone();
        self.evaluate(valid.as_ref())
    }

    /// Loss and metrics on any loader — the held-out test set's, for the final evaluation.
    pub fn evaluate(&mut self, loader: &dyn Loader<B>) -> Result<Evaluation> {
        let model = self.model.valid();
        for m in &mut self.metrics {
            m.reset();
        }
        let (mut total, mut n) = (0.0f64, 0usize);
        for batch in loader.batches(0) {
            let batch = batch?;
            let preds = model.forward_batch(&batch);
            let target = batch.target();
            let losses = self.loss.per_item(preds.clone(), &target);
            n += target.len();
            total += losses.sum().into_scalar::<f32>() as f64;
            let host = host_preds(preds)?;
            let host_target = target.to_host();
            for m in &mut self.metrics {
                m.accumulate(&host, &host_target);
            }
        }
        let metrics = self.metrics.iter().map(|m| (m.name(), if n > 0 { m.value() } else { None })).collect();
        Ok(Evaluation { loss: (n > 0).then(|| total / n as f64), metrics, n_items: n })
    }

    /// Predictions, targets and per-item losses over `loader`, in its order.
    pub fn get_preds(&self, loader: &dyn Loader<B>) -> Result<Predictions> {
        self.get_preds_at(loader, 0)
    }

    /// Test-time augmentation, as fastai's `tta(n, beta)`: the mean of the probabilities over
    /// `n` passes through `augmented` (the validation items with the training transforms, one
    /// random draw per pass), blended with the plain validation probabilities as
    /// `(1 - beta) * augmented + beta * plain`. Losses are recomputed from the blend.
    pub fn tta(&self, augmented: &dyn Loader<B>, n: usize, beta: f64) -> Result<Predictions> {
        let mut plain = self.get_valid_preds()?;
        if n == 0 {
            return Ok(plain);
        }
        let mut sum = vec![0.0f64; plain.probs.values.len()];
        for pass in 0..n {
            let p = self.get_preds_at(augmented, pass)?;
            if p.probs.values.len() != sum.len() {
                return Err(Error::Data(format!("the augmented loader gave {} predictions for {} validation ones", p.probs.values.len(), sum.len())));
            }
            for (s, v) in sum.iter_mut().zip(&p.probs.values) {
                *s += *v as f64;
            }
        }
        for (v, s) in plain.probs.values.iter_mut().zip(&sum) {
            *v = ((1.0 - beta) * s / n as f64 + beta * *v as f64) as f32;
        }
        if let Some(HostTarget::Classes(t)) = &plain.targets {
            plain.losses = plain.probs.nll(t);
        }
        Ok(plain)
    }

    fn get_preds_at(&self, loader: &dyn Loader<B>, epoch: usize) -> Result<Predictions> {
        let model = self.model.valid();
        let (mut raw, mut probs, mut losses) = (Vec::new(), Vec::new(), Vec::new());
        let mut targets: Option<HostTarget> = None;
        let mut n_out = 0;
        for batch in loader.batches(epoch) {
            let batch = batch?;
            let preds = model.forward_batch(&batch);
            n_out = preds.dims()[1];
            let target = batch.target();
            losses.extend(host_vec(self.loss.per_item(preds.clone(), &target))?);
            probs.extend(host_preds(self.loss.activation(preds.clone()))?.values);
            raw.extend(host_preds(preds)?.values);
            match (&mut targets, target.to_host()) {
                (None, t) => targets = Some(t),
                (Some(HostTarget::Classes(a)), HostTarget::Classes(b)) => a.extend(b),
                (Some(HostTarget::Values(a)), HostTarget::Values(b)) => a.extend(b),
                _ => return Err(Error::Data("batches mix class and value targets".into())),
            }
        }
        Ok(Predictions { probs: HostPreds { values: probs, n_out }, raw: HostPreds { values: raw, n_out }, targets, losses })
    }

    /// Predictions over the validation set.
    pub fn get_valid_preds(&self) -> Result<Predictions> {
        self.get_preds(self.valid.as_ref())
    }

    fn run(&mut self, kind: FitKind, n_epochs: usize, hypers: Hypers, extra: Vec<Box<dyn Callback<M>>>) -> Result<()> {
        let sweep = matches!(kind, FitKind::Sweep);
        let fit_index = self.n_fits;
        let mut start_epoch = 0;
        let mut smooth = SmoothLoss::default();
        if let FitKind::Train { plan } = &kind {
            self.n_fits += 1;
            if let Some(r) = self.resume.clone() {
                if r.fit_index > fit_index {
                    return Ok(()); // finished before the checkpoint; its weights are loaded already
                }
                if r.fit_index == fit_index {
                    if r.plan != *plan {
                        return Err(Error::invalid(
                            "resume",
                            format!("the checkpoint was written by {}, but this run asks for {plan}", r.plan),
                        ));
                    }
                    start_epoch = r.epoch + 1;
                    smooth = r.smooth_loss;
                    self.epochs_seen = r.epochs_seen;
                    self.resume = None;
                }
            }
        }
        let n_train = self.train.n_batches();
        if n_train == 0 {
            return Err(Error::Data(format!(
                "the training set gives no batch ({} items): it is empty or smaller than a batch",
                self.train.n_items()
            )));
        }
        if hypers.lrs.iter().any(|lr| !lr.is_finite() || *lr < 0.0) {
            return Err(Error::invalid("learning rate", format!("{:?} must be finite and ≥ 0", hypers.lrs)));
        }
        let mut state = FitState::new(n_epochs, fit_index, n_train, hypers);
        state.smooth_loss = smooth;
        state.train_iter = start_epoch * n_train;

        // The callbacks of this fit: the user's (not for a sweep), the fit's own, the recorder,
        // and a checkpointer when asked for. `true` marks the user's, to give them back after.
        let mut cbs: Vec<(bool, Box<dyn Callback<M>>)> = Vec::new();
        if !sweep {
            cbs.extend(std::mem::take(&mut self.callbacks).into_iter().map(|c| (true, c)));
        }
        cbs.extend(extra.into_iter().map(|c| (false, c)));
        cbs.push((false, Box::new(Recording)));
        if let (FitKind::Train { plan }, Some(dir)) = (&kind, &self.checkpoint_dir) {
            cbs.push((false, Box::new(Checkpointer::new(dir.clone(), plan.clone(), self.epochs_seen))));
        }
        cbs.sort_by_key(|(_, c)| c.order());

        let result = self.fit_loop(&mut cbs, &mut state, start_epoch);
        let after = self.emit(&mut cbs, Event::AfterFit, &mut state);
        self.callbacks.extend(cbs.into_iter().filter(|(user, _)| *user).map(|(_, c)| c));
        result.and(after)
    }

    fn emit(&mut self, cbs: &mut [(bool, Box<dyn Callback<M>>)], event: Event, state: &mut FitState) -> Result<()> {
        for (_, cb) in cbs.iter_mut() {
            let mut ctx = Ctx { model: &self.model, opt: &self.opt, recorder: &mut self.recorder, state };
            cb.on(event, &mut ctx)?;
        }
        Ok(())
    }

    fn fit_loop(&mut self, cbs: &mut [(bool, Box<dyn Callback<M>>)], state: &mut FitState, start_epoch: usize) -> Result<()> {
        self.emit(cbs, Event::BeforeFit, state)?;
        if state.cancel.take() == Some(Cancel::Fit) {
            return Ok(());
        }
        for epoch in start_epoch..state.n_epochs {
            state.epoch = epoch;
            state.epoch_start = std::time::Instant::now();
            // Dropout and other model randomness restart from a seed per epoch, so a resumed run
            // draws what an uninterrupted one would have.
            let epoch_seed = seed::mix(self.seed, &[0x4550_4f43, self.epochs_seen as u64]);
            self.train.device().seed(epoch_seed);
            self.train.device().clone().autodiff().seed(epoch_seed);
            self.emit(cbs, Event::BeforeEpoch, state)?;
            if state.cancel == Some(Cancel::Fit) {
                break;
            }
            if state.cancel.is_none() {
                self.train_epoch(cbs, state)?;
            }
            if state.cancel == Some(Cancel::Fit) {
                break;
            }
            if state.cancel.is_none() || state.cancel == Some(Cancel::Train) {
                state.cancel = None;
                self.validate_epoch(cbs, state)?;
            }
            if state.cancel == Some(Cancel::Fit) {
                break;
            }
            state.cancel = None;
            self.emit(cbs, Event::AfterEpoch, state)?;
            self.epochs_seen += 1;
            if state.cancel == Some(Cancel::Fit) {
                break;
            }
            state.cancel = None;
        }
        state.cancel = None;
        Ok(())
    }

    fn train_epoch(&mut self, cbs: &mut [(bool, Box<dyn Callback<M>>)], state: &mut FitState) -> Result<()> {
        self.model = self.model.clone().train();
        state.training = true;
        self.emit(cbs, Event::BeforeTrain, state)?;
        if state.cancel.is_some() {
            state.training = false;
            return Ok(());
        }
        let train = self.train.clone();
        for (i, batch) in train.batches(self.epochs_seen).enumerate() {
            let batch = batch?;
            state.iter = i;
            state.pct_train = state.train_iter as f64 / state.n_iter as f64;
            self.train_batch(cbs, state, &batch)?;
            if state.cancel == Some(Cancel::Batch) {
                state.cancel = None;
            }
            if state.cancel.is_some() {
                break;
            }
        }
        if state.cancel.is_none() || state.cancel == Some(Cancel::Train) {
            state.cancel = None;
            self.emit(cbs, Event::AfterTrain, state)?;
        }
        state.training = false;
        Ok(())
    }

    fn train_batch(&mut self, cbs: &mut [(bool, Box<dyn Callback<M>>)], state: &mut FitState, batch: &B) -> Result<()> {
        self.emit(cbs, Event::BeforeBatch, state)?;
        if state.cancel.is_none() {
            let (preds, penalty) = self.model.forward_train(batch);
            self.emit(cbs, Event::AfterPred, state)?;
            let target = batch.target();
            state.batch_size = target.len();
            let loss = self.loss.mean(preds, &target);
            let value = loss.clone().into_scalar::<f32>();
            let loss = match penalty {
                Some(p) => loss + p,
                None => loss,
            };
            if !value.is_finite() {
                return Err(Error::NonFiniteLoss { value, epoch: state.epoch, batch: state.iter });
            }
            state.loss = Some(value as f64);
            self.emit(cbs, Event::AfterLoss, state)?;
            if state.cancel.is_none() {
                self.emit(cbs, Event::BeforeBackward, state)?;
                let grads = GradientsParams::from_grads(loss.backward(), &self.model);
                self.emit(cbs, Event::AfterBackward, state)?;
                if state.cancel.is_none() {
                    self.emit(cbs, Event::BeforeStep, state)?;
                    if state.cancel.is_none() {
                        self.model = self.opt.step(self.model.clone(), grads, &state.hypers);
                        self.emit(cbs, Event::AfterStep, state)?;
                    }
                }
            }
        }
        // As fastai's TrainEvalCallback, count the batch before the after_batch callbacks.
        state.train_iter += 1;
        let pending = state.cancel.take();
        self.emit(cbs, Event::AfterBatch, state)?;
        if let Some(p) = pending {
            state.cancel(p);
        }
        Ok(())
    }

    fn validate_epoch(&mut self, cbs: &mut [(bool, Box<dyn Callback<M>>)], state: &mut FitState) -> Result<()> {
        self.emit(cbs, Event::BeforeValidate, state)?;
        if state.cancel == Some(Cancel::Validate) {
            state.cancel = None;
            state.valid_loss = None;
            state.metrics = self.metrics.iter().map(|m| (m.name(), None)).collect();
            return Ok(());
        }
        if state.cancel.is_some() {
            return Ok(());
        }
        let valid = self.valid.clone();
        let eval = self.evaluate(valid.as_ref())?;
        state.valid_loss = eval.loss;
        state.metrics = eval.metrics;
        self.emit(cbs, Event::AfterValidate, state)
    }
}

/// A `[n, k]` tensor copied to the host.
fn host_preds(t: Tensor<2>) -> Result<HostPreds> {
    let n_out = t.dims()[1];
    Ok(HostPreds { values: host_vec(t)?, n_out })
}

fn host_vec<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    t.into_data().convert::<f32>().try_into_vec::<f32>().map_err(|e| Error::Data(format!("cannot read predictions: {e:?}")))
}
