use burn::module::Module;
use burn::tensor::Tensor;
use burn::tensor::activation::sigmoid;

/// fastai's `sigmoid_range`: squashes `x` into `(low, high)`.
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// let y = kindling_core::nn::sigmoid_range(Tensor::<1>::zeros([1], &Device::flex()), 0.0, 5.5);
/// assert_eq!(y.into_scalar::<f32>(), 2.75);
/// ```
pub fn sigmoid_range<const D: usize>(x: Tensor<D>, low: f64, high: f64) -> Tensor<D> {
    sigmoid(x).mul_scalar(high - low).add_scalar(low)
}

/// [`sigmoid_range`] as a layer (fastai's `SigmoidRange`).
#[derive(Module, Debug)]
pub struct SigmoidRange {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

impl SigmoidRange {
    /// A layer squashing into `(low, high)`.
    pub fn new(low: f64, high: f64) -> Self {
        Self { low, high }
    }

    /// Applies it.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        sigmoid_range(x, self.low, self.high)
    }
}
