//! Chapter 3 of *Practical Deep Learning for Coders* ("MNIST basics"), the smallest complete tour
//! of kindling: stochastic gradient descent written by hand with tensors and autodiff, then the
//! same model trained by the Learner.
//!
//! ```text
//! cargo run --release -p kindling-core --example sgd_from_scratch [-- DATA_DIR]
//! ```
//!
//! DATA_DIR holds `images-idx3-ubyte.gz` and `labels-idx1-ubyte.gz` of threes and sevens
//! (default: the committed `datasets/mnist-3-7`).

// Tensor code allocates many small buffers: mimalloc is about a third faster than the
// system allocator on the tabular benchmark.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::sync::Arc;

use burn::module::{Module, Param};
use burn::tensor::{Device, Distribution, Tensor, TensorData, activation::{relu, sigmoid}};
use kindling_core::data::idx::IdxImages;
use kindling_core::data::split::{RandomSplitter, Splitter};
use kindling_core::data::tensor_batch::{TensorBatch, ValueBatcher};
use kindling_core::data::{DataLoaders, Splits, VecDataset};
use kindling_core::learner::{Learner, Loss, Target, TaskModel};
use kindling_core::metrics::{HostPreds, HostTarget, Metric};
use kindling_core::optim::{OptimizerConfig, ParamGroups};

fn main() -> kindling_core::Result<()> {
    let device = Device::flex();
    device.seed(42);
    quadratic(&device);

    let dir = std::env::args().nth(1).map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../datasets/mnist-3-7"));
    let data = IdxImages::read(&dir.join("images-idx3-ubyte.gz"), &dir.join("labels-idx1-ubyte.gz"))?;
    let items: Vec<(Vec<f32>, Vec<f32>)> = (0..data.len())
        .map(|i| (data.image(i).iter().map(|&p| p as f32 / 255.0).collect(), vec![f32::from(data.labels[i] == 3)]))
        .collect();
    let splits = RandomSplitter::new(0.2, 42).split(&items.len())?;
    println!("\n== MNIST: {} threes and sevens, {} to train on and {} to validate ==", items.len(), splits.train.len(), splits.valid.len());

    let (train_x, train_y) = stack(&items, &splits.train, &device);
    let (valid_x, valid_y) = stack(&items, &splits.valid, &device);

    println!("\n-- a linear model, by hand --");
    let lin = by_hand(&[(784, 1)], 1.0, 20, &train_x, &train_y, &valid_x, &valid_y, &device);
    println!("-- a two-layer net (784 → 30 → ReLU → 1), by hand --");
    let net = by_hand(&[(784, 30), (30, 1)], 0.1, 40, &train_x, &train_y, &valid_x, &valid_y, &device);

    println!("\n-- the same two-layer net, with the Learner: learn.fit(40, 0.1) --");
    let acc = with_learner(items, &splits, &device)?;
    println!("\nvalidation accuracy: linear {:.2}%, two-layer {:.2}%, two-layer with the Learner {:.2}%", lin * 100.0, net * 100.0, acc * 100.0);
    Ok(())
}

/// Fits `a t² + b t + c` to noisy speeds of a roller coaster, as the book does, with
/// `params -= lr * params.grad` written out.
fn quadratic(device: &Device) {
    println!("== SGD on a quadratic: speed = a·t² + b·t + c ==");
    let t = Tensor::<1>::from_data(TensorData::new((0..20).map(|i| i as f32).collect::<Vec<_>>(), [20]), device);
    let noise = Tensor::<1>::random([20], Distribution::Normal(0.0, 1.0), device).mul_scalar(3.0);
    let speed = (t.clone().sub_scalar(9.5)).powi_scalar(2).mul_scalar(0.75).add_scalar(1.0) + noise;
    let ad = device.clone().autodiff();
    let (t, speed) = (t.to_device(&ad), speed.to_device(&ad));
    let mut params = Tensor::<1>::random([3], Distribution::Normal(0.0, 1.0), &ad).require_grad();
    let lr = 1e-5;
    let mut curve = Vec::new();
    for _ in 0..10 {
        let p = params.clone();
        let a = p.clone().slice([0..1]);
        let b = p.clone().slice([1..2]);
        let c = p.slice([2..3]);
        let preds = t.clone().powi_scalar(2) * a + t.clone() * b + c;
        let loss = (preds - speed.clone()).powi_scalar(2).mean();
        curve.push(loss.clone().into_scalar::<f32>());
        let grads = loss.backward();
        let g = params.grad(&grads).expect("params require grad");
        params = Tensor::from_inner(params.inner() - g.mul_scalar(lr)).require_grad();
    }
    println!("loss by step: {}", curve.iter().map(|l| format!("{l:.0}")).collect::<Vec<_>>().join(" → "));
    println!("a, b, c = {:?}", params.inner().into_data().try_into_vec::<f32>().unwrap_or_default());
}

