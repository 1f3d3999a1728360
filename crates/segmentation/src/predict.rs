//! Exporting a trained U-Net with its codes and preprocessing, checking such a file's header
//! against its tensors, and predicting masks with it: `STEM_mask.png` (class ids) and
//! `STEM_overlay.png` (the image with the classes painted over it, for a person to look at).

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use kindling_core::data::Batcher;
use kindling_core::export::{self, Fault, HeaderCheck, ModelHeader, SplitRecord, TensorShapes};
use kindling_core::{Error, Result};
use kindling_vision::data::Image;

use crate::data::resize::{resize_image, resize_mask};
use crate::data::{Codes, Mask, SegBatcher, SegPreprocessing};
use crate::model::encoder::EncoderConfig;
use crate::model::{DynamicUnet, UnetConfig};

/// The task name in the model header.
pub const TASK: &str = "segmentation";

/// The largest image side a model file may declare (a guard on sizes read from a file).
pub const MAX_SIDE: usize = 16_384;

/// Writes the model, its preprocessing, codes and split to one file.
pub fn export_segmentation(path: &Path, model: &DynamicUnet, config: &UnetConfig, pre: &SegPreprocessing, codes: &Codes, split: Option<SplitRecord>) -> Result<()> {
    export::export_task(path, model, TASK, config, pre, codes.names.clone(), split)
}

/// The header [`export_segmentation`] writes for a model of `config` on data prepared by `pre`:
/// what `train --from` checks a model file against ([`FITTED`] must match; normalisation
/// statistics may move a little with the data).
pub fn segmentation_header(config: &UnetConfig, pre: &SegPreprocessing, codes: &Codes) -> Result<ModelHeader> {
    export::task_header(TASK, config, pre, codes.names.clone())
}

/// The preprocessing keys that give a segmentation model's weights their meaning.
pub const FITTED: [&str; 4] = ["size", "channels", "void", "binary"];

impl HeaderCheck<UnetConfig> for SegPreprocessing {
    fn check(&self, arch: &UnetConfig, classes: &[String], t: &TensorShapes) -> std::result::Result<(), Fault> {
        if !(2..=256).contains(&classes.len()) {
            return Err(Fault::new("classes", format!("{} classes: a segmentation model has 2 to 256", classes.len())));
        }
        Fault::len("classes", classes.len(), arch.n_out, "the model's outputs (arch.n_out)")?;
        if let Some(v) = self.void {
            if v >= classes.len() {
                return Err(Fault::new("preprocessing.void", format!("class {v} does not exist ({} classes)", classes.len())));
            }
        }
        if self.channels != 1 && self.channels != 3 {
            return Err(Fault::new("preprocessing.channels", format!("{}: images are read with 1 or 3 channels", self.channels)));
        }
        Fault::len("preprocessing.normalize.mean", self.normalize.mean.len(), self.channels, "the channels")?;
        Fault::len("preprocessing.normalize.std", self.normalize.std.len(), self.channels, "the channels")?;
        if self.normalize.std.iter().chain(&self.normalize.mean).any(|v| !v.is_finite()) || self.normalize.std.iter().any(|v| *v <= 0.0) {
            return Err(Fault::new("preprocessing.normalize", "statistics must be finite, with positive standard deviations"));
        }
        if self.size != arch.img_size {
            return Err(Fault::new("preprocessing.size", format!("{:?}, but the model was built for {:?} (arch.img_size)", self.size, arch.img_size)));
        }
        if self.size.iter().any(|&s| s == 0 || s > MAX_SIDE) {
            return Err(Fault::new("preprocessing.size", format!("{:?}: each side must be 1 to {MAX_SIDE}", self.size)));
        }
        arch.encoder.check_tensors(self.channels, t)?;
        let plan = arch.plan();
        let under = |p: &str| t.under(p).count();
        if under("blocks.") == 0 && !plan.blocks.is_empty() || t.dims(&format!("blocks.{}.conv2.conv.weight", plan.blocks.len())).is_ok() {
            return Err(Fault::new("arch.img_size", format!("gives {} decoder blocks, which the file does not hold", plan.blocks.len())));
        }
        for (i, b) in plan.blocks.iter().enumerate() {
            let ni = b.up_in_c / 2 + b.x_in_c;
            t.expect(&format!("blocks.{i}.conv1.conv.weight"), &[b.n_out, ni, 3, 3], "arch.img_size")?;
            if b.attention != (under(&format!("blocks.{i}.attn.")) > 0) {
                return Err(Fault::new("arch.self_attention", format!("disagrees with the file on the attention of decoder block {i}")));
            }
        }
        if plan.final_shuffle.is_some() != (under("shuf.") > 0) {
            return Err(Fault::new("arch.img_size", "disagrees with the file on the final pixel shuffle"));
        }
        if plan.res_block.is_some() != (under("res.") > 0) {
            return Err(Fault::new("arch.last_cross", "disagrees with the file on the final ResBlock"));
        }
        t.expect("head.conv.weight", &[arch.n_out, plan.head_in, 1, 1], "arch.n_out")?;
        Ok(())
    }
}

/// One image's prediction.
#[derive(Clone, Debug)]
pub struct SegPrediction {
    /// The image as decoded (its own size).
    pub image: Image,
    /// The predicted class of every pixel, at the image's own size.
    pub mask: Mask,
}

