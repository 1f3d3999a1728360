//! fastai's `vision_learner` (a pretrained body cut before its pooling, and fastai's head, as
//! two parameter groups) and the plain from-scratch model fastai's `Learner` trains.

use std::path::Path;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use kindling_core::data::DataLoaders;
use kindling_core::learner::{Learner, TaskModel};
use kindling_core::metrics::{Accuracy, ErrorRate};
use kindling_core::optim::{OptimizerConfig, ParamGroups};
use kindling_core::Result;
use serde::{Deserialize, Serialize};

use crate::data::ImageBatch;
use crate::head::{Head, HeadConfig};
use crate::loss::LabelSmoothingCrossEntropy;
use crate::models::{ArchConfig, Body};

/// A model's architecture; stored in exported models.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VisionModelConfig {
    /// The network (with its own classifier when there is no head).
    pub body: ArchConfig,
    /// fastai's head on the body's features (transfer learning).
    pub head: Option<HeadConfig>,
}

impl VisionModelConfig {
    /// A from-scratch network: the architecture with its own final layer for `n_classes`.
    pub fn scratch(arch: impl Into<ArchConfig>) -> Self {
        Self { body: arch.into(), head: None }
    }

    /// `vision_learner`'s shape: the body without its final layer, and fastai's head.
    pub fn transfer(arch: impl Into<ArchConfig>, n_classes: usize) -> Self {
        let arch = arch.into();
        let head = HeadConfig::new(arch.n_features(), n_classes);
        Self { body: arch.without_classifier(), head: Some(head) }
    }

    /// The model, freshly initialised.
    pub fn init(&self, device: &Device) -> VisionModel {
        VisionModel { body: self.body.init(device), head: self.head.as_ref().map(|h| h.init(device)) }
    }
}

/// A network, and fastai's head on it when fine-tuning.
#[derive(Module, Debug)]
pub struct VisionModel {
    /// The network (parameter group 0 when there is a head).
    pub body: Body,
    /// The head (parameter group 1).
    pub head: Option<Head>,
}

impl VisionModel {
    /// Logits for normalised images `[batch, channels, h, w]`.
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        match &self.head {
            Some(h) => h.forward(self.body.forward_features(images)),
            None => self.body.forward(images),
        }
    }
}

impl TaskModel<ImageBatch> for VisionModel {
    fn forward_batch(&self, batch: &ImageBatch) -> Tensor<2> {
        self.forward(batch.images.clone())
    }
}

/// What `vision_learner` takes besides the model and data: fastai's `wd` and the loss.
#[derive(Clone, Debug, PartialEq)]
pub struct LearnerOptions {
    /// Weight decay, decoupled (fastai's default for Adam: 0.01).
    pub wd: f64,
    /// Label smoothing's `eps` (0: plain cross-entropy). The loss also takes MixUp's soft
    /// targets, whatever `eps`.
    pub label_smoothing: f64,
}

impl Default for LearnerOptions {
    fn default() -> Self {
        Self { wd: 0.01, label_smoothing: 0.0 }
    }
}

/// A learner for `config`: with a head, the body's weights come from `pretrained` (a torchvision
/// checkpoint) when given, and the body and head are two parameter groups, so `freeze` and
/// `fine_tune` work as in fastai; metrics are accuracy and error rate. fastai's defaults:
/// Adam with weight decay 0.01, cross-entropy.
pub fn vision_learner(
    config: &VisionModelConfig,
    pretrained: Option<&Path>,
    dls: &DataLoaders<(crate::data::Image, usize), ImageBatch>,
    device: &Device,
) -> Result<Learner<VisionModel, ImageBatch>> {
    vision_learner_with(config, pretrained, dls, device, &LearnerOptions::default())
}

/// [`vision_learner`] with its weight decay and loss set by `opts` (the loss is
/// [`LabelSmoothingCrossEntropy`], which also takes the soft targets of MixUp batches).
pub fn vision_learner_with(
    config: &VisionModelConfig,
    pretrained: Option<&Path>,
    dls: &DataLoaders<(crate::data::Image, usize), ImageBatch>,
    device: &Device,
    opts: &LearnerOptions,
) -> Result<Learner<VisionModel, ImageBatch>> {
    let mut model = config.init(device);
    if let Some(path) = pretrained {
        model.body = model.body.load_pretrained(path, true)?;
    }
    let groups = if config.head.is_some() { ParamGroups::by_prefix(&["body"]) } else { ParamGroups::single() };
    Ok(Learner::new(model, dls, LabelSmoothingCrossEntropy::new(opts.label_smoothing))
        .with_optimizer(OptimizerConfig::adam().with_wd(opts.wd), groups)
        .with_metrics(vec![Box::new(Accuracy::default()), Box::new(ErrorRate::default())]))
}
