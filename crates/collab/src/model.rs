//! fastai's collaborative-filtering models: `EmbeddingDotBias` (the dot product of user and
//! item factors plus their biases) and `EmbeddingNN` (the two embeddings through an MLP, which
//! is `TabularModel` with no continuous inputs).

use burn::module::Module;
use burn::nn::Embedding;
use burn::tensor::{Device, Int, Tensor};
use kindling_core::export::{Fault, TensorShapes};
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

impl CollabModelConfig {
    /// `Ok` when these sizes describe exactly the tensors of a model file (names and shapes),
    /// so that the model built from them fits the weights; otherwise a fault naming the `arch`
    /// field at odds with the tensors. Checked before [`init`](Self::init), so an edited size
    /// can never allocate a model of another shape.
    pub fn check_tensors(&self, tensors: &TensorShapes) -> Result<(), Fault> {
        if let Some((lo, hi)) = self.y_range
            && !(lo.is_finite() && hi.is_finite() && lo < hi)
        {
            return Err(Fault::new("arch.y_range", format!("({lo}, {hi}) is not a range of finite numbers, low before high")));
        }
        let mut expected: Vec<(String, Vec<usize>, &str)> = Vec::new();
        let mut want = |name: String, shape: Vec<usize>, field: &'static str| expected.push((name, shape, field));
        match &self.nn_layers {
            None => {
                for (who, rows, field) in [("u", self.n_users, "arch.n_users"), ("i", self.n_items, "arch.n_items")] {
                    // The rows first, so an edited count is named rather than the factors.
                    let name = format!("Dot.{who}_weight.weight");
                    if let Ok(d) = tensors.dims(&name)
                        && d.len() == 2
                        && d[0] == rows
                    {
                        want(name, vec![rows, self.n_factors], "arch.n_factors");
                    } else {
                        want(name, vec![rows, self.n_factors], field);
                    }
                    want(format!("Dot.{who}_bias.weight"), vec![rows, 1], field);
                }
            }
            Some(layers) => {
                if let Some(k) = layers.iter().position(|&w| w == 0) {
                    return Err(Fault::new("arch.nn_layers", format!("hidden layer {} has width 0", k + 1)));
                }
                let (wu, wi) = (emb_sz_rule(self.n_users), emb_sz_rule(self.n_items));
                want("Nn.embeds.0.weight".into(), vec![self.n_users, wu], "arch.n_users");
                want("Nn.embeds.1.weight".into(), vec![self.n_items, wi], "arch.n_items");
                let mut sizes = vec![wu + wi];
                sizes.extend(layers);
                sizes.push(1);
                let n = sizes.len() - 1;
                for k in 0..n {
                    want(format!("Nn.layers.{k}.lin.weight"), vec![sizes[k], sizes[k + 1]], "arch.nn_layers");
                    if k + 1 == n {
                        want(format!("Nn.layers.{k}.lin.bias"), vec![sizes[k + 1]], "arch.nn_layers");
                    } else {
                        for p in ["gamma", "beta", "running_mean", "running_var"] {
                            want(format!("Nn.layers.{k}.bn.{p}"), vec![sizes[k + 1]], "arch.nn_layers");
                        }
                    }
                }
            }
        }
        for (name, shape, field) in &expected {
            if !tensors.0.contains_key(name) {
                // Only another kind of model, or another number of layers, names other tensors.
                let model = if self.nn_layers.is_some() { "the neural model" } else { "the dot-product model" };
                return Err(Fault::new("arch.nn_layers", format!("describes {model}, which has a tensor `{name}` {shape:?}, but the file has no such tensor")));
            }
            tensors.expect(name, shape, field)?;
        }
        let extra: Vec<&str> = tensors.0.keys().map(String::as_str).filter(|k| !expected.iter().any(|(n, _, _)| n == k)).collect();
        if !extra.is_empty() {
            return Err(Fault::new("arch", format!("describes a model without the file's tensors {}", extra.join(", "))));
        }
        Ok(())
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
