//! fastai's collaborative-filtering models: `EmbeddingDotBias` (the dot product of user and
//! item factors plus their biases) and `EmbeddingNN` (the two embeddings through an MLP, which
//! is `TabularModel` with no continuous inputs).

use burn::module::Module;
use burn::nn::Embedding;
use burn::tensor::{Device, Int, Tensor};
use kindling_core::learner::TaskModel;
use kindling_core::nn::{SigmoidRange, emb_sz_rule, embedding};
use kindling_tabular::model::{TabularModel, TabularModelConfig};
use serde::{Deserialize, Serialize};

use crate::data::CollabBatch;

/// Which model, and its sizes; stored in the exported file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CollabModelConfig {
    /// Rows of the user embedding (`#na#` included).
    pub n_users: usize,
    /// Rows of the item embedding.
    pub n_items: usize,
    /// Factors of the dot-product model (fastai: 50).
    pub n_factors: usize,
    /// Use the neural model (`EmbeddingNN`) with these hidden layers instead.
    pub nn_layers: Option<Vec<usize>>,
    /// Output range.
    pub y_range: Option<(f64, f64)>,
}

impl CollabModelConfig {
    /// The model, freshly initialised.
    pub fn init(&self, device: &Device) -> CollabModel {
        match &self.nn_layers {
            None => CollabModel::Dot(EmbeddingDotBias {
                u_weight: embedding(self.n_users, self.n_factors, device),
                i_weight: embedding(self.n_items, self.n_factors, device),
                u_bias: embedding(self.n_users, 1, device),
                i_bias: embedding(self.n_items, 1, device),
                y_range: self.y_range.map(|(lo, hi)| SigmoidRange::new(lo, hi)),
            }),
            Some(layers) => {
                let cfg = TabularModelConfig {
                    emb_szs: vec![(self.n_users, emb_sz_rule(self.n_users)), (self.n_items, emb_sz_rule(self.n_items))],
                    n_cont: 0,
                    out_sz: 1,
                    layers: layers.clone(),
                    ps: Vec::new(),
                    embed_p: 0.0,
                    y_range: self.y_range,
                };
                CollabModel::Nn(cfg.init(device))
            }
        }
    }
}

/// fastai's `EmbeddingDotBias`.
#[derive(Module, Debug)]
pub struct EmbeddingDotBias {
    /// User factors.
    pub u_weight: Embedding,
    /// Item factors.
    pub i_weight: Embedding,
    /// User biases.
    pub u_bias: Embedding,
    /// Item biases.
    pub i_bias: Embedding,
    /// Output range.
    pub y_range: Option<SigmoidRange>,
}

fn lookup(e: &Embedding, ids: Tensor<2, Int>) -> Tensor<2> {
    let out = e.forward(ids);
    let [b, _, w] = out.dims();
    out.reshape([b, w])
}

impl EmbeddingDotBias {
    /// Predicted ratings `[batch, 1]` for `[batch, 2]` (user, item) rows.
    pub fn forward(&self, pairs: Tensor<2, Int>) -> Tensor<2> {
        let [b, _] = pairs.dims();
        let users = pairs.clone().slice([0..b, 0..1]);
        let items = pairs.slice([0..b, 1..2]);
        let dot = (lookup(&self.u_weight, users.clone()) * lookup(&self.i_weight, items.clone())).sum_dim(1);
        let res = dot + lookup(&self.u_bias, users) + lookup(&self.i_bias, items);
        match &self.y_range {
            Some(r) => r.forward(res),
            None => res,
        }
    }
}

/// Either collaborative-filtering model.
#[derive(Module, Debug)]
pub enum CollabModel {
    /// Dot product with biases.
    Dot(EmbeddingDotBias),
    /// Embeddings through an MLP.
    Nn(TabularModel),
}

impl CollabModel {
    /// Predicted ratings `[batch, 1]`.
    pub fn forward(&self, pairs: Tensor<2, Int>) -> Tensor<2> {
        match self {
            CollabModel::Dot(m) => m.forward(pairs),
            CollabModel::Nn(m) => {
                let [b, _] = pairs.dims();
                let device = pairs.device();
                let cols = [pairs.clone().slice([0..b, 0..1]), pairs.slice([0..b, 1..2])];
                m.forward(&cols, Tensor::zeros([b, 0], &device))
            }
        }
    }
}

impl TaskModel<CollabBatch> for CollabModel {
    fn forward_batch(&self, batch: &CollabBatch) -> Tensor<2> {
        self.forward(batch.pairs.clone())
    }
}
