use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor};

use super::config::{OptimizerConfig, OptimizerKind};
use super::groups::{ParamGroups, PathTracker};

/// The hyper-parameters of one step: a learning rate per parameter group, and the momentum.
#[derive(Clone, Debug, PartialEq)]
pub struct Hypers {
    /// Learning rate of each group, in group order.
    pub lrs: Vec<f64>,
    /// Momentum (Adam's beta1; SGD's momentum).
    pub mom: f64,
}

/// The moving averages of one parameter, flattened.
#[derive(Clone, Debug)]
pub(crate) struct ParamState {
    pub avg: Option<Tensor<1>>,
    pub sqr_avg: Option<Tensor<1>>,
    pub step: u64,
}

/// An optimizer: its configuration, its parameter groups, and its state, keyed by parameter
/// path so that a checkpoint restores it into a freshly built model.
///
/// ```
/// use burn::nn::LinearConfig;
/// use burn::tensor::{Device, Tensor};
/// use burn::optim::GradientsParams;
/// use kindling_core::optim::{Hypers, Optimizer, OptimizerConfig, ParamGroups};
///
/// let device = Device::flex().autodiff();
/// let model = LinearConfig::new(3, 1).init(&device);
/// let x = Tensor::<2>::ones([4, 3], &device);
/// let loss = model.forward(x).powi_scalar(2).mean();
/// let grads = GradientsParams::from_grads(loss.backward(), &model);
/// let mut opt = Optimizer::new(OptimizerConfig::adam(), ParamGroups::single());
/// let model = opt.step(model, grads, &Hypers { lrs: vec![1e-2], mom: 0.9 });
/// assert_eq!(opt.n_states(), 2); // weight and bias
/// # let _ = model;
/// ```
#[derive(Clone, Debug)]
pub struct Optimizer {
    config: OptimizerConfig,
    groups: ParamGroups,
    pub(crate) state: HashMap<String, ParamState>,
}

impl Optimizer {
    /// A fresh optimizer (no state yet).
    pub fn new(config: OptimizerConfig, groups: ParamGroups) -> Self {
        Self { config, groups, state: HashMap::new() }
    }

    /// The configuration.
    pub fn config(&self) -> &OptimizerConfig {
        &self.config
    }

    /// The parameter groups.
    pub fn groups(&self) -> &ParamGroups {
        &self.groups
    }

    /// Forgets all moving averages (fastai's `reset_opt`).
    pub fn reset(&mut self) {
        self.state.clear();
    }

    /// Number of parameters with state.
    pub fn n_states(&self) -> usize {
        self.state.len()
    }

    /// Applies one update to every parameter of `model` that has a gradient in `grads`.
    ///
    /// # Panics
    /// If `hypers.lrs` has fewer entries than there are groups: the learner always passes one per group.
    pub fn step<M: Module>(&mut self, model: M, mut grads: GradientsParams, hypers: &Hypers) -> M {
        assert!(hypers.lrs.len() >= self.groups.len(), "one learning rate per parameter group");
        let clip_scale = match self.config.clip_norm {
            Some(max_norm) => {
                let norm = global_grad_norm(&model, &grads);
                let coef = max_norm / (norm + 1e-6);
                if coef < 1.0 { coef } else { 1.0 }
            }
            None => 1.0,
        };
        let mut mapper = StepMapper {
            config: &self.config,
            groups: &self.groups,
            state: &mut self.state,
            grads: &mut grads,
            hypers,
            clip_scale,
            path: PathTracker::default(),
        };
        model.map(&mut mapper)
    }

    /// The state tensors moved to `device` (after loading a checkpoint).
    pub(crate) fn to_device(&mut self, device: &Device) {
        for s in self.state.values_mut() {
            s.avg = s.avg.take().map(|t| t.to_device(device));
            s.sqr_avg = s.sqr_avg.take().map(|t| t.to_device(device));
        }
    }
}

