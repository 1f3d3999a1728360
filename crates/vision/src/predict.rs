//! Exporting a trained image classifier with its preprocessing, and predicting images with it.

use std::path::Path;

use burn::module::Module;
use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor};
use kindling_core::data::Batcher;
use kindling_core::export::{self, ModelHeader, SplitRecord};
use kindling_core::{Error, Result};

use crate::data::ImageBatcher;
use crate::data::dataset::{Preprocessing, load};
use crate::data::decode::DecodeOptions;
use crate::data::sources::Source;
use crate::data::resize::ResizeMethod;
use crate::learner::{VisionModel, VisionModelConfig};
use crate::models::{ARCH_NAMES, ArchConfig};

/// The task name in the model header.
pub const TASK: &str = "vision";

/// Writes the model, its preprocessing, its classes and the record of the split it was trained
/// and measured on (for `interpret` to rebuild and verify) to one file.
pub fn export_vision(
    path: &Path,
    model: &VisionModel,
    config: &VisionModelConfig,
    pre: &Preprocessing,
    classes: &[String],
    split: Option<SplitRecord>,
) -> Result<()> {
    export::export_task(path, model, TASK, config, pre, classes.to_vec(), split)
}

/// The header [`export_vision`] writes for a model of `config` on images prepared by `pre`:
/// what `train --from` checks a model file against. The image size, resize method and
/// channels must match ([`FITTED`]); normalisation statistics may move a little with the data
/// (a cleaned data set).
pub fn vision_header(config: &VisionModelConfig, pre: &Preprocessing, classes: &[String]) -> Result<ModelHeader> {
    export::task_header(TASK, config, pre, classes.to_vec())
}

/// The preprocessing keys that give a vision model's weights their meaning.
pub const FITTED: [&str; 3] = ["size", "method", "channels"];

/// A loaded image classifier.
pub struct VisionPredictor {
    /// Preprocessing from training.
    pub pre: Preprocessing,
    /// Class names.
    pub classes: Vec<String>,
    /// What made the split the model was trained and measured on (`None` for pretrained
    /// weights, and for files written before kindling recorded it).
    pub split: Option<SplitRecord>,
    model: VisionModel,
    device: Device,
}

impl VisionPredictor {
    /// Loads a model file written by [`export_vision`], after checking its header against its
    /// tensors ([`crate::check`]): an edited or damaged file is an error naming the file and the
    /// field at fault.
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        let f = export::open::<VisionModelConfig, Preprocessing>(path, TASK, "an image classifier")?;
        let model = export::load(path, f.arch.init(device), f.bytes)?.valid();
        Ok(Self { pre: f.preprocessing, classes: f.classes, split: f.split, model, device: device.clone() })
    }

    /// A classifier straight from pretrained ImageNet weights (`efficientnet-lite0`, or a
    /// torchvision ResNet), with `classes` naming its outputs and the preprocessing the weights
    /// were trained with: the shorter side scaled to 256, the centre 224 square, and
    /// `(pixel - 127) / 128` for EfficientNet-Lite, ImageNet's statistics for ResNets.
    pub fn from_pretrained(arch: &str, weights: &Path, classes: Vec<String>, device: &Device) -> Result<Self> {
        let config = ArchConfig::by_name(arch, 3, classes.len())
            .ok_or_else(|| Error::invalid("--arch", format!("'{arch}' is not one of {}", ARCH_NAMES.join(", "))))?;
        let normalize = config.pretrained_normalize();
        let body = config.init(device).load_pretrained(weights, false)?;
        let model = VisionModel { body, head: None }.valid();
        let pre = Preprocessing { size: 224, method: ResizeMethod::ResizeCrop, channels: 3, normalize };
        Ok(Self { pre, classes, split: None, model, device: device.clone() })
    }

    /// The network, in inference mode.
    pub fn model(&self) -> &VisionModel {
        &self.model
    }

    /// Class probabilities of one image file.
    pub fn predict_file(&self, path: &Path) -> Result<Vec<f32>> {
        host(softmax(self.forward_file(path)?, 1))
    }

    /// The raw outputs (logits) for one image file.
    pub fn logits_file(&self, path: &Path) -> Result<Vec<f32>> {
        host(self.forward_file(path)?)
    }

    /// One image file decoded, prepared and batched as validation images are, through the model.
    fn forward_file(&self, path: &Path) -> Result<Tensor<2>> {
        let img = load(&Source::File(path.to_path_buf()), DecodeOptions { channels: self.pre.channels, ..DecodeOptions::default() })?;
        let batcher = ImageBatcher { normalize: self.pre.normalize.clone() };
        let batch = batcher.batch(vec![(self.pre.prepare(&img), 0)], &self.device)?;
        Ok(self.model.forward(batch.images))
    }

    /// The `k` most likely classes of one image, with their probabilities.
    pub fn top_k(&self, path: &Path, k: usize) -> Result<Vec<(String, f32)>> {
        let probs = self.predict_file(path)?;
        let mut order: Vec<usize> = (0..probs.len()).collect();
        order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
        Ok(order.into_iter().take(k).map(|i| (self.classes.get(i).cloned().unwrap_or_else(|| i.to_string()), probs[i])).collect())
    }
}

fn host(t: Tensor<2>) -> Result<Vec<f32>> {
    t.into_data().convert::<f32>().try_into_vec::<f32>().map_err(|e| Error::Data(format!("{e:?}")))
}
