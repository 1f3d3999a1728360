//! EfficientNet-Lite (Google's mobile variant of EfficientNet: no squeeze-and-excitation,
//! ReLU6, TensorFlow's "same" padding, BatchNorm with eps 1e-3) in the layout of the
//! `efficientnet_pytorch` checkpoints (`_conv_stem`, `_bn0`, `_blocks.N._expand_conv`, …), so that
//! those weights load by name.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use kindling_core::nn::{batch_norm, conv2d};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::activation::relu6;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// One inverted-residual (MBConv) block: an optional 1×1 expansion, a depthwise k×k
/// convolution, and a 1×1 projection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MbConvConfig {
    /// Input channels.
    pub c_in: usize,
    /// Output channels.
    pub c_out: usize,
    /// Expansion ratio of the hidden width (1: no expansion convolution).
    pub expand: usize,
    /// Depthwise kernel size.
    pub kernel: usize,
    /// Depthwise stride.
    pub stride: usize,
}

/// An EfficientNet-Lite; stored in exported models.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EfficientNetConfig {
    /// Input channels.
    pub in_channels: usize,
    /// Channels of the stem (a 3×3, stride-2 convolution).
    pub stem: usize,
    /// The blocks, in order.
    pub blocks: Vec<MbConvConfig>,
    /// Channels of the final 1×1 convolution (the features a head sees).
    pub head: usize,
    /// Outputs of the final linear layer; `None` builds the body only.
    pub num_classes: Option<usize>,
    /// BatchNorm's epsilon (TensorFlow's 1e-3).
    pub bn_eps: f64,
}

impl EfficientNetConfig {
    /// EfficientNet-Lite0: 16 blocks in 7 stages, 3×224×224 in, 1,280 features.
    pub fn lite0(num_classes: Option<usize>) -> Self {
        // (expand, kernel, stride of the first block, channels out, repeats) per stage.
        let stages = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3), (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)];
        let mut blocks = Vec::new();
        let mut c_in = 32;
        for (expand, kernel, stride, c_out, repeats) in stages {
            for r in 0..repeats {
                blocks.push(MbConvConfig { c_in, c_out, expand, kernel, stride: if r == 0 { stride } else { 1 } });
                c_in = c_out;
            }
        }
        Self { in_channels: 3, stem: 32, blocks, head: 1280, num_classes, bn_eps: 1e-3 }
    }

    /// Channels of the body's output.
    pub fn n_features(&self) -> usize {
        self.head
    }

    /// The shape `[channels, height, width]` of each output [`EfficientNet::forward_stages`]
    /// gives for one image of `size` (`[height, width]`): the stem, every block, then the final
    /// 1×1 convolution. TensorFlow's "same" padding makes a stride-`s` layer's output
    /// `ceil(n / s)`.
    ///
    /// ```
    /// use kindling_vision::models::EfficientNetConfig;
    /// let s = EfficientNetConfig::lite0(None).stage_shapes([64, 64]);
    /// assert_eq!((s.len(), s[0], s[2], s[17]), (18, [32, 32, 32], [24, 16, 16], [1280, 2, 2]));
    /// ```
    pub fn stage_shapes(&self, size: [usize; 2]) -> Vec<[usize; 3]> {
        let down = |[h, w]: [usize; 2], s: usize| [h.div_ceil(s.max(1)), w.div_ceil(s.max(1))];
        let mut hw = down(size, 2);
        let mut out = vec![[self.stem, hw[0], hw[1]]];
        for b in &self.blocks {
            hw = down(hw, b.stride);
            out.push([b.c_out, hw[0], hw[1]]);
        }
        out.push([self.head, hw[0], hw[1]]);
        out
    }

    /// The network, freshly initialised.
    pub fn init(&self, device: &Device) -> EfficientNet {
        let conv = |c_in: usize, c_out: usize, k: usize, s: usize, groups: usize| {
            Conv2dConfig::new([c_in, c_out], [k, k]).with_stride([s, s]).with_groups(groups).with_padding(PaddingConfig2d::Same).with_bias(false).init(device)
        };
        let bn = |c: usize| BatchNormConfig::new(c).with_epsilon(self.bn_eps).init(device);
        let blocks = self
            .blocks
            .iter()
            .map(|b| {
                let hidden = b.c_in * b.expand;
                MbConv {
                    expand_conv: (b.expand != 1).then(|| conv(b.c_in, hidden, 1, 1, 1)),
                    bn0: (b.expand != 1).then(|| bn(hidden)),
                    depthwise_conv: conv(hidden, hidden, b.kernel, b.stride, hidden),
                    bn1: bn(hidden),
                    project_conv: conv(hidden, b.c_out, 1, 1, 1),
                    bn2: bn(b.c_out),
                    residual: b.stride == 1 && b.c_in == b.c_out,
                }
            })
            .collect();
        let last = self.blocks.last().map_or(self.stem, |b| b.c_out);
        EfficientNet {
            conv_stem: conv(self.in_channels, self.stem, 3, 2, 1),
            bn0: bn(self.stem),
            blocks,
            conv_head: conv(last, self.head, 1, 1, 1),
            bn1: bn(self.head),
            pool: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            fc: self.num_classes.map(|n| LinearConfig::new(self.head, n).init(device)),
        }
    }
}

