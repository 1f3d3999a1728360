//! Batches of equally sized images, normalised per channel.

use burn::tensor::{Device, Int, Tensor, TensorData};
use kindling_core::data::Batcher;
use kindling_core::learner::{Batch, Target};
use kindling_core::{Error, Result};
use serde::{Deserialize, Serialize};

use super::decode::Image;

/// Images `[batch, channels, h, w]` and class indices.
#[derive(Clone, Debug)]
pub struct ImageBatch {
    /// Normalised pixels.
    pub images: Tensor<4>,
    /// Class indices.
    pub y: Target,
}

impl Batch for ImageBatch {
    fn target(&self) -> Target {
        self.y.clone()
    }
}

/// Per-channel normalisation statistics.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Normalize {
    /// Channel means.
    pub mean: Vec<f32>,
    /// Channel standard deviations.
    pub std: Vec<f32>,
}

impl Normalize {
    /// ImageNet's statistics (for pretrained models).
    pub fn imagenet() -> Self {
        Self { mean: vec![0.485, 0.456, 0.406], std: vec![0.229, 0.224, 0.225] }
    }

    /// The statistics of `images` (all pixels of each channel).
    pub fn from_images<'a>(images: impl Iterator<Item = &'a Image>, channels: usize) -> Self {
        let (mut sum, mut sq, mut n) = (vec![0f64; channels], vec![0f64; channels], 0f64);
        for img in images {
            let hw = img.height * img.width;
            for c in 0..channels.min(img.channels) {
                for &v in &img.data[c * hw..(c + 1) * hw] {
                    sum[c] += v as f64;
                    sq[c] += (v as f64) * (v as f64);
                }
            }
            n += hw as f64;
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / n.max(1.0)).collect();
        let std = sq.iter().zip(&mean).map(|(s, m)| ((s / n.max(1.0) - m * m).max(0.0).sqrt().max(1e-6)) as f32).collect();
        Self { mean: mean.into_iter().map(|m| m as f32).collect(), std }
    }
}

/// Stacks `(image, class)` items into a normalised batch.
#[derive(Clone, Debug)]
pub struct ImageBatcher {
    /// Normalisation applied to every pixel.
    pub normalize: Normalize,
}

impl Batcher<(Image, usize), ImageBatch> for ImageBatcher {
    fn batch(&self, items: Vec<(Image, usize)>, device: &Device) -> Result<ImageBatch> {
        let first = items.first().ok_or_else(|| Error::Data("an empty batch".into()))?;
        let (c, h, w) = (first.0.channels, first.0.height, first.0.width);
        let mut data = Vec::with_capacity(items.len() * c * h * w);
        let mut ys = Vec::with_capacity(items.len());
        for (k, (img, y)) in items.iter().enumerate() {
            if (img.channels, img.height, img.width) != (c, h, w) {
                return Err(Error::Data(format!(
                    "image {k} of the batch is {}×{}×{}, the first is {c}×{h}×{w}: resize images to one size",
                    img.channels, img.height, img.width
                )));
            }
            for ch in 0..c {
                let (m, s) = (self.normalize.mean[ch % self.normalize.mean.len()], self.normalize.std[ch % self.normalize.std.len()]);
                data.extend(img.data[ch * h * w..(ch + 1) * h * w].iter().map(|v| (v - m) / s));
            }
            ys.push(*y as i64);
        }
        let n = items.len();
        Ok(ImageBatch {
            images: Tensor::from_data(TensorData::new(data, [n, c, h, w]), device),
            y: Target::Classes(Tensor::<1, Int>::from_data(TensorData::new(ys, [n]), device)),
        })
    }
}
