//! ResNet in torchvision's layout (`conv1`, `bn1`, `layer1`…`layer4`, `fc`; blocks with `conv1`,
//! `bn1`, …, `downsample`), so that torchvision's checkpoints load by name.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use kindling_core::nn::{batch_norm, conv2d, max_pool2d};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig, MaxPool2d, MaxPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d, Relu};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

/// Which ResNet, and its input and output sizes; stored in exported models.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResNetConfig {
    /// Blocks per stage: `[2, 2, 2, 2]` (18), `[3, 4, 6, 3]` (34, 50).
    pub layers: [usize; 4],
    /// Bottleneck blocks (ResNet 50 and deeper) instead of basic ones.
    pub bottleneck: bool,
    /// Input channels (3 for RGB, 1 for grey).
    pub in_channels: usize,
    /// Outputs of the final linear layer; `None` builds the body only.
    pub num_classes: Option<usize>,
    /// The compact stem for small images: a 3×3 convolution of stride 1 and no max-pool.
    pub small_stem: bool,
}

impl ResNetConfig {
    /// torchvision's `resnet18`.
    pub fn resnet18(num_classes: usize) -> Self {
        Self { layers: [2, 2, 2, 2], bottleneck: false, in_channels: 3, num_classes: Some(num_classes), small_stem: false }
    }

    /// torchvision's `resnet34`.
    pub fn resnet34(num_classes: usize) -> Self {
        Self { layers: [3, 4, 6, 3], ..Self::resnet18(num_classes) }
    }

    /// torchvision's `resnet50`.
    pub fn resnet50(num_classes: usize) -> Self {
        Self { layers: [3, 4, 6, 3], bottleneck: true, ..Self::resnet18(num_classes) }
    }

    /// `resnet18-small`: resnet18 with a 3×3, stride-1 stem and no max-pool, for 28×28 images
    /// (as `../shared/peer/fastai_vision_fmnist.py` builds it).
    pub fn resnet18_small(in_channels: usize, num_classes: usize) -> Self {
        Self { in_channels, small_stem: true, ..Self::resnet18(num_classes) }
    }

    /// The architecture named `name` (`resnet18`, `resnet34`, `resnet50`, `resnet18-small`).
    pub fn by_name(name: &str, in_channels: usize, num_classes: usize) -> Option<Self> {
        let c = match name {
            "resnet18" => Self::resnet18(num_classes),
            "resnet34" => Self::resnet34(num_classes),
            "resnet50" => Self::resnet50(num_classes),
            "resnet18-small" => Self::resnet18_small(in_channels, num_classes),
            _ => return None,
        };
        Some(Self { in_channels, ..c })
    }

    /// Channels of the body's output (512, or 2048 with bottlenecks).
    pub fn n_features(&self) -> usize {
        if self.bottleneck { 2048 } else { 512 }
    }

    /// The shape `[channels, height, width]` of each output [`ResNet::forward_stages`] gives
    /// for one image of `size` (`[height, width]`): the stem, the max-pool (when the stem has
    /// one), then `layer1` to `layer4` — the shapes fastai's `model_sizes` finds on the body's
    /// children, computed without running the network.
    ///
    /// ```
    /// use kindling_vision::models::ResNetConfig;
    /// let s = ResNetConfig::resnet18(10).stage_shapes([64, 64]);
    /// assert_eq!(s, vec![[64, 32, 32], [64, 16, 16], [64, 16, 16], [128, 8, 8], [256, 4, 4], [512, 2, 2]]);
    /// ```
    pub fn stage_shapes(&self, size: [usize; 2]) -> Vec<[usize; 3]> {
        // A stride-2 convolution or pooling with "half" padding: floor((n - 1) / 2) + 1.
        let half = |[h, w]: [usize; 2]| [h.saturating_sub(1) / 2 + 1, w.saturating_sub(1) / 2 + 1];
        let expansion = if self.bottleneck { 4 } else { 1 };
        let mut hw = if self.small_stem { size } else { half(size) };
        let mut out = vec![[64, hw[0], hw[1]]];
        if !self.small_stem {
            hw = half(hw);
            out.push([64, hw[0], hw[1]]);
        }
        for (stage, width) in [64, 128, 256, 512].into_iter().enumerate() {
            if stage > 0 {
                hw = half(hw);
            }
            out.push([width * expansion, hw[0], hw[1]]);
        }
        out
    }

    /// The model, freshly initialised (Kaiming, as torchvision).
    pub fn init(&self, device: &Device) -> ResNet {
        let conv = |i, o, k, s, p| {
            Conv2dConfig::new([i, o], [k, k])
                .with_stride([s, s])
                .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
                .with_bias(false)
                .init(device)
        };
        let bn = |c| BatchNormConfig::new(c).init(device);
        let (conv1, maxpool) = if self.small_stem {
            (conv(self.in_channels, 64, 3, 1, 1), None)
        } else {
            (conv(self.in_channels, 64, 7, 2, 3), Some(MaxPool2dConfig::new([3, 3]).with_strides([2, 2]).with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1)).init()))
        };
        let expansion = if self.bottleneck { 4 } else { 1 };
        let mut in_c = 64;
        let mut stages = Vec::new();
        for (stage, (&n, width)) in self.layers.iter().zip([64, 128, 256, 512]).enumerate() {
            let mut blocks = Vec::new();
            for b in 0..n {
                let stride = if b == 0 && stage > 0 { 2 } else { 1 };
                let out_c = width * expansion;
                let downsample = (stride != 1 || in_c != out_c).then(|| Downsample { conv: conv(in_c, out_c, 1, stride, 0), bn: bn(out_c) });
                blocks.push(if self.bottleneck {
                    Block::Bottleneck(Bottleneck {
                        conv1: conv(in_c, width, 1, 1, 0),
                        bn1: bn(width),
                        conv2: conv(width, width, 3, stride, 1),
                        bn2: bn(width),
                        conv3: conv(width, out_c, 1, 1, 0),
                        bn3: bn(out_c),
                        downsample,
                    })
                } else {
                    Block::Basic(BasicBlock { conv1: conv(in_c, width, 3, stride, 1), bn1: bn(width), conv2: conv(width, width, 3, 1, 1), bn2: bn(width), downsample })
                });
                in_c = out_c;
            }
            stages.push(blocks);
        }
        let mut stages = stages.into_iter();
        ResNet {
            conv1,
            bn1: bn(64),
            relu: Relu::new(),
            maxpool,
            layer1: stages.next().expect("4 stages"),
            layer2: stages.next().expect("4 stages"),
            layer3: stages.next().expect("4 stages"),
            layer4: stages.next().expect("4 stages"),
            avgpool: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            fc: self.num_classes.map(|c| LinearConfig::new(self.n_features(), c).init(device)),
        }
    }
}

