//! A faster 2-D convolution for the CPU, used in place of `burn::nn::conv::Conv2d::forward`.
//!
//! On the flex backend, with `f32` values, one group and symmetric padding (every ResNet
//! convolution), [`conv2d`] runs kindling's own kernel: Winograd F(4×4, 3×3) for 3×3 kernels
//! with stride 1 and enough tiles, im2col otherwise, into AVX-512 matrix products, images split
//! between the threads (one image's work too, for a batch of one), a stride-1 input gradient
//! computed as a transposed convolution, and no gradient computed that the graph does not
//! need. A model run for inference (plain flex tensors, no autodiff) keeps its transformed
//! Winograd kernels from one call to the next ([`cache`]), and so uses Winograd on deep layers
//! too. Anything else (GPU devices, depthwise convolutions, `Same` padding that is not
//! symmetric) goes to burn's `conv2d`, so the result is the same function everywhere; only the
//! speed differs.

pub mod cache;
mod extension;
mod kernel;
mod winograd;

use burn::backend::Dispatch;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;

use super::flex::{is_plain_flex, runs_on_flex};

pub use extension::{CpuConv2d, CpuConv2dInference};
pub use kernel::Conv2dGeometry;
pub use winograd::WinogradKernel;

/// The CPU kernel itself, on plain `f32` slices in NCHW order: what [`conv2d`] runs on flex,
/// for benchmarks (`cargo xtask bench conv`) and for code that holds its data outside burn.
/// Each function panics when a slice's length does not match the geometry.
///
/// ```
/// use kindling_core::nn::conv2d::{Conv2dGeometry, cpu};
///
/// // One 4×4 image of 2 channels, 3 output channels, a 3×3 kernel of ones, padding 1.
/// let g = Conv2dGeometry { batch: 1, in_channels: 2, in_size: [4, 4], out_channels: 3, kernel: [3, 3], stride: [1, 1], padding: [1, 1], dilation: [1, 1] };
/// let out = cpu::forward(&g, &vec![1.0; 2 * 16], &vec![1.0; 3 * 2 * 9]);
/// assert_eq!(out.len(), 3 * 16);
/// assert_eq!((out[0], out[5]), (8.0, 18.0)); // a corner sees 2×4 ones, an inner pixel 2×9
/// ```
pub mod cpu {
    pub use super::kernel::{backward_input, backward_weight, forward, forward_with};
}

/// `conv.forward(x)`, through kindling's CPU kernel where it applies.
///
/// ```
/// use burn::nn::conv::Conv2dConfig;
/// use burn::nn::PaddingConfig2d;
/// use burn::tensor::{Device, Distribution, Tensor};
///
/// let device = Device::flex();
/// let conv = Conv2dConfig::new([3, 8], [3, 3]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(&device);
/// let x = Tensor::<4>::random([2, 3, 10, 10], Distribution::Normal(0.0, 1.0), &device);
/// let ours = kindling_core::nn::conv2d(&conv, x.clone());
/// let burns = conv.forward(x);
/// assert_eq!(ours.dims(), [2, 8, 10, 10]);
/// ours.into_data().assert_approx_eq::<f32>(&burns.into_data(), burn::tensor::Tolerance::absolute(1e-4));
/// ```
pub fn conv2d(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    let [batch, in_channels, h, w] = x.dims();
    let Some(((top, bottom), (left, right))) = padding_pairs(conv, [h, w]) else {
        return conv.forward(x);
    };
    let [out_channels, weight_in, ..] = conv.weight.dims();
    let geometry = Conv2dGeometry {
        batch,
        in_channels,
        in_size: [h, w],
        out_channels,
        kernel: conv.kernel_size,
        stride: conv.stride,
        padding: [top, left],
        dilation: conv.dilation,
    };
    let fits = conv.groups == 1 && weight_in == in_channels && top == bottom && left == right && geometry.out_size().is_some();
    if !(fits && runs_on_flex(&x)) {
        return conv.forward(x);
    }
    let weight = conv.weight.val();
    // Plain flex tensors (a model for inference) keep Winograd's transformed kernels between
    // calls; tensors held by autodiff (training, whose weights change every step) do not.
    let out = if is_plain_flex(&x) && is_plain_flex(&weight) {
        Tensor::<4>::from_dispatch(<Dispatch as CpuConv2dInference>::kindling_conv2d_inference(x.into_dispatch(), weight.into_dispatch(), geometry))
    } else {
        Tensor::<4>::from_dispatch(<Dispatch as CpuConv2d>::kindling_conv2d(x.into_dispatch(), weight.into_dispatch(), geometry))
    };
    match &conv.bias {
        Some(bias) => out + bias.val().reshape([1, out_channels, 1, 1]),
        None => out,
    }
}

