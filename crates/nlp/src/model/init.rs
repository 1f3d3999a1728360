//! Random initialisation as Hugging Face's `_init_weights` does it: weights drawn from a normal
//! distribution of standard deviation 0.02, biases zero.

use burn::nn::{Embedding, Initializer, LayerNorm, LayerNormConfig, Linear};
use burn::tensor::Device;

/// The standard deviation of BERT's `initializer_range`.
const STD: f64 = 0.02;

/// A `d_in → d_out` linear layer: weights ~ N(0, 0.02²), bias zero.
pub(crate) fn linear(d_in: usize, d_out: usize, device: &Device) -> Linear {
    Linear {
        weight: Initializer::Normal { mean: 0.0, std: STD }.init_with([d_in, d_out], Some(d_in), Some(d_out), device),
        bias: Some(Initializer::Zeros.init([d_out], device)),
    }
}

/// An `n × d` embedding table ~ N(0, 0.02²).
pub(crate) fn embedding(n: usize, d: usize, device: &Device) -> Embedding {
    Embedding { weight: Initializer::Normal { mean: 0.0, std: STD }.init([n, d], device) }
}

/// A LayerNorm of width `d` (scale one, shift zero).
pub(crate) fn layer_norm(d: usize, eps: f64, device: &Device) -> LayerNorm {
    LayerNormConfig::new(d).with_epsilon(eps).init(device)
}

