//! The layers fastai's `DynamicUnet` is made of, as `unet_learner` builds them (`norm_type=None`:
//! the decoder's convolutions have biases and no BatchNorm; only the skip connections and the
//! encoder's output are normalised):
//!
//! - [`ConvLayer`]: a convolution with a bias, then ReLU (fastai's `ConvLayer(norm_type=None)`);
//! - [`PixelShuffleIcnr`]: a 1×1 convolution to 4× the channels, ReLU, and a pixel shuffle
//!   that doubles the resolution, initialised with ICNR (fastai's `PixelShuffle_ICNR`);
//! - [`UnetBlock`]: upsample, concatenate the normalised skip connection, two convolutions
//!   (the second optionally followed by [`SelfAttention`]);
//! - [`ResBlock`]: fastai's `ResBlock(1, ni, ni)`: two 3×3 convolutions and the identity.

use burn::module::{Module, Param};
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{Initializer, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use kindling_core::nn::{BatchNorm, BatchNormConfig, conv2d};

use super::attention::SelfAttention;

/// `nn.init.kaiming_normal_` (fan in, gain √2), as fastai's `apply_init` gives the decoder.
fn kaiming_normal() -> Initializer {
    Initializer::KaimingNormal { gain: std::f64::consts::SQRT_2, fan_out_only: false }
}

/// A `ks × ks` convolution (padding `ks / 2`) with a bias of zeros and weights from `init`
/// (`None`: PyTorch's default).
fn conv(ni: usize, nf: usize, ks: usize, init: Option<Initializer>, device: &Device) -> Conv2d {
    let p = ks / 2;
    let mut cfg = Conv2dConfig::new([ni, nf], [ks, ks]).with_padding(PaddingConfig2d::Explicit(p, p, p, p)).with_bias(true);
    if let Some(init) = init {
        cfg = cfg.with_initializer(init);
    }
    let mut c = cfg.init(device);
    c.bias = Some(Param::from_tensor(Tensor::zeros([nf], device)));
    c
}

/// fastai's `BatchNorm(nf)`: scale 1, shift 1e-3.
pub fn fastai_batch_norm(nf: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(nf).with_beta_init(1e-3).init(device)
}

/// A convolution with a bias, optionally followed by ReLU.
#[derive(Module, Debug)]
pub struct ConvLayer {
    /// The convolution.
    pub conv: Conv2d,
    /// ReLU after it.
    pub act: bool,
}

impl ConvLayer {
    /// `ni → nf`, kernel `ks`, ReLU when `act`, Kaiming-normal weights and zero biases (what
    /// `DynamicUnet` leaves in every decoder convolution after `apply_init`).
    pub fn new(ni: usize, nf: usize, ks: usize, act: bool, device: &Device) -> Self {
        Self { conv: conv(ni, nf, ks, Some(kaiming_normal()), device), act }
    }

    /// The final 1×1 classifier convolution: PyTorch's default weights and a bias drawn from
    /// N(0, 0.01) (fastai's `init_linear` with no activation), no ReLU.
    pub fn classifier(ni: usize, nf: usize, device: &Device) -> Self {
        let mut c = conv(ni, nf, 1, None, device);
        c.bias = Some(Param::from_tensor(Tensor::random([nf], Distribution::Normal(0.0, 0.01), device)));
        Self { conv: c, act: false }
    }

    /// Applies it.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = conv2d(&self.conv, x);
        if self.act { relu(y) } else { y }
    }
}

/// `x` upsampled by `scale` with PyTorch's `nn.PixelShuffle`: output channel `c` at
/// `(h·r + i, w·r + j)` is input channel `c·r² + i·r + j` at `(h, w)`.
pub fn pixel_shuffle(x: Tensor<4>, r: usize) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    let c_out = c / (r * r);
    x.reshape([b, c_out, r, r, h, w]).permute([0, 1, 4, 2, 5, 3]).reshape([b, c_out, h * r, w * r])
}

