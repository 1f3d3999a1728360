//! The CPU GELU as burn backend extensions: on flex, and on autodiff over flex with its
//! backward pass.

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

/// The exact GELU, `x · Φ(x)`, element by element, differentiable.
#[backend_extension(Flex, Autodiff)]
pub trait CpuGelu: Backend {
    /// `x · Φ(x)` of every element of `x`.
    fn kindling_gelu(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

impl CpuGelu for Flex {
    fn kindling_gelu(x: FlexTensor) -> FlexTensor {
        let dims = x.shape().to_vec();
        flex_tensor(kernel::forward(&values(&x)), dims)
    }
}

/// The backward step: the input's gradient from the input and the output's gradient.
#[derive(Debug)]
struct GeluBackward;

impl Backward<Flex, 1> for GeluBackward {
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let x = ops.state;
        if let Some(node) = node_x {
            let dims = x.shape().to_vec();
            grads.register::<Flex>(node.id, flex_tensor(kernel::backward(&values(&x), &values(&grad)), dims));
        }
    }
}

impl<C: CheckpointStrategy> CpuGelu for Autodiff<Flex, C> {
    fn kindling_gelu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let prep = GeluBackward.prepare::<C>([x.node()]).compute_bound().stateful();
        let xp = x.primitive().clone();
        let out = Flex::kindling_gelu(xp.clone());
        match prep {
            OpsKind::Tracked(prep) => prep.finish(xp, out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }
}
