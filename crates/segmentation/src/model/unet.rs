//! fastai's `DynamicUnet`: an encoder cut from a classifier (a torchvision ResNet or an
//! EfficientNet-Lite body, see [`encoder`](super::encoder)), its output normalised and passed
//! through two middle convolutions, then one [`UnetBlock`] for each change of resolution in
//! the encoder, fed by the encoder's output just before that change (the skip connection); a
//! last [`PixelShuffleIcnr`] back to the input's resolution (resized to it exactly, fastai's
//! `ResizeToOrig`), the input concatenated back in (the "last cross"), a [`ResBlock`], and a
//! 1×1 convolution to one score per class. With `self_attention`, the third block from the
//! end carries a [`SelfAttention`](super::SelfAttention), where fastai puts it.
//!
//! The decoder's shape follows from the encoder's stage shapes for the training image size,
//! as fastai finds them with `model_sizes`; [`UnetConfig::plan`] computes it without running
//! the network, so that an exported model can be checked and rebuilt from its header.

use burn::module::Module;
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use kindling_core::nn::BatchNorm;
use kindling_vision::models::{ArchConfig, Body};
use serde::{Deserialize, Serialize};

use super::blocks::{ConvLayer, PixelShuffleIcnr, ResBlock, UnetBlock, fastai_batch_norm, resize_nearest};
use super::encoder::{EncoderConfig, EncoderStages};

fn yes() -> bool {
    true
}

/// `unet_learner`'s architecture; stored in exported models.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UnetConfig {
    /// The encoder: a ResNet or EfficientNet body (no classifier); the header records which.
    pub encoder: ArchConfig,
    /// Classes (fastai's `n_out`).
    pub n_out: usize,
    /// `[height, width]` of the training images (fastai's `img_size`).
    pub img_size: [usize; 2],
    /// Blur after every pixel shuffle of the decoder blocks (fastai: off).
    #[serde(default)]
    pub blur: bool,
    /// With `blur`, blur in the last block too (fastai: on).
    #[serde(default = "yes")]
    pub blur_final: bool,
    /// Self-attention in the third decoder block from the end (fastai: off).
    #[serde(default)]
    pub self_attention: bool,
    /// Concatenate the input before the final ResBlock (fastai: on).
    #[serde(default = "yes")]
    pub last_cross: bool,
}

/// One decoder block's sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockPlan {
    /// The encoder stage whose output is the skip connection.
    pub skip: usize,
    /// Channels coming up the decoder.
    pub up_in_c: usize,
    /// Channels of the skip connection.
    pub x_in_c: usize,
    /// Whether the block keeps its concatenated width (all but the last).
    pub final_div: bool,
    /// Blur after its pixel shuffle.
    pub blur: bool,
    /// Self-attention after its second convolution.
    pub attention: bool,
    /// Channels out.
    pub n_out: usize,
}

/// The decoder's sizes for a [`UnetConfig`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnetPlan {
    /// Shapes `[c, h, w]` of the encoder's stages.
    pub stages: Vec<[usize; 3]>,
    /// Channels of the encoder's output (and of the middle convolutions' output).
    pub n_features: usize,
    /// The blocks, deepest first.
    pub blocks: Vec<BlockPlan>,
    /// Channels of the final pixel shuffle, when the first stage is not at full resolution.
    pub final_shuffle: Option<usize>,
    /// Channels of the final ResBlock (with the input concatenated), when `last_cross`.
    pub res_block: Option<usize>,
    /// Channels into the classifier.
    pub head_in: usize,
}

/// The positions `i` where the encoder's resolution changes after stage `i` (fastai's
/// `_get_sz_change_idxs`, which compares widths).
fn size_changes(stages: &[[usize; 3]]) -> Vec<usize> {
    (0..stages.len().saturating_sub(1)).filter(|&i| stages[i][2] != stages[i + 1][2]).collect()
}

impl UnetConfig {
    /// `unet_learner`'s defaults over `encoder` (its classifier removed) for `n_out` classes
    /// and images of `img_size`.
    pub fn new(encoder: impl Into<ArchConfig>, n_out: usize, img_size: [usize; 2]) -> Self {
        let encoder = encoder.into().without_classifier();
        Self { encoder, n_out, img_size, blur: false, blur_final: true, self_attention: false, last_cross: true }
    }