/// `x` resized to `[out_h, out_w]` as PyTorch's `F.interpolate(mode='nearest')`: output pixel
/// `o` reads input pixel `floor(o · in / out)`.
pub fn resize_nearest(x: Tensor<4>, [out_h, out_w]: [usize; 2]) -> Tensor<4> {
    let [_, _, h, w] = x.dims();
    if [h, w] == [out_h, out_w] {
        return x;
    }
    let device = x.device();
    let idx = |out: usize, n: usize| {
        let v: Vec<i64> = (0..out).map(|o| ((o * n / out).min(n - 1)) as i64).collect();
        Tensor::<1, Int>::from_data(TensorData::new(v, [out]), &device)
    };
    x.select(2, idx(out_h, h)).select(3, idx(out_w, w))
}

/// fastai's blur after a pixel shuffle: replicate the first row and column
/// (`ReplicationPad2d((1, 0, 1, 0))`), then a 2×2 average with stride 1.
pub fn blur(x: Tensor<4>) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    let x = Tensor::cat(vec![x.clone().slice([0..b, 0..c, 0..h, 0..1]), x], 3);
    let x = Tensor::cat(vec![x.clone().slice([0..b, 0..c, 0..1, 0..w + 1]), x], 2);
    let a = x.clone().slice([0..b, 0..c, 0..h, 0..w]);
    let bb = x.clone().slice([0..b, 0..c, 1..h + 1, 0..w]);
    let cc = x.clone().slice([0..b, 0..c, 0..h, 1..w + 1]);
    let d = x.slice([0..b, 0..c, 1..h + 1, 1..w + 1]);
    (a + bb + cc + d).div_scalar(4.0)
}

/// fastai's `PixelShuffle_ICNR(ni, nf, blur, norm_type=None)`: a 1×1 convolution `ni → 4·nf`,
/// ReLU, a 2× pixel shuffle, and optionally a blur. The weights start with ICNR: the four
/// sub-pixel filters of each output channel equal, so the layer starts as a nearest-neighbour
/// upsampling (no checkerboard).
#[derive(Module, Debug)]
pub struct PixelShuffleIcnr {
    /// The 1×1 convolution (with ReLU).
    pub conv: ConvLayer,
    /// Blur after the shuffle.
    pub blur: bool,
}

impl PixelShuffleIcnr {
    /// `ni → nf` channels at twice the resolution.
    pub fn new(ni: usize, nf: usize, blur: bool, device: &Device) -> Self {
        let mut c = conv(ni, nf * 4, 1, Some(kaiming_normal()), device);
        c.weight = Param::from_tensor(icnr_weight(ni, nf, 2, device));
        Self { conv: ConvLayer { conv: c, act: true }, blur }
    }

    /// Applies it.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let y = pixel_shuffle(self.conv.forward(x), 2);
        if self.blur { blur(y) } else { y }
    }
}

/// fastai's `icnr_init` of a `[nf·scale², ni, 1, 1]` weight: Kaiming-normal filters for `nf`
/// channels, each repeated `scale²` times in a row.
pub fn icnr_weight(ni: usize, nf: usize, scale: usize, device: &Device) -> Tensor<4> {
    let std = (2.0 / ni as f64).sqrt();
    let k = Tensor::<2>::random([nf, ni], Distribution::Normal(0.0, std), device);
    k.reshape([nf, 1, ni]).repeat_dim(1, scale * scale).reshape([nf * scale * scale, ni, 1, 1])
}

/// fastai's `UnetBlock`: upsample the decoder's input with [`PixelShuffleIcnr`] to half its
/// channels, resize to the skip connection's size when they differ, concatenate the skip
/// connection after a BatchNorm, ReLU, two [`ConvLayer`]s, and optionally [`SelfAttention`]
/// (fastai's `xtra` of the second convolution).
#[derive(Module, Debug)]
pub struct UnetBlock {
    /// Upsampling.
    pub shuf: PixelShuffleIcnr,
    /// BatchNorm of the skip connection.
    pub bn: BatchNorm,
    /// First convolution.
    pub conv1: ConvLayer,
    /// Second convolution.
    pub conv2: ConvLayer,
    /// Self-attention after the second convolution (fastai's `self_attention` block).
    pub attn: Option<SelfAttention>,
}

