//! fastai's `TabularModel`: an embedding per categorical column, embedding dropout, BatchNorm
//! on the continuous columns, `LinBnDrop` layers, and an optional sigmoid range for regression.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Embedding};
use burn::tensor::{Device, Int, Tensor};
use kindling_core::learner::TaskModel;
use kindling_core::nn::{BatchNorm, BatchNormConfig, LinBnDrop, LinBnDropConfig, SigmoidRange, emb_sz_rule, embedding};
use serde::{Deserialize, Serialize};

use crate::data::TabularBatch;

/// Everything needed to build a [`TabularModel`]; stored in the exported model file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TabularModelConfig {
    /// `(cardinality, width)` of each embedding.
    pub emb_szs: Vec<(usize, usize)>,
    /// Number of continuous inputs.
    pub n_cont: usize,
    /// Outputs (classes, or 1 for regression).
    pub out_sz: usize,
    /// Hidden layer sizes (fastai: `[200, 100]`).
    pub layers: Vec<usize>,
    /// Dropout after each hidden layer (fastai: none).
    pub ps: Vec<f64>,
    /// Dropout on the embeddings (fastai: 0).
    pub embed_p: f64,
    /// Squash the output into this range (regression).
    pub y_range: Option<(f64, f64)>,
}

impl TabularModelConfig {
    /// fastai's `tabular_learner` defaults for these cardinalities: widths from `emb_sz_rule`,
    /// layers `[200, 100]`, no dropout.
    pub fn new(cardinalities: &[usize], n_cont: usize, out_sz: usize) -> Self {
        Self {
            emb_szs: cardinalities.iter().map(|&c| (c, emb_sz_rule(c))).collect(),
            n_cont,
            out_sz,
            layers: vec![200, 100],
            ps: Vec::new(),
            embed_p: 0.0,
            y_range: None,
        }
    }

    /// The model, freshly initialised on `device`.
    pub fn init(&self, device: &Device) -> TabularModel {
        let n_emb: usize = self.emb_szs.iter().map(|(_, w)| w).sum();
        let mut sizes = vec![n_emb + self.n_cont];
        sizes.extend(&self.layers);
        sizes.push(self.out_sz);
        let n = sizes.len() - 1;
        let layers = (0..n)
            .map(|i| {
                let last = i == n - 1;
                LinBnDropConfig::new(sizes[i], sizes[i + 1])
                    .with_bn(!last)
                    .with_act(!last)
                    .with_p(if last { 0.0 } else { self.ps.get(i).copied().unwrap_or(0.0) })
                    .init(device)
            })
            .collect();
        TabularModel {
            embeds: self.emb_szs.iter().map(|&(c, w)| embedding(c, w, device)).collect(),
            emb_drop: DropoutConfig::new(self.embed_p).init(),
            bn_cont: (self.n_cont > 0).then(|| BatchNormConfig::new(self.n_cont).init(device)),
            layers,
            y_range: self.y_range.map(|(lo, hi)| SigmoidRange::new(lo, hi)),
        }
    }
}

/// See [`TabularModelConfig`].
#[derive(Module, Debug)]
pub struct TabularModel {
    /// One embedding per categorical input.
    pub embeds: Vec<Embedding>,
    /// Dropout on the concatenated embeddings.
    pub emb_drop: Dropout,
    /// BatchNorm on the continuous inputs.
    pub bn_cont: Option<BatchNorm>,
    /// The hidden and output layers.
    pub layers: Vec<LinBnDrop>,
    /// Output squashing for regression.
    pub y_range: Option<SigmoidRange>,
}

impl TabularModel {
    /// Predictions for category indices (one `[batch, 1]` tensor per categorical column, in
    /// embedding order) and continuous values `[batch, n_cont]`.
    pub fn forward(&self, cats: &[Tensor<2, Int>], conts: Tensor<2>) -> Tensor<2> {
        let [b, _] = conts.dims();
        let mut parts = Vec::new();
        if !self.embeds.is_empty() {
            let embs: Vec<Tensor<2>> = self
                .embeds
                .iter()
                .zip(cats)
                .map(|(e, idx)| {
                    let out = e.forward(idx.clone());
                    let w = out.dims()[2];
                    out.reshape([b, w])
                })
                .collect();
            parts.push(self.emb_drop.forward(Tensor::cat(embs, 1)));
        }
        if let Some(bn) = &self.bn_cont {
            parts.push(bn.forward(conts));
        }
        let mut x = Tensor::cat(parts, 1);
        for l in &self.layers {
            x = l.forward(x);
        }
        match &self.y_range {
            Some(r) => r.forward(x),
            None => x,
        }
    }
}

impl TaskModel<TabularBatch> for TabularModel {
    fn forward_batch(&self, batch: &TabularBatch) -> Tensor<2> {
        self.forward(&batch.cats, batch.conts.clone())
    }
}
