//! Shared pieces of kindling's end-to-end tests: where the shared data and golden values are,
//! the MNIST 3-vs-7 sample as items, and a small MLP to train on it.

pub mod bad_input;
pub mod readme;

use std::path::PathBuf;
use std::sync::Arc;

use burn::module::Module;
use burn::nn::{Linear, LinearConfig, Relu};
use burn::tensor::{Device, Tensor};
use kindling_core::data::idx::IdxImages;
use kindling_core::data::split::{RandomSplitter, Splitter};
use kindling_core::data::tensor_batch::{ClassBatcher, TensorBatch};
use kindling_core::data::{DataLoaders, Dataset, Splits, VecDataset};
use kindling_core::learner::TaskModel;

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is in the repo").to_path_buf()
}

/// The shared data, models and references beside the repository (`$KINDLING_SHARED` overrides).
pub fn shared() -> PathBuf {
    std::env::var_os("KINDLING_SHARED").map(PathBuf::from).unwrap_or_else(|| repo_root().join("../shared"))
}

/// `fastai-golden.json`, computed by the real fastai.
pub fn golden() -> serde_json::Value {
    let p = shared().join("reference/fastai-golden.json");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).expect("golden file is JSON")
}

/// A JSON array of numbers as `f64`s.
pub fn floats(v: &serde_json::Value) -> Vec<f64> {
    v.as_array().expect("array").iter().map(|x| x.as_f64().expect("number")).collect()
}

/// The committed MNIST 3-vs-7 sample: pixels scaled to [0, 1], class 0 for a 3 and 1 for a 7.
pub fn mnist37_items(dir: Option<PathBuf>) -> kindling_core::Result<Vec<(Vec<f32>, usize)>> {
    let dir = dir.unwrap_or_else(|| repo_root().join("datasets/mnist-3-7"));
    let d = IdxImages::read(&dir.join("images-idx3-ubyte.gz"), &dir.join("labels-idx1-ubyte.gz"))?;
    Ok((0..d.len())
        .map(|i| (d.image(i).iter().map(|&p| p as f32 / 255.0).collect(), usize::from(d.labels[i] == 7)))
        .collect())
}

/// Loaders over `items` with a seeded 20% validation split.
pub fn loaders(
    items: Vec<(Vec<f32>, usize)>,
    bs: usize,
    seed: u64,
) -> (DataLoaders<(Vec<f32>, usize), TensorBatch>, Splits) {
    let ds = Arc::new(VecDataset::new(items));
    let splits = RandomSplitter::new(0.2, seed).split(&ds.len()).expect("split");
    let dls = DataLoaders::from_splits(ds, &splits, Arc::new(ClassBatcher), bs, seed, Device::flex()).expect("loaders");
    (dls, splits)
}

/// A two-layer net: `n_in → hidden → ReLU → n_out`.
#[derive(Module, Debug)]
pub struct Mlp {
    /// First layer (the "body" in fine-tuning tests).
    pub body: Linear,
    /// Output layer (the "head").
    pub head: Linear,
    act: Relu,
}

impl Mlp {
    /// A fresh net, initialised from the device's seed.
    pub fn new(n_in: usize, hidden: usize, n_out: usize, device: &Device) -> Self {
        Self { body: LinearConfig::new(n_in, hidden).init(device), head: LinearConfig::new(hidden, n_out).init(device), act: Relu::new() }
    }

    /// Logits.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.head.forward(self.act.forward(self.body.forward(x)))
    }
}

impl TaskModel<TensorBatch> for Mlp {
    fn forward_batch(&self, batch: &TensorBatch) -> Tensor<2> {
        self.forward(batch.x.clone())
    }
}
