//! Loss functions, per item, so that the Learner can both train on their mean and rank items
//! by loss (top losses, data cleaning).

use burn::tensor::Tensor;
use burn::tensor::activation::{log_softmax, softmax};

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
    fn mse_per_item() {
        let d = Device::flex();
        let preds = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 3.0], [2, 1]), &d);
        let t = Target::Values(Tensor::<2>::from_data(TensorData::new(vec![0.0f32, 1.0], [2, 1]), &d));
        let l: Vec<f32> = MseLoss.per_item(preds, &t).into_data().convert::<f32>().try_into_vec().unwrap();
        assert_eq!(l, vec![1.0, 4.0]);
    }
}