    /// The decoder's sizes, as `DynamicUnet.__init__` derives them.
    pub fn plan(&self) -> UnetPlan {
        let stages = self.encoder.stage_shapes(self.img_size);
        let mut idxs = size_changes(&stages);
        idxs.reverse();
        let n_features = stages.last().map_or(0, |s| s[0]);
        let mut x_c = n_features;
        let mut blocks = Vec::new();
        for (i, &skip) in idxs.iter().enumerate() {
            let not_final = i != idxs.len() - 1;
            // fastai: `self_attention and (i == len(sz_chg_idxs) - 3)`.
            let attention = self.self_attention && i + 3 == idxs.len();
            let (up_in_c, x_in_c) = (x_c, stages[skip][0]);
            let ni = up_in_c / 2 + x_in_c;
            let n_out = if not_final { ni } else { ni / 2 };
            blocks.push(BlockPlan { skip, up_in_c, x_in_c, final_div: not_final, blur: self.blur && (not_final || self.blur_final), attention, n_out });
            x_c = n_out;
        }
        let first = stages.first().map_or(self.img_size, |s| [s[1], s[2]]);
        let final_shuffle = (first != self.img_size).then_some(x_c);
        let res_block = self.last_cross.then_some(x_c + self.encoder.in_channels());
        UnetPlan { stages, n_features, blocks, final_shuffle, res_block, head_in: res_block.unwrap_or(x_c) }
    }

    /// The network, freshly initialised as fastai initialises it.
    pub fn init(&self, device: &Device) -> DynamicUnet {
        let plan = self.plan();
        let ni = plan.n_features;
        DynamicUnet {
            encoder: self.encoder.init(device),
            bn: fastai_batch_norm(ni, device),
            middle: vec![ConvLayer::new(ni, ni * 2, 3, true, device), ConvLayer::new(ni * 2, ni, 3, true, device)],
            blocks: plan.blocks.iter().map(|b| UnetBlock::new(b.up_in_c, b.x_in_c, b.final_div, b.blur, b.attention, device)).collect(),
            skips: plan.blocks.iter().map(|b| b.skip).collect(),
            shuf: plan.final_shuffle.map(|c| PixelShuffleIcnr::new(c, c, false, device)),
            res: plan.res_block.map(|c| ResBlock::new(c, device)),
            head: ConvLayer::classifier(plan.head_in, self.n_out, device),
        }
    }
}

/// See [`UnetConfig`].
#[derive(Module, Debug)]
pub struct DynamicUnet {
    /// The encoder (parameter group 0).
    pub encoder: Body,
    /// BatchNorm of the encoder's output.
    pub bn: BatchNorm,
    /// The two middle convolutions (`ni → 2·ni → ni`).
    pub middle: Vec<ConvLayer>,
    /// The decoder blocks, deepest first.
    pub blocks: Vec<UnetBlock>,
    /// The encoder stage feeding each block's skip connection.
    pub skips: Vec<usize>,
    /// The final upsampling to the input's resolution.
    pub shuf: Option<PixelShuffleIcnr>,
    /// The final ResBlock on the decoder's output and the input.
    pub res: Option<ResBlock>,
    /// 1×1 convolution to class scores.
    pub head: ConvLayer,
}