fn stack(items: &[(Vec<f32>, Vec<f32>)], idx: &[usize], device: &Device) -> (Tensor<2>, Tensor<2>) {
    let x: Vec<f32> = idx.iter().flat_map(|&i| items[i].0.iter().copied()).collect();
    let y: Vec<f32> = idx.iter().map(|&i| items[i].1[0]).collect();
    (Tensor::from_data(TensorData::new(x, [idx.len(), 784]), device), Tensor::from_data(TensorData::new(y, [idx.len(), 1]), device))
}

/// The book's `mnist_loss`: how far the sigmoid of the prediction is from the target (1 for a 3).
fn mnist_loss(preds: Tensor<2>, targets: Tensor<2>) -> Tensor<1> {
    let p = sigmoid(preds);
    (targets.clone() * (p.clone().neg().add_scalar(1.0)) + (targets.neg().add_scalar(1.0)) * p).mean()
}

fn accuracy(preds: Tensor<2>, targets: Tensor<2>) -> f32 {
    let correct = sigmoid(preds).greater_elem(0.5).float().equal(targets).float().mean();
    correct.into_scalar::<f32>()
}

/// A stack of linear layers with ReLU between, trained with hand-written minibatch SGD.
#[allow(clippy::too_many_arguments)]
fn by_hand(layers: &[(usize, usize)], lr: f64, epochs: usize, x: &Tensor<2>, y: &Tensor<2>, vx: &Tensor<2>, vy: &Tensor<2>, device: &Device) -> f32 {
    let ad = device.clone().autodiff();
    // The book's linear model starts from a standard normal; a deeper net needs its weights
    // scaled to its inputs (Kaiming: std = sqrt(2 / fan_in)) or its activations saturate.
    let std = |fan_in: usize| if layers.len() == 1 { 1.0 } else { (2.0 / fan_in as f64).sqrt() };
    let init = |shape: [usize; 2], std: f64| Tensor::<2>::random(shape, Distribution::Normal(0.0, std), &ad).require_grad();
    let mut params: Vec<(Tensor<2>, Tensor<2>)> = layers.iter().map(|&(i, o)| (init([i, o], std(i)), init([1, o], std(i)))).collect();
    let forward = |params: &[(Tensor<2>, Tensor<2>)], x: Tensor<2>| {
        let mut h = x;
        for (k, (w, b)) in params.iter().enumerate() {
            h = h.matmul(w.clone()) + b.clone();
            if k + 1 < params.len() {
                h = relu(h);
            }
        }
        h
    };
    let n = x.dims()[0];
    let bs = 256;
    let mut curve = Vec::new();
    for epoch in 0..epochs {
        let perm = kindling_core::seed::permutation(n, &mut kindling_core::seed::rng(42, &[epoch as u64]));
        for chunk in perm.chunks(bs) {
            let idx = Tensor::<1, burn::tensor::Int>::from_data(TensorData::new(chunk.iter().map(|&i| i as i64).collect::<Vec<_>>(), [chunk.len()]), device);
            let xb = x.clone().select(0, idx.clone()).to_device(&ad);
            let yb = y.clone().select(0, idx).to_device(&ad);
            let loss = mnist_loss(forward(&params, xb), yb);
            let grads = loss.backward();
            params = params
                .into_iter()
                .map(|(w, b)| {
                    let step = |p: Tensor<2>| {
                        let g = p.grad(&grads).expect("requires grad");
                        Tensor::from_inner(p.inner() - g.mul_scalar(lr)).require_grad()
                    };
                    (step(w), step(b))
                })
                .collect();
        }
        let plain: Vec<(Tensor<2>, Tensor<2>)> = params.iter().map(|(w, b)| (w.clone().inner(), b.clone().inner())).collect();
        let acc = accuracy(forward(&plain, vx.clone()), vy.clone());
        curve.push(acc);
    }
    let shown: Vec<String> = curve.iter().enumerate().filter(|(e, _)| e % 5 == 4 || *e == 0).map(|(e, a)| format!("{}:{:.3}", e + 1, a)).collect();
    println!("validation accuracy by epoch: {}", shown.join("  "));
    *curve.last().unwrap_or(&0.0)
}