/// See [`MbConvConfig`].
#[derive(Module, Debug)]
pub struct MbConv {
    /// 1×1 expansion (absent when the ratio is 1).
    pub expand_conv: Option<Conv2d>,
    /// Its BatchNorm.
    pub bn0: Option<BatchNorm>,
    /// Depthwise convolution.
    pub depthwise_conv: Conv2d,
    /// Its BatchNorm.
    pub bn1: BatchNorm,
    /// 1×1 projection.
    pub project_conv: Conv2d,
    /// Its BatchNorm (no activation after it).
    pub bn2: BatchNorm,
    /// Adds the input when stride and shape allow.
    pub residual: bool,
}

impl MbConv {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut h = x.clone();
        if let (Some(c), Some(b)) = (&self.expand_conv, &self.bn0) {
            h = relu6(batch_norm(b, conv2d(c, h)));
        }
        h = relu6(batch_norm(&self.bn1, conv2d(&self.depthwise_conv, h)));
        h = batch_norm(&self.bn2, conv2d(&self.project_conv, h));
        if self.residual { h + x } else { h }
    }
}

/// See [`EfficientNetConfig`].
#[derive(Module, Debug)]
pub struct EfficientNet {
    /// Stem convolution.
    pub conv_stem: Conv2d,
    /// Its BatchNorm.
    pub bn0: BatchNorm,
    /// The MBConv blocks.
    pub blocks: Vec<MbConv>,
    /// Final 1×1 convolution.
    pub conv_head: Conv2d,
    /// Its BatchNorm.
    pub bn1: BatchNorm,
    /// Global average pooling.
    pub pool: AdaptiveAvgPool2d,
    /// Classifier (absent in a body).
    pub fc: Option<Linear>,
}

impl EfficientNet {
    /// Features before pooling: `[batch, head, h/32, w/32]`.
    pub fn forward_features(&self, x: Tensor<4>) -> Tensor<4> {
        let mut x = relu6(batch_norm(&self.bn0, conv2d(&self.conv_stem, x)));
        for b in &self.blocks {
            x = b.forward(x);
        }
        relu6(batch_norm(&self.bn1, conv2d(&self.conv_head, x)))
    }

    /// The output of the stem, of every block, and of the final 1×1 convolution, in order: the
    /// feature maps a U-Net takes its skip connections from. The last one is
    /// [`EfficientNet::forward_features`]; shapes are [`EfficientNetConfig::stage_shapes`].
    pub fn forward_stages(&self, x: Tensor<4>) -> Vec<Tensor<4>> {
        let mut out = Vec::with_capacity(self.blocks.len() + 2);
        let mut x = relu6(batch_norm(&self.bn0, conv2d(&self.conv_stem, x)));
        out.push(x.clone());
        for b in &self.blocks {
            x = b.forward(x);
            out.push(x.clone());
        }
        out.push(relu6(batch_norm(&self.bn1, conv2d(&self.conv_head, x))));
        out
    }

    /// Logits (the classifier must be there).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let f = self.pool.forward(self.forward_features(x)).flatten::<2>(1, 3);
        match &self.fc {
            Some(fc) => fc.forward(f),
            None => f,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lite0_has_sixteen_blocks_with_the_published_strides() {
        let c = EfficientNetConfig::lite0(Some(1000));
        assert_eq!(c.blocks.len(), 16);
        let strided: Vec<usize> = c.blocks.iter().enumerate().filter(|(_, b)| b.stride == 2).map(|(i, _)| i).collect();
        assert_eq!(strided, vec![1, 3, 5, 11]);
        let device = Device::flex();
        let m = c.init(&device);
        // 4,652,008 parameters, as efficientnet_pytorch's lite0 (timm: efficientnet_lite0).
        assert_eq!(kindling_core::nn::num_params(&m), 4_652_008);
        let y = m.forward(Tensor::zeros([1, 3, 64, 64], &device));
        assert_eq!(y.dims(), [1, 1000]);
        // The stages have the shapes the config computes, odd sizes included.
        let x = Tensor::zeros([1, 3, 37, 45], &device);
        let stages: Vec<[usize; 3]> = m.forward_stages(x.clone()).iter().map(|s| { let [_, c, h, w] = s.dims(); [c, h, w] }).collect();
        assert_eq!(stages, c.stage_shapes([37, 45]));
        let last = m.forward_stages(x.clone()).pop().unwrap();
        assert_eq!(last.into_data(), m.forward_features(x).into_data());
    }
}