/// The 1×1 convolution and BatchNorm that reshape a block's shortcut.
#[derive(Module, Debug)]
pub struct Downsample {
    /// torchvision's `downsample.0`.
    pub conv: Conv2d,
    /// torchvision's `downsample.1`.
    pub bn: BatchNorm,
}

impl Downsample {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        batch_norm(&self.bn, conv2d(&self.conv, x))
    }
}

/// Two 3×3 convolutions (ResNet 18 and 34).
#[derive(Module, Debug)]
pub struct BasicBlock {
    conv1: Conv2d,
    bn1: BatchNorm,
    conv2: Conv2d,
    bn2: BatchNorm,
    downsample: Option<Downsample>,
}

/// 1×1, 3×3, 1×1 convolutions with a 4× wider output (ResNet 50 and deeper).
#[derive(Module, Debug)]
pub struct Bottleneck {
    conv1: Conv2d,
    bn1: BatchNorm,
    conv2: Conv2d,
    bn2: BatchNorm,
    conv3: Conv2d,
    bn3: BatchNorm,
    downsample: Option<Downsample>,
}

/// A residual block.
#[derive(Module, Debug)]
pub enum Block {
    /// Basic block.
    Basic(BasicBlock),
    /// Bottleneck block.
    Bottleneck(Bottleneck),
}

impl Block {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let relu = burn::tensor::activation::relu;
        match self {
            Block::Basic(b) => {
                let identity = b.downsample.as_ref().map_or_else(|| x.clone(), |d| d.forward(x.clone()));
                let y = relu(batch_norm(&b.bn1, conv2d(&b.conv1, x)));
                relu(batch_norm(&b.bn2, conv2d(&b.conv2, y)) + identity)
            }
            Block::Bottleneck(b) => {
                let identity = b.downsample.as_ref().map_or_else(|| x.clone(), |d| d.forward(x.clone()));
                let y = relu(batch_norm(&b.bn1, conv2d(&b.conv1, x)));
                let y = relu(batch_norm(&b.bn2, conv2d(&b.conv2, y)));
                relu(batch_norm(&b.bn3, conv2d(&b.conv3, y)) + identity)
            }
        }
    }
}

/// See [`ResNetConfig`].
#[derive(Module, Debug)]
pub struct ResNet {
    conv1: Conv2d,
    bn1: BatchNorm,
    relu: Relu,
    maxpool: Option<MaxPool2d>,
    layer1: Vec<Block>,
    layer2: Vec<Block>,
    layer3: Vec<Block>,
    layer4: Vec<Block>,
    avgpool: AdaptiveAvgPool2d,
    fc: Option<Linear>,
}

impl ResNet {
    /// The body's feature maps `[batch, 512 or 2048, h, w]` (everything before pooling).
    pub fn forward_features(&self, x: Tensor<4>) -> Tensor<4> {
        let mut x = self.relu.forward(batch_norm(&self.bn1, conv2d(&self.conv1, x)));
        if let Some(p) = &self.maxpool {
            x = max_pool2d(p, x);
        }
        for block in self.layer1.iter().chain(&self.layer2).chain(&self.layer3).chain(&self.layer4) {
            x = block.forward(x);
        }
        x
    }

    /// The output of each top-level stage of the body, in order: the stem (`conv1`, `bn1`,
    /// ReLU), the max-pool (when the stem has one), then `layer1` to `layer4` — what fastai's
    /// `DynamicUnet` hooks for its skip connections. The last one is
    /// [`ResNet::forward_features`]; shapes are [`ResNetConfig::stage_shapes`].
    pub fn forward_stages(&self, x: Tensor<4>) -> Vec<Tensor<4>> {
        let mut out = Vec::with_capacity(6);
        let mut x = self.relu.forward(batch_norm(&self.bn1, conv2d(&self.conv1, x)));
        if let Some(p) = &self.maxpool {
            out.push(x.clone());
            x = max_pool2d(p, x);
        }
        out.push(x.clone());
        for layer in [&self.layer1, &self.layer2, &self.layer3, &self.layer4] {
            for block in layer {
                x = block.forward(x);
            }
            out.push(x.clone());
        }
        out
    }

    /// Logits `[batch, classes]` (or pooled features when built without `fc`).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let f = self.avgpool.forward(self.forward_features(x));
        let [b, c, _, _] = f.dims();
        let f = f.reshape([b, c]);
        match &self.fc {
            Some(fc) => fc.forward(f),
            None => f,
        }
    }
}
