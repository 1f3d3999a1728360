use burn::module::Initializer;
use burn::nn::{Embedding, EmbeddingConfig};
use burn::tensor::Device;

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

/// An embedding initialised as fastai's `Embedding`: normal with standard deviation 0.01
/// (fastai truncates at two standard deviations; the difference is immaterial at this scale).
pub fn embedding(n: usize, dim: usize, device: &Device) -> Embedding {
    EmbeddingConfig::new(n, dim).with_initializer(Initializer::Normal { mean: 0.0, std: 0.01 }).init(device)
}
