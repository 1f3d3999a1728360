//! What the Learner needs from a task: a model that maps a batch to predictions, and batches
//! that carry their targets.

use burn::module::Module;
use burn::tensor::{Int, Tensor};

use crate::metrics::HostTarget;

/// The targets of a batch, on the device.
#[derive(Clone, Debug)]
pub enum Target {
    /// One class index per item (`[batch]`).
    Classes(Tensor<1, Int>),
    /// One or more values per item (`[batch, n]`).
    Values(Tensor<2>),
}

impl Target {
    /// Number of items.
    pub fn len(&self) -> usize {
        match self {
            Target::Classes(t) => t.dims()[0],
            Target::Values(t) => t.dims()[0],
        }
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The targets copied to the host, for metrics.
    pub fn to_host(&self) -> HostTarget {
        match self {
            Target::Classes(t) => HostTarget::Classes(
                t.to_data().convert::<i64>().try_into_vec::<i64>().unwrap_or_default(),
            ),
            Target::Values(t) => HostTarget::Values(t.to_data().convert::<f32>().try_into_vec::<f32>().unwrap_or_default()),
        }
    }
}

/// A batch of inputs and targets, as a task's loader produces it.
pub trait Batch: Send + 'static {
    /// The targets.
    fn target(&self) -> Target;
}

/// A model the Learner can train on batches of type `B`.
///
/// The model is a burn [`Module`]; the Learner switches it between training (autodiff on,
/// dropout and BatchNorm updates active) and evaluation with `train()` / `valid()`.
pub trait TaskModel<B>: Module + 'static {
    /// Predictions for the batch, `[batch, n_out]`: logits for classification, values for
    /// regression.
    fn forward_batch(&self, batch: &B) -> Tensor<2>;

    /// In training: the predictions, and a penalty added to the loss that is backpropagated
    /// but not reported (fastai's `RNNRegularizer` adds its activation penalties to
    /// `loss_grad` this way). By default, [`forward_batch`](Self::forward_batch) and no penalty.
    fn forward_train(&self, batch: &B) -> (Tensor<2>, Option<Tensor<1>>) {
        (self.forward_batch(batch), None)
    }
}
