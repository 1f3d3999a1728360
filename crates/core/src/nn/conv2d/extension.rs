//! The CPU convolution as burn backend extensions: a forward op on the flex backend and its
//! autodiff wrapper with a hand-written backward pass, and an inference op on flex that keeps
//! Winograd's transformed kernels between calls.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::Autodiff;
use burn::backend::flex::{Flex, FlexTensor};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, backend_extension};

use super::cache;
use super::kernel::{self, Conv2dGeometry};
use crate::nn::flex::{flex_tensor, values};

/// A convolution without bias (groups 1, symmetric padding) computed by [`kernel`].
#[backend_extension(Flex, Autodiff)]
pub trait CpuConv2d: Backend {
    /// `x` `[N, C, H, W]` convolved with `weight` `[O, C, kh, kw]` as `geometry` describes.
    fn kindling_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>, geometry: Conv2dGeometry) -> FloatTensor<Self>;
}

/// The same convolution for inference (no gradient): Winograd's transformed kernels are kept
/// for the next call with the same weights (see [`super::cache`]).
#[backend_extension(Flex)]
pub trait CpuConv2dInference: Backend {
    /// `x` `[N, C, H, W]` convolved with `weight` `[O, C, kh, kw]` as `geometry` describes.
    fn kindling_conv2d_inference(x: FloatTensor<Self>, weight: FloatTensor<Self>, geometry: Conv2dGeometry) -> FloatTensor<Self>;
}

impl CpuConv2dInference for Flex {
    fn kindling_conv2d_inference(x: FlexTensor, weight: FlexTensor, geometry: Conv2dGeometry) -> FlexTensor {
        let kept = cache::kept(&weight, &geometry);
        let out = kernel::forward_with(&geometry, &values(&x), &values(&weight), kept.as_deref());
        flex_tensor(out, out_shape(&geometry))
    }
}

fn out_shape(g: &Conv2dGeometry) -> [usize; 4] {
    let [oh, ow] = g.out_size().expect("convolution geometry checked by the caller");
    [g.batch, g.out_channels, oh, ow]
}

impl CpuConv2d for Flex {
    fn kindling_conv2d(x: FlexTensor, weight: FlexTensor, geometry: Conv2dGeometry) -> FlexTensor {
        let out = kernel::forward(&geometry, &values(&x), &values(&weight));
        flex_tensor(out, out_shape(&geometry))
    }
}

/// The backward step: the input gradient and the weight gradient, each only when needed (a frozen
/// body needs no weight gradient, the first layer no input gradient).
#[derive(Debug)]
struct Conv2dBackward;

impl Backward<Flex, 2> for Conv2dBackward {
    type State = (FlexTensor, FlexTensor, Conv2dGeometry);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_x, node_w] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x, weight, g) = ops.state;
        let dy = values(&grad);
        if let Some(node) = node_x {
            let dx = kernel::backward_input(&g, &values(&weight), &dy);
            grads.register::<Flex>(node.id, flex_tensor(dx, [g.batch, g.in_channels, g.in_size[0], g.in_size[1]]));
        }
        if let Some(node) = node_w {
            let dw = kernel::backward_weight(&g, &values(&x), &dy);
            grads.register::<Flex>(node.id, flex_tensor(dw, [g.out_channels, g.in_channels, g.kernel[0], g.kernel[1]]));
        }
    }
}

impl<C: CheckpointStrategy> CpuConv2d for Autodiff<Flex, C> {
    fn kindling_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>, geometry: Conv2dGeometry) -> FloatTensor<Self> {
        match Conv2dBackward.prepare::<C>([x.node(), weight.node()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let (x, weight) = (x.primitive().clone(), weight.primitive().clone());
                let out = Flex::kindling_conv2d(x.clone(), weight.clone(), geometry);
                prep.finish((x, weight, geometry), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(Flex::kindling_conv2d(x.into_primitive(), weight.into_primitive(), geometry)),
        }
    }
}
