use burn::module::Param;
use burn::nn::Embedding;
use burn::tensor::{Device, Distribution, Tensor};

/// fastai's rule of thumb for the width of an embedding of `n_cat` categories:
/// `min(600, round(1.6 * n_cat^0.56))`.
///
/// ```
/// assert_eq!(kindling_core::nn::emb_sz_rule(10), 6);
/// assert_eq!(kindling_core::nn::emb_sz_rule(100_000), 600);
/// ```
pub fn emb_sz_rule(n_cat: usize) -> usize {
    600.min((1.6 * (n_cat as f64).powf(0.56)).round() as usize)
}

/// An embedding initialised as fastai's `Embedding`: `trunc_normal_` with standard deviation
/// 0.01, which draws from a standard normal, folds it into (-2, 2) with `fmod(2)` and scales it.
///
/// ```
/// use burn::tensor::Device;
/// let e = kindling_core::nn::embedding(100, 8, &Device::flex());
/// let max = e.weight.val().abs().max().into_scalar::<f32>();
/// assert!(max < 0.02);
/// ```
pub fn embedding(n: usize, dim: usize, device: &Device) -> Embedding {
    Embedding { weight: Param::from_tensor(trunc_normal([n, dim], 0.01, device)) }
}

/// fastai's `trunc_normal_(std)`: `normal(0, 1).fmod(2) * std`.
pub fn trunc_normal(shape: [usize; 2], std: f64, device: &Device) -> Tensor<2> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), device).fmod_scalar(2.0).mul_scalar(std)
}
