//! Loss functions, per item, so that the Learner can both train on their mean and rank items
//! by loss (top losses, data cleaning).

use burn::tensor::Tensor;
use burn::tensor::activation::{log_softmax, sigmoid, softmax};

use super::model::Target;

/// A loss function as the Learner uses it.
pub trait Loss: Send + Sync {
    /// fastai's name for it.
    fn name(&self) -> &'static str;
    /// The loss of each item, `[batch]`.
    fn per_item(&self, preds: Tensor<2>, target: &Target) -> Tensor<1>;
    /// The mean loss of the batch (what is minimised).
    fn mean(&self, preds: Tensor<2>, target: &Target) -> Tensor<1> {
        self.per_item(preds, target).mean()
    }
    /// Predictions turned into what a user reads (probabilities for classification).
    fn activation(&self, preds: Tensor<2>) -> Tensor<2>;
}

/// Cross-entropy on logits with class-index targets (fastai's `CrossEntropyLossFlat`).
#[derive(Clone, Copy, Debug, Default)]
pub struct CrossEntropyLoss;

impl Loss for CrossEntropyLoss {
    fn name(&self) -> &'static str {
        "CrossEntropyLossFlat"
    }
    fn per_item(&self, preds: Tensor<2>, target: &Target) -> Tensor<1> {
        let Target::Classes(classes) = target else {
            panic!("cross-entropy needs class targets");
        };
        let n = classes.dims()[0];
        let logp = log_softmax(preds, 1);
        logp.gather(1, classes.clone().reshape([n, 1])).reshape([n]).neg()
    }
    fn activation(&self, preds: Tensor<2>) -> Tensor<2> {
        softmax(preds, 1)
    }
}

/// Mean squared error with value targets (fastai's `MSELossFlat`).
#[derive(Clone, Copy, Debug, Default)]
pub struct MseLoss;

impl Loss for MseLoss {
    fn name(&self) -> &'static str {
        "MSELossFlat"
    }
    fn per_item(&self, preds: Tensor<2>, target: &Target) -> Tensor<1> {
        let Target::Values(y) = target else {
            panic!("MSE needs value targets");
        };
        let n = preds.dims()[0];
        let d = preds - y.clone();
        (d.clone() * d).mean_dim(1).reshape([n])
    }
    fn activation(&self, preds: Tensor<2>) -> Tensor<2> {
        preds
    }
}

/// Binary cross-entropy on logits with multi-hot targets, averaged over the labels of an item
/// (fastai's `BCEWithLogitsLossFlat`, the loss of multi-label classification). Computed as
/// `max(x, 0) - x·y + ln(1 + e^-|x|)`, which never overflows.
#[derive(Clone, Copy, Debug, Default)]
pub struct BceWithLogitsLoss;

impl Loss for BceWithLogitsLoss {
    fn name(&self) -> &'static str {
        "BCEWithLogitsLossFlat"
    }
    fn per_item(&self, preds: Tensor<2>, target: &Target) -> Tensor<1> {
        let Target::Values(y) = target else {
            panic!("binary cross-entropy needs multi-hot value targets");
        };
        let n = preds.dims()[0];
        let softplus = preds.clone().abs().neg().exp().log1p();
        (preds.clone().clamp_min(0.0) - preds * y.clone() + softplus).mean_dim(1).reshape([n])
    }
    fn activation(&self, preds: Tensor<2>) -> Tensor<2> {
        sigmoid(preds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, Int, TensorData};

    #[test]
    fn cross_entropy_matches_hand_computation() {
        let d = Device::flex();
        let preds = Tensor::<2>::from_data(TensorData::new(vec![0.0f32, 0.0, 2.0, 0.0], [2, 2]), &d);
        let t = Target::Classes(Tensor::<1, Int>::from_data(TensorData::new(vec![1i64, 0], [2]), &d));
        let l: Vec<f32> = CrossEntropyLoss.per_item(preds, &t).into_data().convert::<f32>().try_into_vec().unwrap();
        assert!((l[0] - std::f32::consts::LN_2).abs() < 1e-6);
        assert!((l[1] - (1.0 + (-2.0f32).exp()).ln()).abs() < 1e-6);
    }

    #[test]
    fn bce_with_logits_matches_hand_computation() {
        let d = Device::flex();
        let preds = Tensor::<2>::from_data(TensorData::new(vec![0.0f32, 2.0, -30.0, 30.0], [2, 2]), &d);
        let t = Target::Values(Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 0.0, 0.0, 1.0], [2, 2]), &d));
        let l: Vec<f32> = BceWithLogitsLoss.per_item(preds, &t).into_data().convert::<f32>().try_into_vec().unwrap();
        // item 0: (ln 2 + ln(1 + e^2)) / 2; item 1: two confident right answers, about 0
        let want = (std::f32::consts::LN_2 + (1.0 + 2.0f32.exp()).ln()) / 2.0;
        assert!((l[0] - want).abs() < 1e-5, "{l:?}");
        assert!(l[1].abs() < 1e-6 && l[1].is_finite(), "{l:?}");
    }

    #[test]
    fn mse_per_item() {
        let d = Device::flex();
        let preds = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 3.0], [2, 1]), &d);
        let t = Target::Values(Tensor::<2>::from_data(TensorData::new(vec![0.0f32, 1.0], [2, 1]), &d));
        let l: Vec<f32> = MseLoss.per_item(preds, &t).into_data().convert::<f32>().try_into_vec().unwrap();
        assert_eq!(l, vec![1.0, 4.0]);
    }
}
