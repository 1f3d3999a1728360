//! A faster 2-D max pooling for the CPU, used in place of `burn::nn::pool::MaxPool2d::forward`.
//!
//! On the flex backend, with `f32` values and the same padding on both sides of each axis (a
//! ResNet stem's 3×3, stride 2, padding 1), [`max_pool2d`] runs kindling's own kernel, forward
//! and backward; anything else (GPU devices, `Same` padding that is not symmetric) goes to
//! burn's operation, so the result is the same function everywhere; only the speed differs.

mod extension;
mod kernel;

use burn::backend::Dispatch;
use burn::nn::PaddingConfig2d;
use burn::nn::pool::MaxPool2d;
use burn::tensor::Tensor;

use super::flex::runs_on_flex;

pub use extension::CpuMaxPool2d;
pub use kernel::MaxPool2dGeometry;

/// The CPU kernel itself, on plain `f32` slices in NCHW order: what [`max_pool2d`] runs on
/// flex, for benchmarks and for code that holds its data outside burn. Each function panics
/// when a slice's length does not match the geometry.
///
/// ```
/// use kindling_core::nn::max_pool::{MaxPool2dGeometry, cpu};
///
/// // One 4×4 plane of 0..16, 2×2 windows, stride 2.
/// let g = MaxPool2dGeometry { batch: 1, channels: 1, in_size: [4, 4], kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1], ceil_mode: false };
/// let x: Vec<f32> = (0..16).map(|v| v as f32).collect();
/// assert_eq!(cpu::forward(&g, &x), vec![5.0, 7.0, 13.0, 15.0]);
/// ```
pub mod cpu {
    pub use super::kernel::{backward, forward};
}

/// `pool.forward(x)`, through kindling's CPU kernel where it applies.
///
/// ```
/// use burn::nn::PaddingConfig2d;
/// use burn::nn::pool::MaxPool2dConfig;
/// use burn::tensor::{Device, Distribution, Tensor};
///
/// let device = Device::flex();
/// let pool = MaxPool2dConfig::new([3, 3]).with_strides([2, 2]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init();
/// let x = Tensor::<4>::random([2, 3, 10, 10], Distribution::Normal(0.0, 1.0), &device);
/// let ours = kindling_core::nn::max_pool2d(&pool, x.clone());
/// assert_eq!(ours.dims(), [2, 3, 5, 5]);
/// ours.into_data().assert_eq(&pool.forward(x).into_data(), true);
/// ```
pub fn max_pool2d(pool: &MaxPool2d, x: Tensor<4>) -> Tensor<4> {
    let [batch, channels, h, w] = x.dims();
    let ((top, bottom), (left, right)) = padding_pairs(pool, [h, w]);
    let geometry = MaxPool2dGeometry {
        batch,
        channels,
        in_size: [h, w],
        kernel: pool.kernel_size,
        stride: pool.stride,
        padding: [top, left],
        dilation: pool.dilation,
        ceil_mode: pool.ceil_mode,
    };
    let fits = top == bottom && left == right && geometry.out_size().is_some();
    if !(fits && runs_on_flex(&x)) {
        return pool.forward(x);
    }
    Tensor::from_dispatch(<Dispatch as CpuMaxPool2d>::kindling_max_pool2d(x.into_dispatch(), geometry))
}

/// `((top, bottom), (left, right))` as burn's `MaxPool2d` pads (`Same` from the kernel and the
/// stride, the extra pixel last).
fn padding_pairs(pool: &MaxPool2d, size: [usize; 2]) -> ((usize, usize), (usize, usize)) {
    let same = |i: usize| {
        let out = size[i].div_ceil(pool.stride[i]);
        let total = if out > 0 { ((out - 1) * pool.stride[i] + pool.kernel_size[i]).saturating_sub(size[i]) } else { 0 };
        (total / 2, total - total / 2)
    };
    match pool.padding {
        PaddingConfig2d::Valid => ((0, 0), (0, 0)),
        PaddingConfig2d::Same => (same(0), same(1)),
        PaddingConfig2d::Explicit(top, left, bottom, right) => ((top, bottom), (left, right)),
    }
}

#[cfg(test)]
mod tests {
    use burn::nn::pool::MaxPool2dConfig;
    use burn::tensor::{Device, Distribution, TensorData, Tolerance};

    use super::*;

    /// The output and the input gradient of `sum(pool(x) · r)`, with kindling's kernel or burn's;
    /// `r` is fixed (not drawn from the device's generator, which tests running alongside share).
    fn run(pool: &MaxPool2d, x: &Tensor<4>, ours: bool) -> [TensorData; 2] {
        let x = x.clone().require_grad();
        let y = if ours { max_pool2d(pool, x.clone()) } else { pool.forward(x.clone()) };
        let dims = y.dims();
        let r: Vec<f32> = (0..dims.iter().product::<usize>()).map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0).collect();
        let r = Tensor::<4>::from_data(TensorData::new(r, dims), &y.device());
        let grads = (y.clone() * r).sum().backward();
        [y.into_data(), x.grad(&grads).unwrap().into_data()]
    }

    fn configs() -> Vec<MaxPool2dConfig> {
        let c = |k: [usize; 2]| MaxPool2dConfig::new(k);
        vec![
            // resnet's stem
            c([3, 3]).with_strides([2, 2]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)),
            c([2, 2]),
            c([3, 3]).with_strides([1, 1]).with_padding(PaddingConfig2d::Same),
            c([3, 2]).with_strides([2, 3]).with_padding(PaddingConfig2d::Explicit(1, 0, 1, 0)).with_ceil_mode(true),
            c([3, 3]).with_strides([2, 1]).with_dilation([2, 1]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)),
            c([2, 2]).with_strides([2, 2]).with_ceil_mode(true),
            // asymmetric: burn's operation
            c([2, 2]).with_strides([1, 1]).with_padding(PaddingConfig2d::Same),
        ]
    }

    #[test]
    fn matches_burn_forward_and_backward() {
        let device = Device::flex().autodiff();
        for config in configs() {
            let pool = config.init();
            for shape in [[2, 3, 9, 11], [1, 4, 8, 8], [1, 70, 24, 24], [2, 2, 2, 3]] {
                let x = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
                let (ours, burns) = (run(&pool, &x, true), run(&pool, &x, false));
                ours[0].assert_eq(&burns[0], true);
                ours[1].assert_approx_eq::<f32>(&burns[1], Tolerance::absolute(1e-6));
            }
        }
    }

    #[test]
    fn ties_and_plain_flex_tensors() {
        // Ties (a ReLU's zeros): the gradient goes where burn sends it.
        let device = Device::flex().autodiff();
        let pool = MaxPool2dConfig::new([3, 3]).with_strides([2, 2]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init();
        let x = Tensor::<4>::random([1, 2, 12, 12], Distribution::Normal(0.0, 1.0), &device).clamp_min(0.0).round();
        let (ours, burns) = (run(&pool, &x, true), run(&pool, &x, false));
        ours[0].assert_eq(&burns[0], true);
        ours[1].assert_approx_eq::<f32>(&burns[1], Tolerance::absolute(1e-6));
        // Without autodiff, large enough to be shared out between the threads.
        let flex = Device::flex();
        let plain = Tensor::<4>::random([1, 64, 112, 112], Distribution::Normal(0.0, 1.0), &flex);
        max_pool2d(&pool, plain.clone()).into_data().assert_eq(&pool.forward(plain).into_data(), true);
    }
}
