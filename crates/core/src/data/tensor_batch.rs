//! The simplest batch: a matrix of features and its targets, and the batchers that build it
//! from `(features, class)` or `(features, values)` items.

use burn::tensor::{Device, Int, Tensor, TensorData};

use super::loader::Batcher;
use crate::error::{Error, Result};
use crate::learner::{Batch, Target};

/// Dense features `[batch, n_features]` and their targets.
#[derive(Clone, Debug)]
pub struct TensorBatch {
    /// Features.
    pub x: Tensor<2>,
    /// Targets.
    pub y: Target,
}

impl Batch for TensorBatch {
    fn target(&self) -> Target {
        self.y.clone()
    }
}

fn features(items: &[Vec<f32>], device: &Device) -> Result<Tensor<2>> {
    let width = items.first().map_or(0, Vec::len);
    if let Some((i, bad)) = items.iter().enumerate().find(|(_, v)| v.len() != width) {
        return Err(Error::Data(format!("item {i} of the batch has {} features, the first has {width}", bad.len())));
    }
    let flat: Vec<f32> = items.iter().flatten().copied().collect();
    Ok(Tensor::from_data(TensorData::new(flat, [items.len(), width]), device))
}

/// Batches `(features, class index)` items for classification.
///
/// ```
/// use burn::tensor::Device;
/// use kindling_core::data::{Batcher, tensor_batch::ClassBatcher};
/// let b = ClassBatcher.batch(vec![(vec![0.0, 1.0], 1), (vec![2.0, 3.0], 0)], &Device::flex()).unwrap();
/// assert_eq!(b.x.dims(), [2, 2]);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct ClassBatcher;

impl Batcher<(Vec<f32>, usize), TensorBatch> for ClassBatcher {
    fn batch(&self, items: Vec<(Vec<f32>, usize)>, device: &Device) -> Result<TensorBatch> {
        let (xs, ys): (Vec<Vec<f32>>, Vec<usize>) = items.into_iter().unzip();
        let n = ys.len();
        let y = Tensor::<1, Int>::from_data(TensorData::new(ys.into_iter().map(|c| c as i64).collect::<Vec<_>>(), [n]), device);
        Ok(TensorBatch { x: features(&xs, device)?, y: Target::Classes(y) })
    }
}

/// Batches `(features, values)` items for regression.
#[derive(Clone, Copy, Debug, Default)]
pub struct ValueBatcher;

impl Batcher<(Vec<f32>, Vec<f32>), TensorBatch> for ValueBatcher {
    fn batch(&self, items: Vec<(Vec<f32>, Vec<f32>)>, device: &Device) -> Result<TensorBatch> {
        let (xs, ys): (Vec<Vec<f32>>, Vec<Vec<f32>>) = items.into_iter().unzip();
        Ok(TensorBatch { x: features(&xs, device)?, y: Target::Values(features(&ys, device)?) })
    }
}