impl SegPrediction {
    /// The share of pixels of each class.
    pub fn proportions(&self, n_classes: usize) -> Vec<f64> {
        let mut counts = vec![0usize; n_classes];
        for &v in &self.mask.data {
            if let Some(c) = counts.get_mut(v as usize) {
                *c += 1;
            }
        }
        let n = self.mask.data.len().max(1) as f64;
        counts.into_iter().map(|c| c as f64 / n).collect()
    }
}

/// A loaded segmentation model.
pub struct SegPredictor {
    /// Preprocessing from training.
    pub pre: SegPreprocessing,
    /// The architecture.
    pub config: UnetConfig,
    /// Class names and void.
    pub codes: Codes,
    /// The train/valid split the model was trained and measured on, when the file records it.
    pub split: Option<SplitRecord>,
    model: DynamicUnet,
    device: Device,
}

impl SegPredictor {
    /// Loads a model file written by [`export_segmentation`], checked first.
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        let f = export::open::<UnetConfig, SegPreprocessing>(path, TASK, "a segmentation model")?;
        let model = export::load(path, f.arch.init(device), f.bytes)?.valid();
        let codes = Codes { names: f.classes, void: f.preprocessing.void };
        Ok(Self { pre: f.preprocessing, config: f.arch, codes, split: f.split, model, device: device.clone() })
    }

    /// The network, in inference mode.
    pub fn model(&self) -> &DynamicUnet {
        &self.model
    }

    /// Class scores `[1, classes, h, w]` at the model's size for a decoded image (resized to the
    /// model's size and normalised as in training).
    pub fn scores(&self, img: &Image) -> Result<Tensor<4>> {
        let sized = resize_image(img, self.pre.size);
        let [h, w] = self.pre.size;
        let batcher = SegBatcher { normalize: self.pre.normalize.clone() };
        let batch = batcher.batch(vec![(sized, Mask { height: h, width: w, data: vec![0; h * w] })], &self.device)?;
        Ok(self.model.forward(batch.images))
    }

    /// The predicted mask of one image file, at the image's own size.
    pub fn predict_file(&self, path: &Path) -> Result<SegPrediction> {
        let image = self.pre.load_image(path)?;
        let scores = self.scores(&image)?;
        let [_, _, h, w] = scores.dims();
        let ids: Vec<i64> = scores.argmax(1).into_data().convert::<i64>().try_into_vec::<i64>().map_err(|e| Error::Data(format!("{e:?}")))?;
        let mask = Mask { height: h, width: w, data: ids.into_iter().map(|v| v as u8).collect() };
        let mask = resize_mask(&mask, [image.height, image.width]);
        Ok(SegPrediction { image, mask })
    }
}

/// A colour for class `c` (the background class is never painted).
pub fn class_colour(c: usize) -> [u8; 3] {
    const PALETTE: [[u8; 3]; 12] = [
        [128, 64, 128],
        [230, 25, 75],
        [60, 180, 75],
        [255, 225, 25],
        [0, 130, 200],
        [245, 130, 48],
        [145, 30, 180],
        [70, 240, 240],
        [240, 50, 230],
        [210, 245, 60],
        [250, 190, 212],
        [0, 128, 128],
    ];
    if c < PALETTE.len() {
        PALETTE[c]
    } else {
        // Further classes: spread around the hue circle by the golden ratio.
        let h = (c as f64 * 0.618_033_988_75).fract() * 6.0;
        let x = (1.0 - (h % 2.0 - 1.0).abs()) * 255.0;
        let rgb = match h as usize {
            0 => [255.0, x, 0.0],
            1 => [x, 255.0, 0.0],
            2 => [0.0, 255.0, x],
            3 => [0.0, x, 255.0],
            4 => [x, 0.0, 255.0],
            _ => [255.0, 0.0, x],
        };
        rgb.map(|v| v as u8)
    }
}

/// The image with every pixel of a class other than `background` tinted with its colour (half
/// opacity), as 8-bit RGB.
pub fn overlay(image: &Image, mask: &Mask, background: usize) -> Vec<u8> {
    let hw = image.height * image.width;
    let mut rgb = Vec::with_capacity(hw * 3);
    for i in 0..hw {
        let px = |c: usize| image.data[(c % image.channels) * hw + i].clamp(0.0, 1.0) * 255.0;
        let class = mask.data[i] as usize;
        let colour = class_colour(class);
        for c in 0..3 {
            let v = if class == background { px(c) } else { 0.5 * px(c) + 0.5 * colour[c] as f32 };
            rgb.push(v.round() as u8);
        }
    }
    rgb
}

/// Writes `STEM_mask.png` and `STEM_overlay.png` for the image at `path` into `out`; returns
/// both paths.
pub fn write_prediction(out: &Path, path: &Path, p: &SegPrediction, codes: &Codes) -> Result<(PathBuf, PathBuf)> {
    let stem = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_else(|| "image".into());
    let mask_path = out.join(format!("{stem}_mask.png"));
    crate::data::mask::write_mask(&mask_path, &p.mask)?;
    let overlay_path = out.join(format!("{stem}_overlay.png"));
    let rgb = overlay(&p.image, &p.mask, codes.void.unwrap_or(0));
    kindling_core::plot::save_rgb_png(&overlay_path, &rgb, p.image.width as u32, p.image.height as u32)?;
    Ok((mask_path, overlay_path))
}
