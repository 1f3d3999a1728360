//! The CPU softmax as burn backend extensions: on flex, and on autodiff over flex with its
//! backward pass (which keeps the output, not the input).

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::Autodiff;
use burn::backend::flex::{Flex, FlexTensor};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, TensorMetadata, backend_extension};

use super::kernel;
use crate::nn::flex::{flex_tensor, values};

/// Softmax over the last axis, differentiable.
#[backend_extension(Flex, Autodiff)]
pub trait CpuSoftmax: Backend {
    /// The softmax of `x` along its last axis.
    fn kindling_softmax_last(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

fn last(t: &FlexTensor) -> usize {
    t.shape().to_vec().last().copied().unwrap_or(1)
}

impl CpuSoftmax for Flex {
    fn kindling_softmax_last(x: FlexTensor) -> FlexTensor {
        let dims = x.shape().to_vec();
        flex_tensor(kernel::forward(&values(&x), last(&x)), dims)
    }
}

#[derive(Debug)]
struct SoftmaxBackward;

impl Backward<Flex, 1> for SoftmaxBackward {
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let y = ops.state;
        if let Some(node) = node_x {
            let dims = y.shape().to_vec();
            grads.register::<Flex>(node.id, flex_tensor(kernel::backward(&values(&y), &values(&grad), last(&y)), dims));
        }
    }
}

impl<C: CheckpointStrategy> CpuSoftmax for Autodiff<Flex, C> {
    fn kindling_softmax_last(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let prep = SoftmaxBackward.prepare::<C>([x.node()]).compute_bound().stateful();
        let out = Flex::kindling_softmax_last(x.primitive().clone());
        match prep {
            OpsKind::Tracked(prep) => prep.finish(out.clone(), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }
}