/// The book's `simple_net` as a burn module.
#[derive(Module, Debug)]
struct SimpleNet {
    w1: Param<Tensor<2>>,
    b1: Param<Tensor<1>>,
    w2: Param<Tensor<2>>,
    b2: Param<Tensor<1>>,
}

impl SimpleNet {
    fn new(device: &Device) -> Self {
        let init = |shape: [usize; 2]| Param::from_tensor(Tensor::<2>::random(shape, Distribution::Normal(0.0, 0.1), device));
        Self {
            w1: init([784, 30]),
            b1: Param::from_tensor(Tensor::zeros([30], device)),
            w2: init([30, 1]),
            b2: Param::from_tensor(Tensor::zeros([1], device)),
        }
    }
}

impl TaskModel<TensorBatch> for SimpleNet {
    fn forward_batch(&self, batch: &TensorBatch) -> Tensor<2> {
        let h = relu(batch.x.clone().matmul(self.w1.val()) + self.b1.val().unsqueeze());
        h.matmul(self.w2.val()) + self.b2.val().unsqueeze()
    }
}

/// `mnist_loss` as a Learner loss (a loss is any type with per-item values).
struct MnistLoss;

impl Loss for MnistLoss {
    fn name(&self) -> &'static str {
        "mnist_loss"
    }
    fn per_item(&self, preds: Tensor<2>, target: &Target) -> Tensor<1> {
        let Target::Values(y) = target else { panic!("mnist_loss needs 0/1 value targets") };
        let n = preds.dims()[0];
        let p = sigmoid(preds);
        (y.clone() * (p.clone().neg().add_scalar(1.0)) + (y.clone().neg().add_scalar(1.0)) * p).reshape([n])
    }
    fn activation(&self, preds: Tensor<2>) -> Tensor<2> {
        sigmoid(preds)
    }
}

/// The book's `batch_accuracy`, accumulated over the epoch (a metric is any type with these four methods).
#[derive(Default)]
struct BatchAccuracy {
    correct: usize,
    total: usize,
}

impl Metric for BatchAccuracy {
    fn name(&self) -> String {
        "batch_accuracy".into()
    }
    fn reset(&mut self) {
        *self = Self::default();
    }
    fn accumulate(&mut self, preds: &HostPreds, target: &HostTarget) {
        let HostTarget::Values(y) = target else { return };
        for (p, t) in preds.values.iter().zip(y) {
            self.correct += usize::from((*p > 0.0) == (*t > 0.5));
            self.total += 1;
        }
    }
    fn value(&self) -> Option<f64> {
        (self.total > 0).then(|| self.correct as f64 / self.total as f64)
    }
    fn higher_is_better(&self) -> bool {
        true
    }
}

fn with_learner(items: Vec<(Vec<f32>, Vec<f32>)>, splits: &Splits, device: &Device) -> kindling_core::Result<f64> {
    let ds = Arc::new(VecDataset::new(items));
    let dls = DataLoaders::from_splits(ds, splits, Arc::new(ValueBatcher), 256, 42, device.clone())?;
    let mut learn = Learner::new(SimpleNet::new(device), &dls, MnistLoss)
        .with_optimizer(OptimizerConfig::sgd(), ParamGroups::single())
        .with_metrics(vec![Box::new(BatchAccuracy::default())]);
    learn.fit(40, 0.1)?;
    let losses: Vec<String> = learn.recorder.epochs.iter().step_by(5).map(|e| format!("{:.3}", e.valid_loss.unwrap_or(f64::NAN))).collect();
    println!("valid loss every 5 epochs: {}", losses.join(" → "));
    learn.recorder.plot_losses(std::path::Path::new("runs/sgd_from_scratch/history.png"))?;
    println!("loss curves written to runs/sgd_from_scratch/history.png");
    Ok(learn.validate()?.metrics[0].1.unwrap_or(0.0))
}
