//! A trained recommender: export, predictions for pairs, recommendations, similar items, and
//! chapter 8's look inside the embeddings.

use std::collections::HashMap;
use std::path::Path;

use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use kindling_core::export::{self, Fault, ModelHeader, SplitRecord};
use kindling_core::{Error, Result};
use kindling_tabular::procs::NA;
use serde::{Deserialize, Serialize};

use crate::data::CollabData;
use crate::model::{CollabModel, CollabModelConfig};
use crate::source::RatingsSource;
use crate::suggest::{Lookup, lookup, or_list, thousands};
use crate::titles::Titles;
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
    /// The ratings file, how it was read and split (absent from files written before it was
    /// recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<RatingsSource>,
}

/// Writes the model and its vocabularies to one file.
pub fn export_collab(path: &Path, model: &CollabModel, config: &CollabModelConfig, data: &CollabData) -> Result<()> {
    let split = data.source.as_ref().map(|s| s.split_record(&data.ratings, &data.splits));
    export::export_task(path, model, TASK, config, &CollabPreprocessing::new(data), Vec::new(), split)
}

/// The header [`export_collab`] writes for a model of `config` on `data` (without the split):
/// what `train --from` checks a model file against. The vocabularies (`users`, `items`) are
/// what must match ([`FITTED`]).
pub fn collab_header(config: &CollabModelConfig, data: &CollabData) -> Result<ModelHeader> {
    export::task_header(TASK, config, &CollabPreprocessing::new(data), Vec::new())
}

/// The preprocessing keys fitted on the training ratings that give the weights their meaning.
pub const FITTED: [&str; 2] = ["users", "items"];

impl CollabPreprocessing {
    /// The vocabularies and training facts of `data`.
    pub fn new(data: &CollabData) -> Self {
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
        Self { users: data.users.clone(), items: data.items.clone(), columns: data.ratings.columns.clone(), seen, item_counts, source: data.source.clone() }
    }
}

/// A loaded recommender.
pub struct CollabPredictor {
    /// Vocabularies and training facts.
    pub pre: CollabPreprocessing,
    /// The model configuration.
    pub config: CollabModelConfig,
    /// The record of the train/valid split, when the file has one.
    pub split: Option<SplitRecord>,
    model: CollabModel,
    device: Device,
}