impl DynamicUnet {
    /// Class scores `[batch, n_out, h, w]` for images `[batch, channels, h, w]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [_, _, h, w] = x.dims();
        let stages = self.encoder.forward_stages(x.clone());
        let mut y = stages.last().expect("the encoder has stages").clone();
        y = relu(self.bn.forward(y));
        for m in &self.middle {
            y = m.forward(y);
        }
        for (block, &skip) in self.blocks.iter().zip(&self.skips) {
            y = block.forward(y, stages[skip].clone());
        }
        if let Some(s) = &self.shuf {
            y = s.forward(y);
        }
        y = resize_nearest(y, [h, w]);
        if let Some(r) = &self.res {
            y = r.forward(Tensor::cat(vec![y, x], 1));
        }
        self.head.forward(y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kindling_core::nn::num_params;
    use kindling_vision::models::{EfficientNetConfig, ResNetConfig};

    /// `unet_learner(dls, resnet18, pretrained=False, n_out=11)` on 64×64 RGB images has
    /// 31,113,908 parameters (`../shared/peer/fastai_unet_scenes.py` prints it).
    #[test]
    fn resnet18_unet_has_fastais_parameter_count_and_shapes() {
        let device = Device::flex();
        let cfg = UnetConfig::new(ResNetConfig::resnet18(1000), 11, [64, 64]);
        let plan = cfg.plan();
        assert_eq!(plan.blocks.iter().map(|b| b.skip).collect::<Vec<_>>(), vec![4, 3, 2, 0], "layer3, layer2, layer1, stem");
        assert_eq!(plan.blocks.iter().map(|b| b.n_out).collect::<Vec<_>>(), vec![512, 384, 256, 96]);
        assert_eq!((plan.final_shuffle, plan.res_block, plan.head_in), (Some(96), Some(99), 99));
        let m = cfg.init(&device);
        assert_eq!(num_params(&m), 31_113_908);
        let x = Tensor::zeros([1, 3, 64, 64], &device);
        let stages: Vec<[usize; 3]> = m.encoder.forward_stages(x.clone()).iter().map(|s| { let [_, c, h, w] = s.dims(); [c, h, w] }).collect();
        assert_eq!(stages, plan.stages, "the encoder's stages have the shapes the plan computes");
        let y = m.forward(x);
        assert_eq!(y.dims(), [1, 11, 64, 64]);
    }

    #[test]
    fn odd_sizes_and_small_stems_come_back_at_the_input_size() {
        let device = Device::flex();
        let cfg = UnetConfig::new(ResNetConfig::resnet18_small(1, 10), 3, [20, 28]);
        let plan = cfg.plan();
        assert_eq!(plan.final_shuffle, None, "a stride-1 stem needs no final upsampling");
        let m = cfg.init(&device);
        assert_eq!(m.forward(Tensor::zeros([2, 1, 20, 28], &device)).dims(), [2, 3, 20, 28]);
        let cfg = UnetConfig { blur: true, ..UnetConfig::new(ResNetConfig::resnet18(1), 2, [37, 45]) };
        let m = cfg.init(&device);
        assert_eq!(m.forward(Tensor::zeros([1, 3, 37, 45], &device)).dims(), [1, 2, 37, 45]);
    }

    /// fastai puts the attention in the third block from the end: on resnet18 at 64×64, the
    /// block of 384 channels (its `layers.5.conv2.2`, see tests/golden/unet_self_attention.json).
    #[test]
    fn self_attention_sits_where_fastai_puts_it() {
        let cfg = UnetConfig { self_attention: true, ..UnetConfig::new(ResNetConfig::resnet18(1000), 11, [64, 64]) };
        let plan = cfg.plan();
        assert_eq!(plan.blocks.iter().map(|b| b.attention).collect::<Vec<_>>(), vec![false, true, false, false]);
        assert_eq!(plan.blocks[1].n_out, 384);
        // Fewer than three blocks: no block gets it, as in fastai.
        let cfg = UnetConfig { self_attention: true, ..UnetConfig::new(ResNetConfig::resnet18(1000), 2, [4, 4]) };
        assert!(cfg.plan().blocks.len() < 3 && cfg.plan().blocks.iter().all(|b| !b.attention));
    }

    /// EfficientNet-Lite0: skips at each resolution change (the last block before each stride-2
    /// block, and the stem's block 0), a final shuffle from half resolution; the output comes
    /// back at the input's size.
    #[test]
    fn efficientnet_unet_takes_skips_at_every_resolution_change() {
        let device = Device::flex();
        let cfg = UnetConfig::new(EfficientNetConfig::lite0(Some(1000)), 5, [48, 40]);
        let plan = cfg.plan();
        // Stages: stem (0), blocks 0–15 (1–16), head (17). Stride-2 blocks are 1, 3, 5 and 11.
        assert_eq!(plan.blocks.iter().map(|b| b.skip).collect::<Vec<_>>(), vec![11, 5, 3, 1]);
        assert_eq!(plan.blocks.iter().map(|b| b.x_in_c).collect::<Vec<_>>(), vec![112, 40, 24, 16]);
        assert_eq!(plan.n_features, 1280);
        assert!(plan.final_shuffle.is_some());
        let m = cfg.init(&device);
        assert_eq!(m.forward(Tensor::zeros([2, 3, 48, 40], &device)).dims(), [2, 5, 48, 40]);
    }

    /// Model files written before `self_attention` existed still read.
    #[test]
    fn headers_without_self_attention_read_as_without_it() {
        let cfg = UnetConfig::new(ResNetConfig::resnet18(1), 3, [32, 32]);
        let mut v = serde_json::to_value(&cfg).unwrap();
        v.as_object_mut().unwrap().remove("self_attention");
        assert_eq!(serde_json::from_value::<UnetConfig>(v).unwrap(), cfg);
    }
}
