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

    /// `(v - mean) / std` of every pixel of `img`, channel by channel (`[c][y][x]`).
    pub fn apply<'a>(&'a self, img: &'a Image) -> impl Iterator<Item = f32> + 'a {
        let hw = (img.height * img.width).max(1);
        img.data.iter().enumerate().map(move |(i, v)| {
            let ch = i / hw;
            (v - self.mean[ch % self.mean.len()]) / self.std[ch % self.std.len()]
        })
    }

    /// The inverse of [`Normalize::apply`]: pixels back in `[0, 1]` from normalised values
    /// laid out as `channels × hw`.
    pub fn undo(&self, values: &[f32], hw: usize) -> Vec<f32> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let ch = i / hw.max(1);
                v * self.std[ch % self.std.len()] + self.mean[ch % self.mean.len()]
            })
            .collect()
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
            data.extend(self.normalize.apply(img));
            ys.push(*y as i64);
        }
        let n = items.len();
        Ok(ImageBatch {
            images: Tensor::from_data(TensorData::new(data, [n, c, h, w]), device),
            y: Target::Classes(Tensor::<1, Int>::from_data(TensorData::new(ys, [n]), device)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undo_inverts_apply_per_channel() {
        let img = Image { channels: 3, height: 1, width: 2, data: vec![0.0, 1.0, 0.5, 0.25, 0.9, 0.1] };
        let n = Normalize::imagenet();
        let normed: Vec<f32> = n.apply(&img).collect();
        assert!((normed[2] - (0.5 - 0.456) / 0.224).abs() < 1e-6, "channel 1 uses its own statistics");
        let back = n.undo(&normed, 2);
        assert!(back.iter().zip(&img.data).all(|(a, b)| (a - b).abs() < 1e-6), "{back:?}");
    }
}