/// One scored item.
#[derive(Clone, Debug, PartialEq)]
pub struct Scored {
    /// Item row.
    pub row: usize,
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
        Ok(Self { pre, config: f.arch, split: f.split, model, device: device.clone() })
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
        self.find_user(user, "user")
    }

    fn item_row(&self, item: &str) -> Result<usize> {
        self.find_item(item, None, "item")
    }

    /// The row of user `query`: its id exactly, or the one id equal to it as a number (`015` is
    /// `15`) or ignoring case. Otherwise an error for the setting `flag` that says which ids
    /// there are: their range when they are whole numbers, else the closest ones.
    pub fn find_user(&self, query: &str, flag: &str) -> Result<usize> {
        let ids = &self.pre.users.ids[1..];
        if let Some(r) = self.pre.users.get(query) {
            return Ok(r);
        }
        let numbers: Option<Vec<i128>> = ids.iter().map(|s| s.trim().parse::<i128>().ok()).collect();
        let q = query.trim();
        if let Some(numbers) = numbers.filter(|n| !n.is_empty()) {
            if let Ok(v) = q.parse::<f64>()
                && let Some(k) = numbers.iter().position(|&n| n as f64 == v)
            {
                return Ok(k + 1);
            }
            let (lo, hi) = (numbers.iter().min().copied().unwrap_or(0), numbers.iter().max().copied().unwrap_or(0));
            let gaps = if hi - lo + 1 == numbers.len() as i128 { "" } else { ", not every one in between" };
            return Err(Error::invalid(
                flag,
                format!("user '{query}' is not in the training data: its {} users have ids from {lo} to {hi}{gaps}", thousands(numbers.len())),
            ));
        }
        let names: Vec<(usize, &str)> = ids.iter().enumerate().map(|(k, s)| (k + 1, s.as_str())).collect();
        match lookup(q, &names) {
            Lookup::Found(r) => Ok(r),
            found => Err(Error::invalid(flag, not_found("user", query, found, |r| format!("'{}'", self.pre.users.ids[r]), ids.len()))),
        }
    }

    /// The row of item `query`: by its id or, with `titles`, its title — exactly, else ignoring
    /// case, punctuation, a trailing year such as `(1995)` and a moved article (`Matrix, The`).
    /// Otherwise an error for the setting `flag` suggesting the closest names.
    pub fn find_item(&self, query: &str, titles: Option<&Titles>, flag: &str) -> Result<usize> {
        if let Some(r) = self.pre.items.get(query) {
            return Ok(r);
        }
        let n = self.pre.items.len();
        let mut names: Vec<(usize, &str)> = (1..n).map(|r| (r, self.pre.items.ids[r].as_str())).collect();
        if let Some(t) = titles {
            names.extend((1..n).filter_map(|r| Some((r, t.get(r)?))));
        }
        let show = |r: usize| match titles.and_then(|t| t.get(r)) {
            Some(title) => format!("'{title}' (id {})", self.pre.items.ids[r]),
            None => format!("'{}'", self.pre.items.ids[r]),
        };
        match lookup(query.trim(), &names) {
            Lookup::Found(r) => Ok(r),
            found => {
                let reason = not_found("item", query, found, show, n - 1);
                let numeric = |s: &str| s.trim().parse::<f64>().is_ok();
                if titles.is_none() && !numeric(query) && self.pre.items.ids[1..].iter().all(|id| numeric(id)) {
                    return Err(Error::invalid(
                        flag,
                        format!("{reason}; this model's items are ids (as '{}'): pass --titles FILE (a table of ids and titles) to find them by title", self.pre.items.ids[1]),
                    ));
                }
                Err(Error::invalid(flag, reason))
            }
        }
    }

    /// The `n` items with the highest predicted rating that `user` has not rated.
    pub fn recommend(&self, user: &str, n: usize) -> Result<Vec<Scored>> {
        self.recommend_row(self.user_row(user)?, n)
    }

    /// [`recommend`](Self::recommend) for user row `u`.
    pub fn recommend_row(&self, u: usize, n: usize) -> Result<Vec<Scored>> {
        if u == 0 || u >= self.pre.users.len() {
            return Err(Error::invalid("user", format!("row {u} is not a user row (1 to {})", self.pre.users.len() - 1)));
        }
        let seen = &self.pre.seen[u];
        let candidates: Vec<usize> = (1..self.pre.items.len()).filter(|i| seen.binary_search(&(*i as u32)).is_err()).collect();
        let pairs: Vec<(usize, usize)> = candidates.iter().map(|&i| (u, i)).collect();
        let scores = self.predict_rows(&pairs)?;
        let mut scored: Vec<Scored> = candidates.iter().zip(scores).map(|(&i, s)| Scored { row: i, item: self.pre.items.ids[i].clone(), score: s as f64 }).collect();
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
        self.similar_row(self.item_row(item)?, n)
    }

    /// [`similar`](Self::similar) for item row `target`.
    pub fn similar_row(&self, target: usize, n: usize) -> Result<Vec<Scored>> {
        if target == 0 || target >= self.pre.items.len() {
            return Err(Error::invalid("item", format!("row {target} is not an item row (1 to {})", self.pre.items.len() - 1)));
        }
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
                Scored { row: i, item: self.pre.items.ids[i].clone(), score: dot / (norm(v) * tn) }
            })
            .collect();
        scored.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.item.cmp(&b.item)));
        scored.truncate(n);
        Ok(scored)
    }

    /// Item biases by item row: `None` for the neural model, which has none.
    pub fn item_biases(&self) -> Option<Result<Vec<f32>>> {
        match &self.model {
            CollabModel::Dot(m) => Some(m.i_bias.weight.val().into_data().convert::<f32>().try_into_vec::<f32>().map_err(|e| Error::Data(format!("{e:?}")))),
            CollabModel::Nn(_) => None,
        }
    }
}

