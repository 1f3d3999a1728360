//! A trained recommender: export, predictions for pairs, recommendations, similar items, and
//! chapter 8's look inside the embeddings.

use std::path::Path;

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use kindling_core::export;
use kindling_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::data::CollabData;
use crate::model::{CollabModel, CollabModelConfig};
use crate::vocab::IdVocab;

/// The task name in the model header.
pub const TASK: &str = "collab";

/// What the header's `preprocessing` holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CollabPreprocessing {
    /// User vocabulary.
    pub users: IdVocab,
    /// Item vocabulary.
    pub items: IdVocab,
    /// The (user, item, rating) column names of the training table.
    pub columns: (String, String, String),
    /// For each user row, the item rows rated in training (never recommended back).
    pub seen: Vec<Vec<u32>>,
    /// Ratings per item row in training.
    pub item_counts: Vec<u32>,
}

/// Writes the model and its vocabularies to one file.
pub fn export_collab(path: &Path, model: &CollabModel, config: &CollabModelConfig, data: &CollabData) -> Result<()> {
    let mut seen = vec![Vec::new(); data.users.len()];
    let mut item_counts = vec![0u32; data.items.len()];
    for &k in &data.splits.train {
        let (u, i) = (data.encoded.pairs[2 * k] as usize, data.encoded.pairs[2 * k + 1] as usize);
        seen[u].push(i as u32);
        item_counts[i] += 1;
    }
    for s in &mut seen {
        s.sort_unstable();
    }
    let pre = CollabPreprocessing { users: data.users.clone(), items: data.items.clone(), columns: data.ratings.columns.clone(), seen, item_counts };
    export::export_task(path, model, TASK, config, &pre, Vec::new())
}

/// A loaded recommender.
pub struct CollabPredictor {
    /// Vocabularies and training facts.
    pub pre: CollabPreprocessing,
    /// The model configuration.
    pub config: CollabModelConfig,
    model: CollabModel,
    device: Device,
}

/// One scored item.
#[derive(Clone, Debug, PartialEq)]
pub struct Scored {
    /// Item id.
    pub item: String,
    /// Predicted rating, or cosine similarity.
    pub score: f64,
}

impl CollabPredictor {
    /// Loads a model file written by [`export_collab`].
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        let f = export::open::<CollabModelConfig, CollabPreprocessing>(path, TASK, "a collaborative-filtering one")?;
        let mut pre = f.preprocessing;
        pre.users = pre.users.reindex();
        pre.items = pre.items.reindex();
        let model = export::load(path, f.arch.init(device), f.bytes)?.valid();
        Ok(Self { pre, config: f.arch, model, device: device.clone() })
    }

    /// Predicted ratings for (user row, item row) pairs.
    pub fn predict_rows(&self, pairs: &[(usize, usize)]) -> Result<Vec<f32>> {
        let mut out = Vec::with_capacity(pairs.len());
        for chunk in pairs.chunks(4096) {
            let flat: Vec<i64> = chunk.iter().flat_map(|&(u, i)| [u as i64, i as i64]).collect();
            let t = Tensor::<2, Int>::from_data(TensorData::new(flat, [chunk.len(), 2]), &self.device);
            let p = self.model.forward(t).into_data().convert::<f32>().try_into_vec::<f32>().map_err(|e| Error::Data(format!("{e:?}")))?;
            out.extend(p);
        }
        Ok(out)
    }

    /// Predicted rating of `item` by `user`; an id not seen in training is an error that says so.
    pub fn predict(&self, user: &str, item: &str) -> Result<f32> {
        let u = self.user_row(user)?;
        let i = self.item_row(item)?;
        Ok(self.predict_rows(&[(u, i)])?[0])
    }

    fn user_row(&self, user: &str) -> Result<usize> {
        self.pre.users.get(user).ok_or_else(|| Error::invalid("user", format!("'{user}' is not in the training data")))
    }

    fn item_row(&self, item: &str) -> Result<usize> {
        self.pre.items.get(item).ok_or_else(|| Error::invalid("item", format!("'{item}' is not in the training data")))
    }

    /// The `n` items with the highest predicted rating that `user` has not rated.
    pub fn recommend(&self, user: &str, n: usize) -> Result<Vec<Scored>> {
        let u = self.user_row(user)?;
        let seen = &self.pre.seen[u];
        let candidates: Vec<usize> = (1..self.pre.items.len()).filter(|i| seen.binary_search(&(*i as u32)).is_err()).collect();
        let pairs: Vec<(usize, usize)> = candidates.iter().map(|&i| (u, i)).collect();
        let scores = self.predict_rows(&pairs)?;
        let mut scored: Vec<Scored> = candidates.iter().zip(scores).map(|(&i, s)| Scored { item: self.pre.items.ids[i].clone(), score: s as f64 }).collect();
        scored.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.item.cmp(&b.item)));
        scored.truncate(n);
        Ok(scored)
    }

    /// Item factors, `n_items × d` row-major.
    pub fn item_factors(&self) -> Result<(Vec<f32>, usize)> {
        let w = match &self.model {
            CollabModel::Dot(m) => m.i_weight.weight.val(),
            CollabModel::Nn(m) => m.embeds[1].weight.val(),
        };
        let d = w.dims()[1];
        Ok((w.into_data().convert::<f32>().try_into_vec::<f32>().map_err(|e| Error::Data(format!("{e:?}")))?, d))
    }

    /// The `n` items whose factors are closest in cosine similarity to `item`'s.
    pub fn similar(&self, item: &str, n: usize) -> Result<Vec<Scored>> {
        let target = self.item_row(item)?;
        let (f, d) = self.item_factors()?;
        let row = |i: usize| &f[i * d..(i + 1) * d];
        let norm = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt().max(1e-12);
        let t = row(target);
        let tn = norm(t);
        let mut scored: Vec<Scored> = (1..self.pre.items.len())
            .filter(|&i| i != target)
            .map(|i| {
                let v = row(i);
                let dot: f64 = v.iter().zip(t).map(|(a, b)| *a as f64 * *b as f64).sum();
                Scored { item: self.pre.items.ids[i].clone(), score: dot / (norm(v) * tn) }
            })
            .collect();
        scored.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.item.cmp(&b.item)));
        scored.truncate(n);
        Ok(scored)
    }

    /// Item biases (dot-product model only), by item row.
    pub fn item_biases(&self) -> Result<Vec<f32>> {
        match &self.model {
            CollabModel::Dot(m) => m.i_bias.weight.val().into_data().convert::<f32>().try_into_vec::<f32>().map_err(|e| Error::Data(format!("{e:?}"))),
            CollabModel::Nn(_) => Err(Error::invalid("analyze", "the neural model (--use-nn) has no item biases")),
        }
    }
}
