//! fastai's `unet_learner`: a [`DynamicUnet`] on the data's loaders, trained with the flattened
//! per-pixel cross-entropy (void ignored) and the segmentation metrics, with the encoder and the
//! decoder as two parameter groups so that `freeze` and `fine_tune` work as for vision.
//!
//! fastai splits a ResNet U-Net into three groups (the encoder's first half, its second half,
//! the decoder); kindling uses two (encoder, decoder), as kindling-vision does for its
//! classifiers: frozen training is the same, and `fine_tune`'s discriminative rates span the
//! same range with one step fewer.

use std::path::Path;

use burn::tensor::{Device, Tensor};
use kindling_core::Result;
use kindling_core::data::DataLoaders;
use kindling_core::learner::{Learner, TaskModel};
use kindling_core::optim::{OptimizerConfig, ParamGroups};
use kindling_vision::data::Image;

use crate::data::{Codes, Mask, SegBatch};
use crate::loss::SegCrossEntropy;
use crate::metrics::segmentation_metrics;
use crate::model::{DynamicUnet, UnetConfig};

/// Class scores `[batch, classes, h, w]` as one row per pixel, `[batch · h · w, classes]`, in
/// the order of [`SegBatch::masks`].
pub fn flatten_scores(scores: Tensor<4>) -> Tensor<2> {
    let [b, c, h, w] = scores.dims();
    scores.permute([0, 2, 3, 1]).reshape([b * h * w, c])
}

impl TaskModel<SegBatch> for DynamicUnet {
    fn forward_batch(&self, batch: &SegBatch) -> Tensor<2> {
        flatten_scores(self.forward(batch.images.clone()))
    }
}

/// A learner for `config` on `dls`: the encoder's weights come from `pretrained` (a
/// torchvision checkpoint for a ResNet, an `efficientnet_pytorch`-layout file for an
/// EfficientNet) when given, and then the encoder is frozen, as fastai's
/// `unet_learner` does; loss and metrics know `codes`' void class.
pub fn unet_learner(
    config: &UnetConfig,
    pretrained: Option<&Path>,
    dls: &DataLoaders<(Image, Mask), SegBatch>,
    codes: &Codes,
    device: &Device,
) -> Result<Learner<DynamicUnet, SegBatch>> {
    let mut model = config.init(device);
    if let Some(path) = pretrained {
        model.encoder = model.encoder.load_pretrained(path, true)?;
    }
    let mut learn = Learner::new(model, dls, SegCrossEntropy { void: codes.void })
        .with_optimizer(OptimizerConfig::adam(), ParamGroups::by_prefix(&["encoder"]))
        .with_metrics(segmentation_metrics(codes.len(), codes.void, codes.background()));
    if pretrained.is_some() {
        learn.freeze();
    }
    Ok(learn)
}
