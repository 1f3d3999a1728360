//! fastai's `tabular_learner`: the model sized from the data, the loss and metric from the task.

use burn::tensor::Device;
use kindling_core::data::DataLoaders;
use kindling_core::learner::{CrossEntropyLoss, Learner, MseLoss};
use kindling_core::metrics::{Accuracy, Rmse};
use kindling_core::optim::{OptimizerConfig, ParamGroups};
use serde::{Deserialize, Serialize};

use crate::data::{TabularBatch, TabularData};
use crate::model::{TabularModel, TabularModelConfig};
use crate::roles::TaskKind;

/// The choices `tabular_learner` leaves to the user (fastai's defaults by `Default`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TabularLearnerConfig {
    /// Hidden layer sizes.
    pub layers: Vec<usize>,
    /// Dropout after each hidden layer.
    pub ps: Vec<f64>,
    /// Dropout on the embeddings.
    pub embed_p: f64,
    /// Output range for regression.
    pub y_range: Option<(f64, f64)>,
    /// Weight decay (fastai: 0.01), decoupled as [`OptimizerConfig::adam`] applies it.
    #[serde(default = "default_wd")]
    pub wd: f64,
}

/// fastai's default weight decay.
fn default_wd() -> f64 {
    OptimizerConfig::adam().wd
}

impl Default for TabularLearnerConfig {
    fn default() -> Self {
        Self { layers: vec![200, 100], ps: Vec::new(), embed_p: 0.0, y_range: None, wd: default_wd() }
    }
}

impl TabularLearnerConfig {
    /// The settings in words, as `train` and `lr-find` print them, so that a sweep can be seen
    /// to be of the model that is trained.
    ///
    /// ```
    /// use kindling_tabular::learner::TabularLearnerConfig;
    /// assert_eq!(TabularLearnerConfig::default().describe(), "layers 200,100; dropout ps 0,0; embed_p 0; wd 0.01");
    /// ```
    pub fn describe(&self) -> String {
        let list = |v: &[String]| if v.is_empty() { "-".to_string() } else { v.join(",") };
        let layers: Vec<String> = self.layers.iter().map(|l| l.to_string()).collect();
        let ps: Vec<String> = (0..self.layers.len()).map(|i| self.ps.get(i).copied().unwrap_or(0.0).to_string()).collect();
        let mut s = format!("layers {}; dropout ps {}; embed_p {}; wd {}", list(&layers), list(&ps), self.embed_p, self.wd);
        if let Some((lo, hi)) = self.y_range {
            s += &format!("; y_range {lo},{hi}");
        }
        s
    }
}

/// The model configuration for `data`.
pub fn model_config(data: &TabularData, cfg: &TabularLearnerConfig) -> TabularModelConfig {
    let out_sz = match data.procs.roles.kind {
        TaskKind::Classification => data.procs.classes.len(),
        TaskKind::Regression => 1,
    };
    TabularModelConfig {
        layers: cfg.layers.clone(),
        ps: cfg.ps.clone(),
        embed_p: cfg.embed_p,
        y_range: cfg.y_range,
        ..TabularModelConfig::new(&data.procs.cardinalities(), data.procs.roles.cont.len(), out_sz)
    }
}

/// A learner for `data`: cross-entropy and accuracy for classification, MSE and RMSE for
/// regression, Adam with fastai's defaults and `cfg.wd` (decoupled). The model is initialised
/// from `device`'s seed.
pub fn tabular_learner(
    data: &TabularData,
    dls: &DataLoaders<usize, TabularBatch>,
    cfg: &TabularLearnerConfig,
    device: &Device,
) -> (Learner<TabularModel, TabularBatch>, TabularModelConfig) {
    let mc = model_config(data, cfg);
    let model = mc.init(device);
    let learner = match data.procs.roles.kind {
        TaskKind::Classification => Learner::new(model, dls, CrossEntropyLoss).with_metrics(vec![Box::new(Accuracy::default())]),
        TaskKind::Regression => Learner::new(model, dls, MseLoss).with_metrics(vec![Box::new(Rmse::default())]),
    };
    (learner.with_optimizer(OptimizerConfig::adam().with_wd(cfg.wd), ParamGroups::single()), mc)
}
