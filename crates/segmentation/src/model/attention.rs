//! fastai's `SelfAttention` (the SAGAN layer in fastai/layers.py), which `DynamicUnet` puts
//! after the second convolution of one decoder block when `self_attention=True`.
//!
//! Every position attends to every other: 1×1 convolutions give queries and keys of `n / 8`
//! channels and values of `n`; the attention weights are a softmax over the query positions;
//! the attended values, scaled by a learned `gamma` that starts at 0, are added to the input,
//! so the layer starts as the identity. fastai wraps the three convolutions in spectral
//! normalisation; kindling leaves it out (it rescales the weights, it adds no parameters).

use burn::module::{Module, Param};
use burn::nn::Initializer;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::tensor::{Device, Tensor};
use kindling_core::nn::{conv2d, softmax_last};

/// A 1×1 convolution without bias, Kaiming-normal weights (fastai's `_conv1d_spect`, and what
/// `UnetBlock`'s `apply_init` leaves in it).
fn conv1x1(ni: usize, nf: usize, device: &Device) -> Conv2d {
    let init = Initializer::KaimingNormal { gain: std::f64::consts::SQRT_2, fan_out_only: false };
    Conv2dConfig::new([ni, nf], [1, 1]).with_bias(false).with_initializer(init).init(device)
}

/// See the [module](self) documentation.
#[derive(Module, Debug)]
pub struct SelfAttention {
    /// Queries: `n → n / 8` channels.
    pub query: Conv2d,
    /// Keys: `n → n / 8` channels.
    pub key: Conv2d,
    /// Values: `n → n` channels.
    pub value: Conv2d,
    /// Scale of the attended values (starts at 0).
    pub gamma: Param<Tensor<1>>,
}

impl SelfAttention {
    /// The layer for `n_channels` channels (fastai's `SelfAttention(n_channels)`).
    pub fn new(n_channels: usize, device: &Device) -> Self {
        let qk = n_channels / 8;
        Self {
            query: conv1x1(n_channels, qk, device),
            key: conv1x1(n_channels, qk, device),
            value: conv1x1(n_channels, n_channels, device),
            gamma: Param::from_tensor(Tensor::zeros([1], device)),
        }
    }

    /// `x + gamma · attention(x)` for `x` of `[batch, channels, h, w]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [b, c, h, w] = x.dims();
        let n = h * w;
        let flat = |t: Tensor<4>| {
            let [_, ch, _, _] = t.dims();
            t.reshape([b, ch, n])
        };
        let f = flat(conv2d(&self.query, x.clone()));
        let g = flat(conv2d(&self.key, x.clone()));
        let v = flat(conv2d(&self.value, x.clone()));
        // fastai: beta = softmax(fᵀg, dim=1), o = v·beta. Its transpose, gᵀf, takes the softmax
        // over its last axis (core's fast kernel), and v·beta = v·(softmax(gᵀf))ᵀ.
        let beta_t = softmax_last(g.swap_dims(1, 2).matmul(f));
        let attended = v.matmul(beta_t.swap_dims(1, 2));
        let gamma = self.gamma.val().reshape([1, 1, 1]);
        (attended * gamma + flat(x)).reshape([b, c, h, w])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;
    use burn::tensor::activation::softmax;
    use kindling_core::nn::num_params;

    #[test]
    fn starts_as_the_identity_with_fastais_parameter_count() {
        let d = Device::flex();
        let att = SelfAttention::new(384, &d);
        // 384·48 (query) + 384·48 (key) + 384·384 (value) + 1 (gamma), as fastai's layer.
        assert_eq!(num_params(&att), 184_321);
        let x = Tensor::<4>::random([2, 384, 3, 5], Distribution::Normal(0.0, 1.0), &d);
        assert_eq!(att.forward(x.clone()).into_data(), x.into_data());
    }

    #[test]
    fn attends_as_fastai_computes_it() {
        let d = Device::flex();
        let mut att = SelfAttention::new(16, &d);
        att.gamma = Param::from_tensor(Tensor::from_floats([0.5], &d));
        let x = Tensor::<4>::random([2, 16, 3, 4], Distribution::Normal(0.0, 1.0), &d);
        // fastai's formula written out: softmax over dim 1 of fᵀg, o = 0.5·v·beta + x.
        let flat = |t: Tensor<4>| {
            let [b, c, h, w] = t.dims();
            t.reshape([b, c, h * w])
        };
        let f = flat(conv2d(&att.query, x.clone()));
        let g = flat(conv2d(&att.key, x.clone()));
        let v = flat(conv2d(&att.value, x.clone()));
        let beta = softmax(f.swap_dims(1, 2).matmul(g), 1);
        let expected = (v.matmul(beta).mul_scalar(0.5) + flat(x.clone())).reshape([2, 16, 3, 4]);
        let (a, e) = (att.forward(x).into_data().try_to_vec::<f32>().unwrap(), expected.into_data().try_to_vec::<f32>().unwrap());
        assert!(a.iter().zip(&e).all(|(a, e)| (a - e).abs() < 1e-4), "{a:?}\n{e:?}");
    }
}