impl UnetBlock {
    /// A block taking `up_in_c` decoder channels and a skip connection of `x_in_c`: it gives
    /// `up_in_c / 2 + x_in_c` channels, halved when `final_div` is false (the last block);
    /// with `attention`, a [`SelfAttention`] over them ends the block.
    pub fn new(up_in_c: usize, x_in_c: usize, final_div: bool, blur: bool, attention: bool, device: &Device) -> Self {
        let ni = up_in_c / 2 + x_in_c;
        let nf = if final_div { ni } else { ni / 2 };
        Self {
            shuf: PixelShuffleIcnr::new(up_in_c, up_in_c / 2, blur, device),
            bn: fastai_batch_norm(x_in_c, device),
            conv1: ConvLayer::new(ni, nf, 3, true, device),
            conv2: ConvLayer::new(nf, nf, 3, true, device),
            attn: attention.then(|| SelfAttention::new(nf, device)),
        }
    }

    /// Output channels.
    pub fn n_out(&self) -> usize {
        self.conv2.conv.weight.dims()[0]
    }

    /// The block on the decoder's input `up_in` and the encoder's stored output `skip`.
    pub fn forward(&self, up_in: Tensor<4>, skip: Tensor<4>) -> Tensor<4> {
        let [_, _, h, w] = skip.dims();
        let up = resize_nearest(self.shuf.forward(up_in), [h, w]);
        let cat = relu(Tensor::cat(vec![up, self.bn.forward(skip)], 1));
        let y = self.conv2.forward(self.conv1.forward(cat));
        match &self.attn {
            Some(a) => a.forward(y),
            None => y,
        }
    }
}

/// fastai's `ResBlock(1, ni, ni, norm_type=None)`: `relu(conv2(conv1(x)) + x)`, the first
/// convolution with ReLU, the second without.
#[derive(Module, Debug)]
pub struct ResBlock {
    /// 3×3 convolution and ReLU.
    pub conv1: ConvLayer,
    /// 3×3 convolution.
    pub conv2: ConvLayer,
}

impl ResBlock {
    /// A block of `ni` channels.
    pub fn new(ni: usize, device: &Device) -> Self {
        Self { conv1: ConvLayer::new(ni, ni, 3, true, device), conv2: ConvLayer::new(ni, ni, 3, false, device) }
    }

    /// Applies it.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        relu(self.conv2.forward(self.conv1.forward(x.clone())) + x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(t: Tensor<4>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_into_vec().unwrap()
    }

    #[test]
    fn pixel_shuffle_matches_pytorch_layout() {
        let d = Device::flex();
        // One image, 8 channels of 1×1 (values = channel index): 2 output channels of 2×2.
        let x = Tensor::<4>::from_data(TensorData::new((0..8).map(|v| v as f32).collect::<Vec<_>>(), [1, 8, 1, 1]), &d);
        assert_eq!(values(pixel_shuffle(x, 2)), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
        // 4 channels of 1×2: output (0, y, x) = channel (y % 2) * 2 + (x % 2) at (0, x / 2).
        let x = Tensor::<4>::from_data(TensorData::new(vec![0.0f32, 10.0, 1.0, 11.0, 2.0, 12.0, 3.0, 13.0], [1, 4, 1, 2]), &d);
        assert_eq!(values(pixel_shuffle(x, 2)), vec![0.0, 1.0, 10.0, 11.0, 2.0, 3.0, 12.0, 13.0]);
    }

    #[test]
    fn icnr_starts_as_nearest_upsampling() {
        let d = Device::flex();
        let ps = PixelShuffleIcnr::new(6, 3, false, &d);
        let x = Tensor::<4>::random([1, 6, 3, 3], Distribution::Normal(0.0, 1.0), &d);
        let y = values(ps.forward(x));
        // Every 2×2 cell of every output channel holds one value.
        for c in 0..3 {
            for (yy, xx) in [(0, 0), (2, 4), (4, 2)] {
                let at = |dy: usize, dx: usize| y[c * 36 + (yy + dy) * 6 + xx + dx];
                assert!(at(0, 0) == at(0, 1) && at(0, 0) == at(1, 0) && at(0, 0) == at(1, 1));
            }
        }
    }

    #[test]
    fn nearest_resize_and_blur() {
        let d = Device::flex();
        let x = Tensor::<4>::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0], [1, 1, 2, 2]), &d);
        assert_eq!(values(resize_nearest(x.clone(), [3, 3])), vec![1.0, 1.0, 2.0, 1.0, 1.0, 2.0, 3.0, 3.0, 4.0]);
        // Blur: (pad top-left by replication) 2×2 means.
        assert_eq!(values(blur(x)), vec![1.0, 1.5, 2.0, 2.5]);
    }
}
