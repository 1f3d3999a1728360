//! The exact GELU (`x · Φ(x)`, Φ by erf, as PyTorch's `nn.GELU()` and Hugging Face's `"gelu"`),
//! computed by kindling's CPU kernel on the flex backend and by burn's operation elsewhere.
//!
//! burn's own GELU calls a scalar `erf` per element: in a BERT encoder's feed-forward layers it
//! took 16% of a forward pass (perf, MiniLM, 32 × 128 tokens). The kernel's `erf` is plain
//! arithmetic the compiler vectorises (AVX-512 where the CPU has it), within 5e-7 of the true value.

mod extension;
mod kernel;

use burn::backend::Dispatch;
use burn::tensor::Tensor;

pub use extension::CpuGelu;

use super::flex::runs_on_flex;

/// `x · Φ(x)` for every element, differentiable.
///
/// ```
/// use burn::tensor::{Device, Tensor, TensorData};
/// let x = Tensor::<1>::from_data(TensorData::new(vec![-1.0f32, 0.0, 1.0], [3]), &Device::flex());
/// let y: Vec<f32> = kindling_core::nn::gelu(x).into_data().convert::<f32>().try_into_vec().unwrap();
/// assert!((y[0] + 0.158_655_3).abs() < 1e-6 && y[1] == 0.0 && (y[2] - 0.841_344_7).abs() < 1e-6);
/// ```
pub fn gelu<const D: usize>(x: Tensor<D>) -> Tensor<D> {
    if runs_on_flex(&x) {
        return Tensor::from_dispatch(<Dispatch as CpuGelu>::kindling_gelu(x.into_dispatch()));
    }
    burn::tensor::activation::gelu(x)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Distribution, Tolerance};
    use burn::tensor::Device;

    #[test]
    fn matches_burn_forward_and_backward() {
        let device = Device::flex().autodiff();
        device.seed(3);
        let x = Tensor::<3>::random([4, 5, 300], Distribution::Normal(0.0, 3.0), &device);
        let r = Tensor::<3>::random([4, 5, 300], Distribution::Normal(0.0, 1.0), &device);
        let run = |ours: bool| {
            let x = x.clone().require_grad();
            let y = if ours { gelu(x.clone()) } else { burn::tensor::activation::gelu(x.clone()) };
            let grads = (y.clone() * r.clone()).sum().backward();
            [y.into_data(), x.grad(&grads).unwrap().into_data()]
        };
        let (ours, burns) = (run(true), run(false));
        for (a, b) in ours.iter().zip(&burns) {
            a.assert_approx_eq::<f32>(b, Tolerance::absolute(2e-6));
        }
        // Without autodiff, on plain flex tensors.
        let plain = Tensor::<3>::from_data(x.to_data(), &Device::flex());
        gelu(plain.clone()).into_data().assert_approx_eq::<f32>(&burn::tensor::activation::gelu(plain).into_data(), Tolerance::absolute(2e-6));
    }
}