/// A header is trusted only as far as it agrees with its tensors: the architecture with the
/// tensors' shapes ([`CollabModelConfig::check_tensors`]), then every table the predictor
/// indexes with (vocabularies, `seen`, `item_counts`) with the architecture, so that an edited
/// file is an error naming the field, never an index out of bounds.
impl export::HeaderCheck<CollabModelConfig> for CollabPreprocessing {
    fn check(&self, arch: &CollabModelConfig, classes: &[String], tensors: &export::TensorShapes) -> std::result::Result<(), Fault> {
        if !classes.is_empty() {
            return Err(Fault::new("classes", format!("has {} entries, but a collaborative-filtering model predicts ratings, not classes", classes.len())));
        }
        arch.check_tensors(tensors)?;
        check_vocab("preprocessing.users.ids", &self.users, arch.n_users, "the user embedding's rows (arch.n_users)")?;
        check_vocab("preprocessing.items.ids", &self.items, arch.n_items, "the item embedding's rows (arch.n_items)")?;
        Fault::len("preprocessing.seen", self.seen.len(), arch.n_users, "the user rows (arch.n_users)")?;
        Fault::len("preprocessing.item_counts", self.item_counts.len(), arch.n_items, "the item rows (arch.n_items)")?;
        let mut counts = vec![0u32; arch.n_items];
        for (u, rated) in self.seen.iter().enumerate() {
            for (k, &i) in rated.iter().enumerate() {
                let user = &self.users.ids[u];
                if i as usize >= arch.n_items {
                    return Err(Fault::new("preprocessing.seen", format!("user '{user}' (row {u}) rated item row {i}, but there are {} item rows", arch.n_items)));
                }
                if k > 0 && rated[k - 1] >= i {
                    return Err(Fault::new("preprocessing.seen", format!("the item rows of user '{user}' (row {u}) are not in increasing order ({} then {i})", rated[k - 1])));
                }
                counts[i as usize] += 1;
            }
        }
        if let Some(i) = (0..arch.n_items).find(|&i| counts[i] != self.item_counts[i]) {
            return Err(Fault::new(
                "preprocessing.item_counts",
                format!("item '{}' (row {i}) has {} ratings, but preprocessing.seen lists {} users who rated it", self.items.ids[i], self.item_counts[i], counts[i]),
            ));
        }
        Ok(())
    }
}

/// Why `query` is not a `what` ([`lookup`] did not find it among `total`); `show` names a row, quoted.
fn not_found(what: &str, query: &str, found: Lookup, show: impl Fn(usize) -> String, total: usize) -> String {
    let shown = |rows: &[usize]| or_list(&rows.iter().map(|&r| show(r)).collect::<Vec<_>>());
    match found {
        Lookup::Ambiguous(rows) => format!("'{query}' could be {} {what}s: {}; give one of them exactly", rows.len(), shown(&rows)),
        Lookup::Missing(rows) if rows.is_empty() => format!(
            "{what} '{query}' is not in the training data ({} {what}s), and none is named like it (names are matched ignoring case, punctuation and a trailing year)",
            thousands(total)
        ),
        Lookup::Missing(rows) => format!("{what} '{query}' is not in the training data ({} {what}s); did you mean {}?", thousands(total), shown(&rows)),
        Lookup::Found(r) => format!("'{query}' is {}", show(r)),
    }
}

