//! The CPU max pooling as a burn backend extension: a forward op on the flex backend, and its
//! autodiff wrapper with a hand-written backward pass.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::Autodiff;
use burn::backend::flex::{Flex, FlexTensor};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, backend_extension};

use super::kernel::{self, MaxPool2dGeometry};
use crate::nn::flex::{flex_tensor, values};

/// 2-D max pooling (symmetric padding) computed by [`kernel`].
#[backend_extension(Flex, Autodiff)]
pub trait CpuMaxPool2d: Backend {
    /// `x` `[N, C, H, W]` max-pooled as `geometry` describes.
    fn kindling_max_pool2d(x: FloatTensor<Self>, geometry: MaxPool2dGeometry) -> FloatTensor<Self>;
}

fn out_shape(g: &MaxPool2dGeometry) -> [usize; 4] {
    let [oh, ow] = g.out_size().expect("max pool geometry checked by the caller");
    [g.batch, g.channels, oh, ow]
}

impl CpuMaxPool2d for Flex {
    fn kindling_max_pool2d(x: FlexTensor, geometry: MaxPool2dGeometry) -> FlexTensor {
        flex_tensor(kernel::forward(&geometry, &values(&x)), out_shape(&geometry))
    }
}

/// The backward step: the input gradient, from the input (each window's maximum found again).
#[derive(Debug)]
struct MaxPool2dBackward;

impl Backward<Flex, 1> for MaxPool2dBackward {
    type State = (FlexTensor, MaxPool2dGeometry);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_x] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x, g) = ops.state;
        if let Some(node) = node_x {
            let dx = kernel::backward(&g, &values(&x), &values(&grad));
            grads.register::<Flex>(node.id, flex_tensor(dx, [g.batch, g.channels, g.in_size[0], g.in_size[1]]));
        }
    }
}

impl<C: CheckpointStrategy> CpuMaxPool2d for Autodiff<Flex, C> {
    fn kindling_max_pool2d(x: FloatTensor<Self>, geometry: MaxPool2dGeometry) -> FloatTensor<Self> {
        match MaxPool2dBackward.prepare::<C>([x.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let x = x.primitive().clone();
                let out = Flex::kindling_max_pool2d(x.clone(), geometry);
                prep.finish((x, geometry), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::kindling_max_pool2d(x.into_primitive(), geometry)),
        }
    }
}
