//! fastai's `CrossEntropyLossFlat(axis=1)` for segmentation: cross-entropy over every pixel
//! (predictions flattened to `[pixels, classes]`), with the void class ignored — a void pixel
//! has no loss and does not count in the mean of a training batch. (The Learner's validation
//! loss averages [`Loss::per_item`] over every pixel, so with a void class it is the mean over
//! all pixels with void ones counting 0; the metrics leave void pixels out entirely.)

use burn::tensor::activation::{log_softmax, softmax};
use burn::tensor::{Int, Tensor};
use kindling_core::learner::{Loss, Target};

/// Per-pixel cross-entropy with an optional ignored class.
#[derive(Clone, Copy, Debug, Default)]
pub struct SegCrossEntropy {
    /// The class whose pixels are ignored.
    pub void: Option<usize>,
}

impl SegCrossEntropy {
    fn classes(target: &Target) -> &Tensor<1, Int> {
        match target {
            Target::Classes(c) => c,
            Target::Values(_) => panic!("segmentation needs class-id targets"),
        }
    }

    /// 1 for the pixels that count, 0 for void ones.
    fn keep(&self, classes: &Tensor<1, Int>) -> Option<Tensor<1>> {
        self.void.map(|v| classes.clone().not_equal_elem(v as i64).float())
    }
}

impl Loss for SegCrossEntropy {
    fn name(&self) -> &'static str {
        "CrossEntropyLossFlat"
    }
    fn per_item(&self, preds: Tensor<2>, target: &Target) -> Tensor<1> {
        let classes = Self::classes(target);
        let n = classes.dims()[0];
        let loss = log_softmax(preds, 1).gather(1, classes.clone().reshape([n, 1])).reshape([n]).neg();
        match self.keep(classes) {
            Some(k) => loss * k,
            None => loss,
        }
    }
    fn mean(&self, preds: Tensor<2>, target: &Target) -> Tensor<1> {
        let classes = Self::classes(target);
        match self.keep(classes) {
            Some(k) => {
                let n = k.clone().sum().clamp_min(1.0);
                self.per_item(preds, target).sum() / n
            }
            None => self.per_item(preds, target).mean(),
        }
    }
    fn activation(&self, preds: Tensor<2>) -> Tensor<2> {
        softmax(preds, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn void_pixels_have_no_loss_and_do_not_count() {
        let d = Device::flex();
        let preds = Tensor::<2>::from_data(TensorData::new(vec![0.0f32, 0.0, 2.0, 0.0, 5.0, -5.0], [3, 2]), &d);
        let t = Target::Classes(Tensor::<1, Int>::from_data(TensorData::new(vec![1i64, 0, 1], [3]), &d));
        let plain: Vec<f32> = SegCrossEntropy::default().per_item(preds.clone(), &t).into_data().convert::<f32>().try_into_vec().unwrap();
        let with_void = SegCrossEntropy { void: Some(1) };
        let l: Vec<f32> = with_void.per_item(preds.clone(), &t).into_data().convert::<f32>().try_into_vec().unwrap();
        assert_eq!(l[0], 0.0);
        assert_eq!(l[2], 0.0);
        assert!((l[1] - plain[1]).abs() < 1e-6);
        let m = with_void.mean(preds, &t).into_scalar::<f32>();
        assert!((m - plain[1]).abs() < 1e-6, "the mean is over the one non-void pixel: {m}");
    }
}