/// `#na#` at row 0, then distinct ids, as many as the embedding's `rows`.
fn check_vocab(field: &str, v: &IdVocab, rows: usize, what: &str) -> std::result::Result<(), Fault> {
    Fault::len(field, v.len(), rows, what)?;
    if v.ids.first().map(String::as_str) != Some(NA) {
        return Err(Fault::new(field, format!("row 0 is {:?}, not the `{NA}` row of unseen ids", v.ids.first().map(String::as_str).unwrap_or(""))));
    }
    let mut rows_of: HashMap<&str, usize> = HashMap::new();
    for (k, id) in v.ids.iter().enumerate().skip(1) {
        if let Some(first) = rows_of.insert(id.as_str(), k) {
            return Err(Fault::new(field, format!("id '{id}' is listed twice (rows {first} and {k})")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use kindling_core::data::split::{RandomSplitter, Splitter};
    use serde_json::{Value, json};

    use super::*;
    use crate::ratings::Ratings;

    /// 12 users rating some of 9 items, split 80/20.
    fn data() -> CollabData {
        let (mut users, mut items, mut ratings) = (Vec::new(), Vec::new(), Vec::new());
        for u in 0..12 {
            for i in 0..9 {
                if (u * 7 + i * 3) % 4 != 0 {
                    users.push(format!("u{u}"));
                    items.push(format!("film {i}"));
                    ratings.push(1.0 + ((u + 2 * i) % 5) as f32);
                }
            }
        }
        let r = Ratings::dedup(users, items, ratings, ("user".into(), "item".into(), "rating".into()));
        let splits = RandomSplitter::new(0.2, 42).split(&r.len()).unwrap();
        CollabData::new(r, splits).unwrap()
    }

    fn exported(name: &str, nn_layers: Option<Vec<usize>>) -> (PathBuf, CollabData) {
        let dir = std::env::temp_dir().join(format!("kindling-collab-unit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let data = data();
        let config = crate::learner::default_config(&data, 3, nn_layers, None);
        let path = dir.join("model.safetensors");
        export_collab(&path, &config.init(&Device::flex()), &config, &data).unwrap();
        (path, data)
    }

    /// Opens a copy of `src` whose header `edit` changed (with a valid checksum), and returns
    /// the error, which must name `field`.
    fn edited(src: &Path, tag: &str, field: &str, edit: impl FnOnce(&mut Value, &mut Value, &mut Vec<String>)) -> String {
        let (mut header, _) = export::read(src).unwrap();
        edit(&mut header.arch, &mut header.preprocessing, &mut header.classes);
        let dst = src.with_file_name(format!("edited-{tag}.safetensors"));
        export::reheader(src, &dst, &header).unwrap();
        let err = match CollabPredictor::load(&dst, &Device::flex()) {
            Ok(_) => panic!("{tag}: the edited file opened"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(&format!("`{field}`")) && err.contains(&dst.display().to_string()), "{tag}: {err}");
        err
    }

    #[test]
    fn an_exported_dot_model_passes_its_checks_and_every_edited_field_is_named() {
        let (path, data) = exported("dot", None);
        let p = CollabPredictor::load(&path, &Device::flex()).unwrap();
        assert_eq!(p.pre.seen.len(), data.users.len());
        let (nu, ni) = (data.users.len() as u64, data.items.len() as u64);

        edited(&path, "seen-short", "preprocessing.seen", |_, pre, _| {
            pre["seen"].as_array_mut().unwrap().pop();
        });
        let err = edited(&path, "seen-id", "preprocessing.seen", |_, pre, _| pre["seen"][1] = json!([ni + 5]));
        assert!(err.contains(&format!("item row {}", ni + 5)), "{err}");
        edited(&path, "seen-order", "preprocessing.seen", |_, pre, _| {
            let s = pre["seen"][1].as_array_mut().unwrap();
            s.reverse();
        });
        edited(&path, "counts-short", "preprocessing.item_counts", |_, pre, _| {
            pre["item_counts"].as_array_mut().unwrap().pop();
        });
        edited(&path, "counts-value", "preprocessing.item_counts", |_, pre, _| {
            let c = pre["item_counts"][1].as_u64().unwrap();
            pre["item_counts"][1] = json!(c + 1);
        });
        edited(&path, "users-short", "preprocessing.users.ids", |_, pre, _| {
            pre["users"]["ids"].as_array_mut().unwrap().pop();
        });
        let err = edited(&path, "items-dup", "preprocessing.items.ids", |_, pre, _| pre["items"]["ids"][2] = pre["items"]["ids"][1].clone());
        assert!(err.contains("twice"), "{err}");
        edited(&path, "items-na", "preprocessing.items.ids", |_, pre, _| pre["items"]["ids"][0] = json!("Heat"));
        edited(&path, "n-users", "arch.n_users", |arch, _, _| arch["n_users"] = json!(nu + 1));
        // A size that would allocate terabytes is refused before anything is built.
        edited(&path, "n-items-huge", "arch.n_items", |arch, _, _| arch["n_items"] = json!(1u64 << 40));
        edited(&path, "n-factors", "arch.n_factors", |arch, _, _| arch["n_factors"] = json!(4));
        edited(&path, "nn-on-dot", "arch.nn_layers", |arch, _, _| arch["nn_layers"] = json!([10]));
        edited(&path, "y-range", "arch.y_range", |arch, _, _| arch["y_range"] = json!([5.0, 1.0]));
        edited(&path, "classes", "classes", |_, _, classes| classes.push("good".into()));
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }

    #[test]
    fn an_exported_neural_model_passes_its_checks_and_edited_layers_are_named() {
        let (path, _) = exported("nn", Some(vec![8, 4]));
        CollabPredictor::load(&path, &Device::flex()).unwrap();
        edited(&path, "fewer", "arch.nn_layers", |arch, _, _| arch["nn_layers"] = json!([8]));
        edited(&path, "more", "arch.nn_layers", |arch, _, _| arch["nn_layers"] = json!([8, 4, 2]));
        edited(&path, "wider", "arch.nn_layers", |arch, _, _| arch["nn_layers"] = json!([8, 5]));
        edited(&path, "zero", "arch.nn_layers", |arch, _, _| arch["nn_layers"] = json!([8, 0]));
        edited(&path, "dot", "arch.nn_layers", |arch, _, _| arch["nn_layers"] = Value::Null);
        edited(&path, "n-items", "arch.n_items", |arch, _, _| {
            let n = arch["n_items"].as_u64().unwrap();
            arch["n_items"] = json!(n + 40);
        });
        std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
    }
}
