//! fastai's `create_head`: the layers `vision_learner` puts on a pretrained body — concat
//! pooling (max and average), then `LinBnDrop` blocks (BatchNorm, Dropout, Linear, ReLU).

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use kindling_core::nn::{LinBnDrop, LinBnDropConfig};
use serde::{Deserialize, Serialize};

/// `create_head`'s settings (fastai's defaults by [`HeadConfig::new`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeadConfig {
    /// Features entering the head, after pooling (fastai's `nf`; concat pooling doubles it).
    pub nf: usize,
    /// Outputs.
    pub n_out: usize,
    /// Hidden sizes (fastai: `[512]`).
    pub lin_ftrs: Vec<usize>,
    /// Dropout of the last block; earlier blocks get half of it (fastai: 0.5).
    pub ps: f64,
    /// Pool with both max and average, concatenated (fastai: true).
    pub concat_pool: bool,
}

impl HeadConfig {
    /// fastai's `create_head(nf, n_out)`.
    pub fn new(nf: usize, n_out: usize) -> Self {
        Self { nf, n_out, lin_ftrs: vec![512], ps: 0.5, concat_pool: true }
    }

    /// The head, freshly initialised.
    pub fn init(&self, device: &Device) -> Head {
        let nf = if self.concat_pool { self.nf * 2 } else { self.nf };
        let mut sizes = vec![nf];
        sizes.extend(&self.lin_ftrs);
        sizes.push(self.n_out);
        let n = sizes.len() - 1;
        let layers = (0..n)
            .map(|i| {
                let last = i == n - 1;
                LinBnDropConfig::new(sizes[i], sizes[i + 1])
                    .with_bn(true)
                    .with_p(if last { self.ps } else { self.ps / 2.0 })
                    .with_act(!last)
                    .with_lin_first(false)
                    .init(device)
            })
            .collect();
        Head { layers, concat_pool: self.concat_pool }
    }
}

/// See [`HeadConfig`].
#[derive(Module, Debug)]
pub struct Head {
    /// The blocks.
    pub layers: Vec<LinBnDrop>,
    /// Max and average pooling concatenated (max first, as fastai's `AdaptiveConcatPool2d`).
    pub concat_pool: bool,
}

impl Head {
    /// Logits from feature maps `[batch, channels, h, w]`.
    pub fn forward(&self, features: Tensor<4>) -> Tensor<2> {
        let [b, c, _, _] = features.dims();
        let avg = features.clone().mean_dim(3).mean_dim(2).reshape([b, c]);
        let mut x = if self.concat_pool {
            let max = features.max_dim(3).max_dim(2).reshape([b, c]);
            Tensor::cat(vec![max, avg], 1)
        } else {
            avg
        };
        for l in &self.layers {
            x = l.forward(x);
        }
        x
    }
}
