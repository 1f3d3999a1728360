use serde::{Deserialize, Serialize};

/// The update rule.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// fastai's `Adam`: moving averages of the gradient (dampened, weight `1 - mom`) and of its
    /// square (weight `1 - sqr_mom`), both debiased, step `lr * avg / (sqrt(sqr_avg) + eps)`.
    Adam,
    /// fastai's `SGD`: with `mom > 0`, an undampened moving average `avg = mom * avg + grad` and
    /// step `lr * avg`; with `mom = 0`, plain `lr * grad`.
    Sgd,
}

/// An optimizer with fastai's defaults: Adam, `mom` 0.9, `sqr_mom` 0.99, `eps` 1e-5, decoupled
/// weight decay 0.01 that skips biases and normalisation layers (`wd_bn_bias = False`).
///
/// ```
/// use kindling_core::optim::{OptimizerConfig, OptimizerKind};
/// let adam = OptimizerConfig::adam();
/// assert_eq!((adam.mom, adam.sqr_mom, adam.eps, adam.wd), (0.9, 0.99, 1e-5, 0.01));
/// let sgd = OptimizerConfig::sgd().with_mom(0.9);
/// assert_eq!(sgd.kind, OptimizerKind::Sgd);
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptimizerConfig {
    /// The update rule.
    pub kind: OptimizerKind,
    /// Momentum (Adam's beta1). A momentum schedule overrides it step by step.
    pub mom: f64,
    /// Adam's beta2.
    pub sqr_mom: f64,
    /// Adam's epsilon.
    pub eps: f64,
    /// Weight decay.
    pub wd: f64,
    /// Decoupled weight decay (`p *= 1 - lr * wd`, AdamW-style) rather than an L2 term in the gradient.
    pub decouple_wd: bool,
    /// Also decay biases and normalisation-layer weights (fastai's `wd_bn_bias`, default off).
    pub wd_bn_bias: bool,
    /// Clip the global gradient norm to this value before the step (fastai's `GradientClip`).
    pub clip_norm: Option<f64>,
}

impl OptimizerConfig {
    /// Adam with fastai's defaults.
    pub fn adam() -> Self {
        Self {
            kind: OptimizerKind::Adam,
            mom: 0.9,
            sqr_mom: 0.99,
            eps: 1e-5,
            wd: 0.01,
            decouple_wd: true,
            wd_bn_bias: false,
            clip_norm: None,
        }
    }

    /// SGD with fastai's defaults (no momentum, weight decay 0.01 decoupled).
    pub fn sgd() -> Self {
        Self { kind: OptimizerKind::Sgd, mom: 0.0, ..Self::adam() }
    }

    /// Sets the momentum.
    pub fn with_mom(mut self, mom: f64) -> Self {
        self.mom = mom;
        self
    }

    /// Sets the weight decay.
    pub fn with_wd(mut self, wd: f64) -> Self {
        self.wd = wd;
        self
    }

    /// Clips the global gradient norm.
    pub fn with_clip_norm(mut self, max_norm: f64) -> Self {
        self.clip_norm = Some(max_norm);
        self
    }
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        Self::adam()
    }
}