/// The update of one flattened parameter `p` with gradient `g`. Public within the crate so
/// that the golden-value tests can drive it on a plain tensor.
pub(crate) fn update(
    config: &OptimizerConfig,
    state: &mut ParamState,
    mut p: Tensor<1>,
    mut g: Tensor<1>,
    lr: f64,
    mom: f64,
    apply_wd: bool,
) -> Tensor<1> {
    let wd = if apply_wd { config.wd } else { 0.0 };
    if wd != 0.0 {
        if config.decouple_wd {
            p = p.mul_scalar(1.0 - lr * wd);
        } else {
            g = g + p.clone().mul_scalar(wd);
        }
    }
    match config.kind {
        OptimizerKind::Adam => {
            let avg = match state.avg.take() {
                Some(a) => a.mul_scalar(mom) + g.clone().mul_scalar(1.0 - mom),
                None => g.clone().mul_scalar(1.0 - mom),
            };
            let sq = g.clone() * g;
            let sqr_avg = match state.sqr_avg.take() {
                Some(s) => s.mul_scalar(config.sqr_mom) + sq.mul_scalar(1.0 - config.sqr_mom),
                None => sq.mul_scalar(1.0 - config.sqr_mom),
            };
            state.step += 1;
            let debias1 = 1.0 - mom.powi(state.step as i32);
            let debias2 = 1.0 - config.sqr_mom.powi(state.step as i32);
            let denom = sqr_avg.clone().div_scalar(debias2).sqrt().add_scalar(config.eps);
            p = p - (avg.clone() / denom).mul_scalar(lr / debias1);
            state.avg = Some(avg);
            state.sqr_avg = Some(sqr_avg);
        }
        OptimizerKind::Sgd => {
            state.step += 1;
            if mom != 0.0 || state.avg.is_some() {
                let avg = match state.avg.take() {
                    Some(a) => a.mul_scalar(mom) + g,
                    None => g,
                };
                p = p - avg.clone().mul_scalar(lr);
                state.avg = Some(avg);
            } else {
                p = p - g.mul_scalar(lr);
            }
        }
    }
    p
}

struct StepMapper<'a> {
    config: &'a OptimizerConfig,
    groups: &'a ParamGroups,
    state: &'a mut HashMap<String, ParamState>,
    grads: &'a mut GradientsParams,
    hypers: &'a Hypers,
    clip_scale: f64,
    path: PathTracker,
}

impl ModuleMapper for StepMapper<'_> {
    fn enter_module(&mut self, name: &str, container_type: &str) {
        self.path.enter(name, container_type);
    }

    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.exit();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let Some(grad) = self.grads.remove::<D>(id) else {
            return Param::from_mapped_value(id, tensor, mapper);
        };
        let path = self.path.path();
        let lr = self.hypers.lrs[self.groups.group_of(&path)];
        let apply_wd = self.config.wd_bn_bias || !self.path.is_bias_or_norm();
        let require_grad = tensor.is_require_grad();
        let was_autodiff = tensor.is_autodiff();
        let shape = tensor.shape();
        let n = shape.num_elements();
        let p = tensor.inner().reshape([n]);
        let mut g = grad.reshape([n]);
        if self.clip_scale != 1.0 {
            g = g.mul_scalar(self.clip_scale);
        }
        let state = self.state.entry(path).or_insert(ParamState { avg: None, sqr_avg: None, step: 0 });
        let updated = update(self.config, state, p, g, lr, self.hypers.mom, apply_wd).reshape(shape);
        let mut updated = if was_autodiff { Tensor::from_inner(updated) } else { updated };
        if was_autodiff && require_grad {
            updated = updated.require_grad();
        }
        Param::from_mapped_value(id, updated, mapper)
    }
}

/// The L2 norm of all gradients together (what `clip_grad_norm_` clips).
fn global_grad_norm<M: Module>(model: &M, grads: &GradientsParams) -> f64 {
    struct Norm<'a> {
        grads: &'a GradientsParams,
        sum: Option<Tensor<1>>,
    }
    impl ModuleVisitor for Norm<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.grads.get::<D>(param.id) {
                let sq = (g.clone() * g).sum();
                self.sum = Some(match self.sum.take() {
                    Some(s) => s + sq,
                    None => sq,
                });
            }
        }
    }
    let mut v = Norm { grads, sum: None };
    model.visit(&mut v);
    v.sum.map(|s| (s.into_scalar::<f32>() as f64).sqrt()).unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    fn t(v: &[f32]) -> Tensor<1> {
        Tensor::from_data(TensorData::new(v.to_vec(), [v.len()]), &Device::flex())
    }

    fn run(config: &OptimizerConfig, lr: f64, mom: f64, grads: &[[f32; 2]]) -> Vec<f32> {
        let mut state = ParamState { avg: None, sqr_avg: None, step: 0 };
        let mut p = t(&[1.0, -1.0]);
        for g in grads {
            p = update(config, &mut state, p, t(g), lr, mom, true);
        }
        p.into_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn plain_sgd_without_weight_decay_is_p_minus_lr_grad() {
        let cfg = OptimizerConfig::sgd().with_wd(0.0);
        assert_eq!(run(&cfg, 0.5, 0.0, &[[1.0, 2.0]]), vec![0.5, -2.0]);
    }

    #[test]
    fn l2_weight_decay_adds_to_the_gradient() {
        let cfg = OptimizerConfig { decouple_wd: false, ..OptimizerConfig::sgd().with_wd(0.5) };
        // g' = g + wd * p = [0 + 0.5, 0 - 0.5]; p - 1.0 * g'
        assert_eq!(run(&cfg, 1.0, 0.0, &[[0.0, 0.0]]), vec![0.5, -0.5]);
    }
}