/// `((top, bottom), (left, right))` as burn's `Conv2d` pads, or `None` for a configuration it
/// does not describe here (`Same` with dilation, where burn ignores the dilation).
fn padding_pairs(conv: &Conv2d, size: [usize; 2]) -> Option<((usize, usize), (usize, usize))> {
    // `Same`: the output is `ceil(size / stride)`, the padding split with the extra pixel last.
    let same = |i: usize| {
        let out = size[i].div_ceil(conv.stride[i]);
        let total = (out.max(1) - 1) * conv.stride[i] + conv.kernel_size[i];
        let total = if out == 0 { 0 } else { total.saturating_sub(size[i]) };
        (total / 2, total - total / 2)
    };
    match conv.padding {
        PaddingConfig2d::Valid => Some(((0, 0), (0, 0))),
        PaddingConfig2d::Same if conv.dilation == [1, 1] => Some((same(0), same(1))),
        PaddingConfig2d::Same => None,
        PaddingConfig2d::Explicit(top, left, bottom, right) => Some(((top, bottom), (left, right))),
    }
}

#[cfg(test)]
mod tests {
    use burn::nn::conv::Conv2dConfig;
    use burn::tensor::{Device, Distribution, Tensor, Tolerance};

    use super::*;

    /// Gradients of `sum(conv(x) · r)` with kindling's kernel and with burn's, for the input,
    /// the weight and the bias.
    fn gradients(conv: &Conv2d, x: &Tensor<4>, r: &Tensor<4>, ours: bool) -> [burn::tensor::TensorData; 4] {
        let x = x.clone().require_grad();
        let out = if ours { conv2d(conv, x.clone()) } else { conv.forward(x.clone()) };
        let grads = (out.clone() * r.clone()).sum().backward();
        [
            out.into_data(),
            x.grad(&grads).unwrap().into_data(),
            conv.weight.val().grad(&grads).unwrap().into_data(),
            conv.bias.as_ref().unwrap().val().grad(&grads).unwrap().into_data(),
        ]
    }

    #[test]
    fn matches_burn_forward_and_backward() {
        let device = Device::flex().autodiff();
        device.seed(3);
        for (k, stride, pad) in [(3, 1, 1), (3, 2, 1), (1, 2, 0), (1, 1, 0)] {
            let conv = Conv2dConfig::new([20, 6], [k, k]).with_stride([stride, stride]).with_padding(PaddingConfig2d::Explicit(pad, pad, pad, pad)).init(&device);
            let x = Tensor::<4>::random([3, 20, 9, 9], Distribution::Normal(0.0, 1.0), &device);
            let out_hw = (9 + 2 * pad - k) / stride + 1;
            let r = Tensor::<4>::random([3, 6, out_hw, out_hw], Distribution::Normal(0.0, 1.0), &device);
            let ours = gradients(&conv, &x, &r, true);
            let burns = gradients(&conv, &x, &r, false);
            for (a, b) in ours.iter().zip(&burns) {
                a.assert_approx_eq::<f32>(b, Tolerance::absolute(1e-3));
            }
        }
    }

    #[test]
    fn same_padding_and_groups() {
        let device = Device::flex();
        // 8 pixels, kernel 3, stride 2: `Same` pads 0 before and 1 after.
        let same = Conv2dConfig::new([4, 4], [3, 3]).with_stride([2, 2]).with_padding(PaddingConfig2d::Same).init(&device);
        assert_eq!(padding_pairs(&same, [8, 8]), Some(((0, 1), (0, 1))));
        let depthwise = Conv2dConfig::new([4, 4], [3, 3]).with_groups(4).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(&device);
        let x = Tensor::<4>::random([1, 4, 8, 8], Distribution::Normal(0.0, 1.0), &device);
        let same_pointwise = Conv2dConfig::new([4, 6], [1, 1]).with_padding(PaddingConfig2d::Same).init(&device);
        let same_odd = Conv2dConfig::new([4, 6], [5, 5]).with_padding(PaddingConfig2d::Same).init(&device);
        assert_eq!(padding_pairs(&same_odd, [8, 8]), Some(((2, 2), (2, 2))));
        for conv in [same, depthwise, same_pointwise, same_odd] {
            conv2d(&conv, x.clone()).into_data().assert_approx_eq::<f32>(&conv.forward(x.clone()).into_data(), Tolerance::absolute(1e-5));
        }
    }

    /// A model for inference (plain flex tensors) keeps its transformed kernels: the second
    /// call finds them, and new weights (another model, a training step) are never served a
    /// stale transform.
    #[test]
    fn inference_keeps_kernels_and_never_serves_stale_ones() {
        let device = Device::flex();
        let x = Tensor::<4>::random([1, 32, 14, 14], Distribution::Normal(0.0, 1.0), &device);
        let mut conv = Conv2dConfig::new([32, 32], [3, 3]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init(&device);
        for _ in 0..2 {
            conv2d(&conv, x.clone()).into_data().assert_approx_eq::<f32>(&conv.forward(x.clone()).into_data(), Tolerance::absolute(1e-4));
        }
        assert!(cache::kept_bytes() > 0);
        conv.weight = conv.weight.map(|w| w * 2.0 - 0.1);
        conv2d(&conv, x.clone()).into_data().assert_approx_eq::<f32>(&conv.forward(x).into_data(), Tolerance::absolute(1e-4));
    }
}
