//! Batches of equally sized images and their masks: normalised pixels `[batch, channels, h, w]`
//! and the masks flattened to one class id per pixel, the target of fastai's flattened
//! per-pixel loss.

use burn::tensor::{Device, Int, Tensor, TensorData};
use kindling_core::data::Batcher;
use kindling_core::learner::{Batch, Target};
use kindling_core::{Error, Result};
use kindling_vision::data::{Image, Normalize};

use super::mask::Mask;

/// Images and masks of one batch.
#[derive(Clone, Debug)]
pub struct SegBatch {
    /// Normalised pixels `[batch, channels, h, w]`.
    pub images: Tensor<4>,
    /// Class ids `[batch · h · w]`, image by image, row-major within an image.
    pub masks: Tensor<1, Int>,
}

impl Batch for SegBatch {
    fn target(&self) -> Target {
        Target::Classes(self.masks.clone())
    }
}

/// Stacks `(image, mask)` items into a [`SegBatch`].
#[derive(Clone, Debug)]
pub struct SegBatcher {
    /// Normalisation of every pixel.
    pub normalize: Normalize,
}

impl Batcher<(Image, Mask), SegBatch> for SegBatcher {
    fn batch(&self, items: Vec<(Image, Mask)>, device: &Device) -> Result<SegBatch> {
        let first = items.first().ok_or_else(|| Error::Data("an empty batch".into()))?;
        let (c, h, w) = (first.0.channels, first.0.height, first.0.width);
        let mut pixels = Vec::with_capacity(items.len() * c * h * w);
        let mut ids = Vec::with_capacity(items.len() * h * w);
        for (k, (img, mask)) in items.iter().enumerate() {
            if (img.channels, img.height, img.width) != (c, h, w) || (mask.height, mask.width) != (h, w) {
                return Err(Error::Data(format!(
                    "item {k} of the batch is a {}×{}×{} image with a {}×{} mask, the first is {c}×{h}×{w}: give --size to resize them to one size",
                    img.channels, img.height, img.width, mask.height, mask.width
                )));
            }
            pixels.extend(self.normalize.apply(img));
            ids.extend(mask.data.iter().map(|&v| v as i64));
        }
        let n = items.len();
        Ok(SegBatch {
            images: Tensor::from_data(TensorData::new(pixels, [n, c, h, w]), device),
            masks: Tensor::from_data(TensorData::new(ids, [n * h * w]), device),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_flatten_masks_image_by_image() {
        let img = |v: f32| Image { channels: 1, height: 1, width: 2, data: vec![v, v] };
        let b = SegBatcher { normalize: Normalize { mean: vec![0.0], std: vec![1.0] } };
        let items = vec![(img(0.25), Mask { height: 1, width: 2, data: vec![1, 2] }), (img(0.5), Mask { height: 1, width: 2, data: vec![3, 0] })];
        let batch = b.batch(items, &Device::flex()).unwrap();
        assert_eq!(batch.images.dims(), [2, 1, 1, 2]);
        let ids: Vec<i64> = batch.masks.into_data().convert::<i64>().try_into_vec().unwrap();
        assert_eq!(ids, vec![1, 2, 3, 0]);
        let bad = vec![(img(0.0), Mask { height: 1, width: 2, data: vec![0, 0] }), (img(0.0), Mask { height: 2, width: 1, data: vec![0, 0] })];
        assert!(b.batch(bad, &Device::flex()).unwrap_err().to_string().contains("--size"));
    }
}
