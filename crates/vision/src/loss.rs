//! fastai's `LabelSmoothingCrossEntropy`, also taking the soft targets [`MixUp`](crate::mixup)
//! makes, so that one loss serves plain, smoothed and mixed training.
//!
//! Meant to move to `kindling-core` (`kindling_core::learner`, beside `CrossEntropyLoss`):
//! segmentation and text classification could train with it unchanged. It lives here until
//! then.

use burn::tensor::Tensor;
use burn::tensor::activation::{log_softmax, softmax};
use kindling_core::learner::{Loss, Target};

/// Cross-entropy on logits with label smoothing, as fastai's `LabelSmoothingCrossEntropy(eps)`:
/// per item `(1 - eps)·nll + eps·mean_c(-log_softmax)`, the target's class given probability
/// `1 - eps + eps/c` and every other class `eps/c`. With `eps = 0` it is plain cross-entropy
/// (fastai's `CrossEntropyLossFlat`).
///
/// The targets are class indices ([`Target::Classes`]) or rows of class probabilities
/// ([`Target::Values`], `[batch, classes]`, each row summing to 1, as MixUp makes them). For a
/// mixed row `lam·onehot(a) + (1 - lam)·onehot(b)` the loss is
/// `lam·loss(a) + (1 - lam)·loss(b)`, which is what fastai's `MixUp` computes by lerping the
/// losses of the two targets.
///
/// ```
/// use burn::tensor::{Device, Int, Tensor, TensorData};
/// use kindling_core::learner::{Loss, Target};
/// use kindling_vision::loss::LabelSmoothingCrossEntropy;
/// let d = Device::flex();
/// let logits = Tensor::<2>::from_data(TensorData::new(vec![0.0f32, 0.0], [1, 2]), &d);
/// let t = Target::Classes(Tensor::<1, Int>::from_data(TensorData::new(vec![1i64], [1]), &d));
/// // Two equally likely classes: every term is ln 2, whatever eps.
/// let l = LabelSmoothingCrossEntropy::new(0.1).per_item(logits, &t).into_scalar::<f32>();
/// assert!((l - std::f32::consts::LN_2).abs() < 1e-6);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LabelSmoothingCrossEntropy {
    /// The share of the target moved evenly onto every class (fastai: 0.1).
    pub eps: f64,
}

impl LabelSmoothingCrossEntropy {
    /// The loss with smoothing `eps` (0 for plain cross-entropy).
    pub fn new(eps: f64) -> Self {
        Self { eps }
    }
}

impl Loss for LabelSmoothingCrossEntropy {
    fn name(&self) -> &'static str {
        if self.eps > 0.0 { "LabelSmoothingCrossEntropy" } else { "CrossEntropyLossFlat" }
    }

    fn per_item(&self, preds: Tensor<2>, target: &Target) -> Tensor<1> {
        let n = preds.dims()[0];
        let logp = log_softmax(preds, 1);
        let nll = match target {
            Target::Classes(classes) => logp.clone().gather(1, classes.clone().reshape([n, 1])).reshape([n]).neg(),
            Target::Values(probs) => (logp.clone() * probs.clone()).sum_dim(1).reshape([n]).neg(),
        };
        if self.eps == 0.0 {
            return nll;
        }
        let spread = logp.mean_dim(1).reshape([n]).neg();
        nll * (1.0 - self.eps) + spread * self.eps
    }

    fn activation(&self, preds: Tensor<2>) -> Tensor<2> {
        softmax(preds, 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, Int, TensorData};

    fn host(t: Tensor<1>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_into_vec().unwrap()
    }

    fn logits(d: &Device) -> Tensor<2> {
        Tensor::<2>::from_data(TensorData::new(vec![2.0f32, 0.5, -1.0, 0.0, 1.0, 3.0], [2, 3]), d)
    }

    /// log_softmax of a row, by hand.
    fn logp(row: &[f64]) -> Vec<f64> {
        let lse = row.iter().map(|v| v.exp()).sum::<f64>().ln();
        row.iter().map(|v| v - lse).collect()
    }

    #[test]
    fn matches_fastai_formula_by_hand() {
        let d = Device::flex();
        let t = Target::Classes(Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 1], [2]), &d));
        let got = host(LabelSmoothingCrossEntropy::new(0.1).per_item(logits(&d), &t));
        let rows = [[2.0, 0.5, -1.0], [0.0, 1.0, 3.0]];
        for (i, (row, y)) in rows.iter().zip([0usize, 1]).enumerate() {
            let lp = logp(row);
            // fastai: loss*eps/c + (1-eps)*nll, loss = -sum(log_preds)
            let want = -lp.iter().sum::<f64>() * 0.1 / 3.0 + 0.9 * -lp[y];
            assert!((got[i] as f64 - want).abs() < 1e-5, "item {i}: {} vs {want}", got[i]);
        }
        // eps 0 is cross-entropy.
        let ce = host(LabelSmoothingCrossEntropy::new(0.0).per_item(logits(&d), &t));
        let want = host(kindling_core::learner::CrossEntropyLoss.per_item(logits(&d), &t));
        assert_eq!(ce, want);
    }

    #[test]
    fn soft_targets_lerp_the_losses_of_both_classes() {
        let d = Device::flex();
        let lam = 0.7f32;
        // Item 0 mixes classes 0 and 2, item 1 is class 1 alone.
        let soft = Target::Values(Tensor::<2>::from_data(TensorData::new(vec![lam, 0.0, 1.0 - lam, 0.0, 1.0, 0.0], [2, 3]), &d));
        let class = |c: [i64; 2]| Target::Classes(Tensor::<1, Int>::from_data(TensorData::new(c.to_vec(), [2]), &d));
        for eps in [0.0, 0.1] {
            let loss = LabelSmoothingCrossEntropy::new(eps);
            let mixed = host(loss.per_item(logits(&d), &soft));
            let a = host(loss.per_item(logits(&d), &class([0, 1])));
            let b = host(loss.per_item(logits(&d), &class([2, 1])));
            let want0 = lam * a[0] + (1.0 - lam) * b[0];
            assert!((mixed[0] - want0).abs() < 1e-5, "eps {eps}: {} vs {want0}", mixed[0]);
            assert!((mixed[1] - a[1]).abs() < 1e-5, "eps {eps}: a one-hot row is the class's loss");
        }
    }
}
