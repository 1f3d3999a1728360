//! The DataLoader: items to batches on a device. Order is reshuffled every epoch from the seed;
//! item reading and transforms run in worker threads with a bounded number of batches in
//! flight; batches come out in order, so parallel loading gives exactly the batches that
//! serial loading does.

use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use burn::tensor::Device;

use super::dataset::Dataset;
use super::split::Splits;
use super::transform::{BatchTransform, ItemTransform, Pipeline, SplitKind, TransformContext};
use crate::error::{Error, Result};
use crate::seed;

/// Turns a list of items into one batch of tensors on `device`.
pub trait Batcher<I, B>: Send + Sync {
    /// The batch for `items` (in order).
    fn batch(&self, items: Vec<I>, device: &Device) -> Result<B>;
}

impl<I, B, F: Fn(Vec<I>, &Device) -> Result<B> + Send + Sync> Batcher<I, B> for F {
    fn batch(&self, items: Vec<I>, device: &Device) -> Result<B> {
        self(items, device)
    }
}

/// How a [`DataLoader`] batches and orders.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct LoaderConfig {
    /// Items per batch (fastai's default is 64).
    pub batch_size: usize,
    /// Reshuffle the order every epoch (train).
    pub shuffle: bool,
    /// Drop the last, smaller batch (fastai drops it on train, keeps it on valid).
    pub drop_last: bool,
    /// Worker threads that read and transform items; 0 does it on the calling thread.
    pub num_workers: usize,
    /// Batches prepared ahead of the one being consumed.
    pub prefetch: usize,
    /// Seed for shuffling and for random transforms.
    pub seed: u64,
}

impl Default for LoaderConfig {
    fn default() -> Self {
        Self { batch_size: 64, shuffle: false, drop_last: false, num_workers: 0, prefetch: 2, seed: 42 }
    }
}

impl LoaderConfig {
    /// The training configuration: shuffled, last partial batch dropped.
    pub fn train(batch_size: usize, seed: u64) -> Self {
        Self { batch_size, shuffle: true, drop_last: true, seed, num_workers: default_workers(), ..Self::default() }
    }

    /// The validation configuration: in order, every item kept.
    pub fn valid(batch_size: usize, seed: u64) -> Self {
        Self { batch_size, shuffle: false, drop_last: false, seed, num_workers: default_workers(), ..Self::default() }
    }
}

/// One worker per core, leaving one core for the training thread when there are several.
pub fn default_workers() -> usize {
    std::thread::available_parallelism().map(|n| n.get().saturating_sub(1)).unwrap_or(0).min(8)
}

/// Batches of one split of a dataset.
pub struct DataLoader<I, B> {
    dataset: Arc<dyn Dataset<Item = I>>,
    indices: Arc<Vec<usize>>,
    split: SplitKind,
    item_tfms: Pipeline<I>,
    batch_tfms: Vec<Arc<dyn BatchTransform<B>>>,
    batcher: Arc<dyn Batcher<I, B>>,
    config: LoaderConfig,
    device: Device,
    lengths: Option<Arc<Vec<usize>>>,
}

impl<I, B> Clone for DataLoader<I, B> {
    fn clone(&self) -> Self {
        Self {
            dataset: self.dataset.clone(),
            indices: self.indices.clone(),
            split: self.split,
            item_tfms: self.item_tfms.clone(),
            batch_tfms: self.batch_tfms.clone(),
            batcher: self.batcher.clone(),
            config: self.config.clone(),
            device: self.device.clone(),
            lengths: self.lengths.clone(),
        }
    }
}

impl<I: Send + 'static, B: Send + 'static> DataLoader<I, B> {
    /// A loader over the items of `dataset` at `indices`, batched by `batcher` onto `device`.
    pub fn new(
        dataset: Arc<dyn Dataset<Item = I>>,
        indices: Vec<usize>,
        split: SplitKind,
        batcher: Arc<dyn Batcher<I, B>>,
        config: LoaderConfig,
        device: Device,
    ) -> Result<Self> {
        if config.batch_size == 0 {
            return Err(Error::invalid("batch size", "must be at least 1"));
        }
        if let Some(&bad) = indices.iter().find(|&&i| i >= dataset.len()) {
            return Err(Error::invalid("indices", format!("{bad} is out of range for {} items", dataset.len())));
        }
        Ok(Self {
            dataset,
            indices: Arc::new(indices),
            split,
            item_tfms: Pipeline::new(),
            batch_tfms: Vec::new(),
            batcher,
            config,
            device,
            lengths: None,
        })
    }

    /// Batches items of similar lengths together, as fastai's `SortedDL` does for text:
    /// `lengths[i]` is the length (in tokens) of dataset item `i`, one entry per dataset
    /// position (a position past its end counts as length 0).
    ///
    /// On a shuffling loader (train), each epoch's order is drawn as fastai draws it: the
    /// positions are shuffled (seeded per epoch, as without buckets) with the longest item moved
    /// to the front, cut into chunks of 50 batches, each chunk sorted by length (longest first,
    /// ties kept in shuffled order) and cut into batches; the last partial batch is dropped when
    /// `drop_last` is set; the batches are then shuffled, and the one holding the longest item
    /// goes first, so that a batch too large for memory fails at the first step rather than
    /// hours in. The same seed and epoch give the same batches.
    ///
    /// On a loader that does not shuffle (valid, test), the order of
    /// [`indices`](Self::indices) is kept, so that predictions line up with it (`get_preds`
    /// and interpretation rely on that): sort the indices by length before building the loader
    /// to get small padding there too.
    pub fn with_length_buckets(mut self, lengths: Arc<Vec<usize>>) -> Self {
        self.lengths = Some(lengths);
        self
    }

    /// Runs `tfms` on every item, in the worker threads.
    pub fn with_item_tfms(mut self, tfms: Pipeline<I>) -> Self {
        self.item_tfms = tfms;
        self
    }

    /// Runs `tfm` on every collated batch, after the earlier batch transforms.
    pub fn with_batch_tfm(mut self, tfm: impl BatchTransform<B> + 'static) -> Self {
        self.batch_tfms.push(Arc::new(tfm));
        self
    }

    /// The same loader with another configuration.
    pub fn with_config(mut self, config: LoaderConfig) -> Result<Self> {
        if config.batch_size == 0 {
            return Err(Error::invalid("batch size", "must be at least 1"));
        }
        self.config = config;
        Ok(self)
    }

    /// The configuration.
    pub fn config(&self) -> &LoaderConfig {
        &self.config
    }

    /// The split this loader serves.
    pub fn split(&self) -> SplitKind {
        self.split
    }

    /// The device batches are put on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Number of items (before dropping a last partial batch).
    pub fn n_items(&self) -> usize {
        self.indices.len()
    }

    /// The dataset positions this loader draws from, in their unshuffled order.
    pub fn indices(&self) -> &[usize] {
        &self.indices
    }

    /// The dataset behind the loader.
    pub fn dataset(&self) -> &Arc<dyn Dataset<Item = I>> {
        &self.dataset
    }

    /// Number of batches in an epoch.
    pub fn len(&self) -> usize {
        let (n, bs) = (self.indices.len(), self.config.batch_size);
        if self.config.drop_last { n / bs } else { n.div_ceil(bs) }
    }

    /// Whether an epoch yields no batch.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The dataset positions of every batch of `epoch`, in order.
    pub fn epoch_batches(&self, epoch: usize) -> Vec<Vec<usize>> {
        if let (Some(lengths), true) = (&self.lengths, self.config.shuffle) {
            return self.bucketed_batches(lengths, epoch);
        }
        let mut order: Vec<usize> = self.indices.to_vec();
        if self.config.shuffle {
            let perm = seed::permutation(order.len(), &mut seed::rng(self.config.seed, &[0x5348_5546, epoch as u64]));
            order = perm.into_iter().map(|p| self.indices[p]).collect();
        }
        let mut batches: Vec<Vec<usize>> = order.chunks(self.config.batch_size).map(<[usize]>::to_vec).collect();
        if self.config.drop_last && batches.last().is_some_and(|b| b.len() < self.config.batch_size) {
            batches.pop();
        }
        batches
    }

    /// [`with_length_buckets`](Self::with_length_buckets)' order for a shuffling loader.
    fn bucketed_batches(&self, lengths: &[usize], epoch: usize) -> Vec<Vec<usize>> {
        let len = |i: usize| lengths.get(i).copied().unwrap_or(0);
        let bs = self.config.batch_size;
        let perm = seed::permutation(self.indices.len(), &mut seed::rng(self.config.seed, &[0x5348_5546, epoch as u64]));
        let mut order: Vec<usize> = perm.into_iter().map(|p| self.indices[p]).collect();
        // The longest item (the first of them in `indices`) goes to the front, so that it lands
        // in the first chunk's first batch and is never in a dropped tail.
        let longest = self.indices.iter().copied().enumerate().max_by(|a, b| len(a.1).cmp(&len(b.1)).then(b.0.cmp(&a.0))).map(|(_, i)| i);
        if let Some(at) = longest.and_then(|l| order.iter().position(|&i| i == l)) {
            order.swap(0, at);
        }
        for chunk in order.chunks_mut(bs * 50) {
            chunk.sort_by_key(|&i| std::cmp::Reverse(len(i)));
        }
        let mut batches: Vec<Vec<usize>> = order.chunks(bs).map(<[usize]>::to_vec).collect();
        if self.config.drop_last && batches.last().is_some_and(|b| b.len() < bs) {
            batches.pop();
        }
        let shuffle = seed::permutation(batches.len(), &mut seed::rng(self.config.seed, &[0x534f_5254, epoch as u64]));
        let mut slots: Vec<Option<Vec<usize>>> = batches.into_iter().map(Some).collect();
        let mut batches: Vec<Vec<usize>> = shuffle.into_iter().filter_map(|p| slots[p].take()).collect();
        if let Some(at) = longest.and_then(|l| batches.iter().position(|b| b.contains(&l))) {
            batches.swap(0, at);
        }
        batches
    }

    /// The batches of `epoch`, in order. With workers, up to `prefetch` batches are prepared
    /// ahead in other threads.
    pub fn iter(&self, epoch: usize) -> BatchIter<B> {
        let jobs = self.epoch_batches(epoch);
        let work = Arc::new(Work {
            dataset: self.dataset.clone(),
            item_tfms: self.item_tfms.clone(),
            batcher: self.batcher.clone(),
            device: self.device.clone(),
            seed: self.config.seed,
            split: self.split,
            epoch,
        });
        let source: Box<dyn BatchSource<B>> = if self.config.num_workers == 0 || jobs.len() <= 1 {
            Box::new(Serial { work, jobs: jobs.into_iter(), next: 0 })
        } else {
            Box::new(Parallel::start(work, jobs, self.config.num_workers, self.config.prefetch.max(1)))
        };
        BatchIter {
            source,
            batch_tfms: self.batch_tfms.clone(),
            seed: self.config.seed,
            split: self.split,
            epoch,
            yielded: 0,
        }
    }
}

/// What a worker needs to turn dataset positions into a batch.
struct Work<I, B> {
    dataset: Arc<dyn Dataset<Item = I>>,
    item_tfms: Pipeline<I>,
    batcher: Arc<dyn Batcher<I, B>>,
    device: Device,
    seed: u64,
    split: SplitKind,
    epoch: usize,
}

impl<I: Send, B> Work<I, B> {
    fn run(&self, positions: &[usize]) -> Result<B> {
        let mut items = Vec::with_capacity(positions.len());
        for &i in positions {
            let item = self.dataset.get(i)?;
            // Seeded by the item's dataset position: the same item gets the same augmentation in
            // an epoch whatever its place in the shuffled order or the thread that runs it.
            let mut ctx = TransformContext::new(self.seed, self.split, self.epoch, i);
            items.push(self.item_tfms.apply(item, &mut ctx)?);
        }
        self.batcher.batch(items, &self.device)
    }

    fn run_guarded(&self, batch_no: usize, positions: &[usize]) -> Result<B> {
        catch_unwind(AssertUnwindSafe(|| self.run(positions))).unwrap_or_else(|panic| {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Err(Error::Data(format!("batch {batch_no} (items {positions:?}) failed to load: {msg}")))
        })
    }
}

/// Where raw (collated, not yet batch-transformed) batches come from.
trait BatchSource<B>: Send {
    fn next_batch(&mut self) -> Option<Result<B>>;
}

struct Serial<I, B> {
    work: Arc<Work<I, B>>,
    jobs: std::vec::IntoIter<Vec<usize>>,
    next: usize,
}

impl<I: Send, B: Send> BatchSource<B> for Serial<I, B> {
    fn next_batch(&mut self) -> Option<Result<B>> {
        let positions = self.jobs.next()?;
        self.next += 1;
        Some(self.work.run_guarded(self.next - 1, &positions))
    }
}

struct Parallel<B> {
    job_tx: Option<SyncSender<(usize, Vec<usize>)>>,
    results: Receiver<(usize, Result<B>)>,
    pending: Vec<Vec<usize>>,
    submitted: usize,
    received: BTreeMap<usize, Result<B>>,
    prefetch: usize,
    next: usize,
    handles: Vec<JoinHandle<()>>,
}

impl<B: Send + 'static> Parallel<B> {
    fn start<I: Send + 'static>(work: Arc<Work<I, B>>, jobs: Vec<Vec<usize>>, workers: usize, prefetch: usize) -> Self {
        let (job_tx, job_rx) = mpsc::sync_channel::<(usize, Vec<usize>)>(prefetch);
        let job_rx = Arc::new(Mutex::new(job_rx));
        let (res_tx, results) = mpsc::channel();
        let handles = (0..workers.min(jobs.len()))
            .map(|_| {
                let (work, job_rx, res_tx) = (work.clone(), job_rx.clone(), res_tx.clone());
                std::thread::spawn(move || {
                    loop {
                        let job = job_rx.lock().map(|rx| rx.recv());
                        let Ok(Ok((no, positions))) = job else { break };
                        if res_tx.send((no, work.run_guarded(no, &positions))).is_err() {
                            break;
                        }
                    }
                })
            })
            .collect();
        let mut p = Self { job_tx: Some(job_tx), results, pending: jobs, submitted: 0, received: BTreeMap::new(), prefetch, next: 0, handles };
        p.pending.reverse();
        p.fill();
        p
    }

    /// Keeps up to `prefetch` batches beyond the next one in flight.
    fn fill(&mut self) {
        while self.submitted < self.next + self.prefetch + 1 {
            let Some(job) = self.pending.pop() else { break };
            let Some(tx) = &self.job_tx else { break };
            if tx.send((self.submitted, job)).is_err() {
                break;
            }
            self.submitted += 1;
        }
    }

}

impl<B: Send + 'static> BatchSource<B> for Parallel<B> {
    fn next_batch(&mut self) -> Option<Result<B>> {
        if self.next >= self.submitted {
            return None;
        }
        let out = loop {
            if let Some(r) = self.received.remove(&self.next) {
                break r;
            }
            match self.results.recv() {
                Ok((no, r)) => {
                    self.received.insert(no, r);
                }
                Err(_) => break Err(Error::Data(format!("loader workers stopped before batch {}", self.next))),
            }
        };
        self.next += 1;
        self.fill();
        Some(out)
    }
}

impl<B> Drop for Parallel<B> {
    fn drop(&mut self) {
        self.job_tx.take();
        for h in self.handles.drain(..) {
            let _ = h.join();
        }
    }
}

/// The batches of one epoch; see [`DataLoader::iter`].
pub struct BatchIter<B> {
    source: Box<dyn BatchSource<B>>,
    batch_tfms: Vec<Arc<dyn BatchTransform<B>>>,
    seed: u64,
    split: SplitKind,
    epoch: usize,
    yielded: usize,
}

/// Batches from any iterator, for a task whose loader is not a [`DataLoader`].
struct FromIter<It>(It);

impl<B, It: Iterator<Item = Result<B>> + Send> BatchSource<B> for FromIter<It> {
    fn next_batch(&mut self) -> Option<Result<B>> {
        self.0.next()
    }
}

impl<B: Send + 'static> BatchIter<B> {
    /// The batches `iter` yields, as one epoch: how a task with its own loader (a language
    /// model's contiguous streams) implements [`Loader`](crate::learner::Loader).
    pub fn from_iter(iter: impl Iterator<Item = Result<B>> + Send + 'static, epoch: usize) -> Self {
        BatchIter { source: Box::new(FromIter(iter)), batch_tfms: Vec::new(), seed: 0, split: SplitKind::Train, epoch, yielded: 0 }
    }
}

impl<B> Iterator for BatchIter<B> {
    type Item = Result<B>;

    fn next(&mut self) -> Option<Result<B>> {
        let batch = self.source.next_batch()?;
        let position = self.yielded;
        self.yielded += 1;
        Some(batch.and_then(|mut b| {
            let mut ctx = TransformContext::new(self.seed, self.split, self.epoch, position);
            for tfm in &self.batch_tfms {
                b = tfm.apply(b, &mut ctx)?;
            }
            Ok(b)
        }))
    }
}

/// The training and validation loaders of one dataset, as fastai's `DataLoaders`. The held-out
/// test set is not in here: build its loader with [`DataLoaders::test_loader`] when the time
/// for the final evaluation has come.
pub struct DataLoaders<I, B> {
    /// Shuffled, augmented training batches.
    pub train: DataLoader<I, B>,
    /// Validation batches, in order.
    pub valid: DataLoader<I, B>,
}

impl<I, B> Clone for DataLoaders<I, B> {
    fn clone(&self) -> Self {
        Self { train: self.train.clone(), valid: self.valid.clone() }
    }
}

impl<I: Send + 'static, B: Send + 'static> DataLoaders<I, B> {
    /// Train and valid loaders over `dataset` as `splits` divides it: train shuffled with its last
    /// partial batch dropped, valid in order with every item, both with `batch_size`.
    pub fn from_splits(
        dataset: Arc<dyn Dataset<Item = I>>,
        splits: &Splits,
        batcher: Arc<dyn Batcher<I, B>>,
        batch_size: usize,
        seed: u64,
        device: Device,
    ) -> Result<Self> {
        let mut train_cfg = LoaderConfig::train(batch_size, seed);
        // Never drop the only batch: a tiny training set still trains.
        train_cfg.drop_last = splits.train.len() >= batch_size;
        let train = DataLoader::new(dataset.clone(), splits.train.clone(), SplitKind::Train, batcher.clone(), train_cfg, device.clone())?;
        let valid = DataLoader::new(dataset, splits.valid.clone(), SplitKind::Valid, batcher, LoaderConfig::valid(batch_size, seed), device)?;
        Ok(Self { train, valid })
    }

    /// Applies `tfms` to the items of both loaders (random ones act on train only).
    pub fn with_item_tfms(mut self, tfms: Pipeline<I>) -> Self {
        self.train = self.train.with_item_tfms(tfms.clone());
        self.valid = self.valid.with_item_tfms(tfms);
        self
    }

    /// The validation items, in order and all kept, with the training transforms (random crops
    /// and augmentation, drawn afresh each epoch): what test-time augmentation predicts on.
    pub fn augmented_valid(&self) -> DataLoader<I, B> {
        let mut l = self.valid.clone();
        l.split = SplitKind::Train;
        l.item_tfms = self.train.item_tfms.clone();
        l.batch_tfms = self.train.batch_tfms.clone();
        l
    }

    /// A loader over the held-out test items of `splits`, with the validation loader's
    /// deterministic transforms. Calling this is the explicit act of a final evaluation.
    pub fn test_loader(&self, splits: &Splits) -> Result<DataLoader<I, B>> {
        let mut l = DataLoader::new(
            self.valid.dataset.clone(),
            splits.held_out_test().to_vec(),
            SplitKind::Test,
            self.valid.batcher.clone(),
            self.valid.config.clone(),
            self.valid.device.clone(),
        )?;
        l.item_tfms = self.valid.item_tfms.clone();
        l.batch_tfms = self.valid.batch_tfms.clone();
        Ok(l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::dataset::VecDataset;
    use rand::RngExt;

    fn ids(items: Vec<u32>, _: &Device) -> Result<Vec<u32>> {
        Ok(items)
    }

    fn loader(n: u32, cfg: LoaderConfig) -> DataLoader<u32, Vec<u32>> {
        let ds = Arc::new(VecDataset::new((0..n).collect::<Vec<u32>>()));
        DataLoader::new(ds, (0..n as usize).collect(), SplitKind::Train, Arc::new(ids), cfg, Device::flex()).unwrap()
    }

    fn epoch(l: &DataLoader<u32, Vec<u32>>, e: usize) -> Vec<Vec<u32>> {
        l.iter(e).collect::<Result<Vec<_>>>().unwrap()
    }

    #[test]
    fn every_item_once_per_epoch_and_partial_batch_kept() {
        let l = loader(10, LoaderConfig { batch_size: 4, shuffle: true, ..LoaderConfig::default() });
        let batches = epoch(&l, 0);
        assert_eq!(batches.iter().map(Vec::len).collect::<Vec<_>>(), vec![4, 4, 2]);
        let mut all: Vec<u32> = batches.concat();
        all.sort();
        assert_eq!(all, (0..10).collect::<Vec<_>>());
    }

    #[test]
    fn drop_last_drops_only_the_partial_batch() {
        let l = loader(10, LoaderConfig { batch_size: 4, drop_last: true, ..LoaderConfig::default() });
        assert_eq!(l.len(), 2);
        assert_eq!(epoch(&l, 0).len(), 2);
    }

    #[test]
    fn order_changes_between_epochs_and_repeats_for_a_seed() {
        let cfg = LoaderConfig { batch_size: 8, shuffle: true, seed: 5, ..LoaderConfig::default() };
        let (a, b) = (loader(64, cfg.clone()), loader(64, cfg));
        assert_eq!(epoch(&a, 0), epoch(&b, 0));
        assert_ne!(epoch(&a, 0), epoch(&a, 1));
        let other = loader(64, LoaderConfig { batch_size: 8, shuffle: true, seed: 6, ..LoaderConfig::default() });
        assert_ne!(epoch(&a, 0), epoch(&other, 0));
    }

    #[test]
    fn parallel_gives_the_serial_batches_with_random_transforms() {
        let noisy = |x: u32, ctx: &mut TransformContext| Ok(x * 1000 + ctx.rng.random_range(0..1000u32));
        let make = |workers| {
            loader(100, LoaderConfig { batch_size: 7, shuffle: true, num_workers: workers, prefetch: 3, ..LoaderConfig::default() })
                .with_item_tfms(Pipeline::new().then(noisy))
        };
        let serial = make(0);
        let parallel = make(3);
        for e in 0..3 {
            let (s, p) = (epoch(&serial, e), epoch(&parallel, e));
            // 100 items in batches of 7: 15 batches, every item once, on both sides.
            assert_eq!((s.len(), p.len()), (15, 15), "epoch {e}");
            assert_eq!(p.iter().map(Vec::len).sum::<usize>(), 100, "epoch {e}");
            assert_eq!(s, p, "epoch {e}");
        }
    }

    #[test]
    fn errors_and_panics_in_workers_become_errors() {
        let ds = Arc::new(VecDataset::new((0..20u32).collect::<Vec<_>>()));
        let picky = |items: Vec<u32>, _: &Device| -> Result<Vec<u32>> {
            if items.contains(&13) { panic!("thirteen") }
            Ok(items)
        };
        let cfg = LoaderConfig { batch_size: 5, num_workers: 2, ..LoaderConfig::default() };
        let l = DataLoader::new(ds, (0..20).collect(), SplitKind::Valid, Arc::new(picky), cfg, Device::flex()).unwrap();
        let results: Vec<_> = l.iter(0).collect();
        assert_eq!(results.len(), 4);
        let err = results[2].as_ref().unwrap_err().to_string();
        assert!(err.contains("batch 2") && err.contains("thirteen"), "{err}");
        assert!(results[3].is_ok());
    }

    #[test]
    fn length_buckets_batch_similar_lengths_like_sorted_dl() {
        // 2,000 items with lengths spread as reviews are (mostly short, a long tail), in
        // batches of 16: 125 batches, so the 50-batch chunks are 800 items.
        let n = 2000usize;
        let mut r = seed::rng(9, &[]);
        let lengths: Arc<Vec<usize>> = Arc::new((0..n).map(|_| { let u: f64 = r.random(); 5 + (u * u * u * 500.0) as usize }).collect());
        let ds = Arc::new(VecDataset::new((0..n as u32).collect::<Vec<u32>>()));
        let cfg = LoaderConfig { batch_size: 16, shuffle: true, drop_last: true, seed: 3, ..LoaderConfig::default() };
        // Train on every other item plus a few: the dataset has positions the loader never draws.
        let indices: Vec<usize> = (0..n).filter(|i| i % 2 == 0 || i % 7 == 0).collect();
        let make = |cfg: LoaderConfig| {
            DataLoader::new(ds.clone(), indices.clone(), SplitKind::Train, Arc::new(ids), cfg, Device::flex()).unwrap().with_length_buckets(lengths.clone())
        };
        let l = make(cfg.clone());
        let padded = |batches: &[Vec<usize>]| -> f64 {
            // Pad tokens per real token: what padding every batch to its longest item wastes.
            let (mut pad, mut real) = (0usize, 0usize);
            for b in batches {
                let m = b.iter().map(|&i| lengths[i]).max().unwrap();
                pad += b.iter().map(|&i| m - lengths[i]).sum::<usize>();
                real += b.iter().map(|&i| lengths[i]).sum::<usize>();
            }
            pad as f64 / real as f64
        };
        let longest = indices.iter().copied().max_by_key(|&i| (lengths[i], std::cmp::Reverse(i))).unwrap();
        for e in 0..3 {
            let batches = l.epoch_batches(e);
            assert_eq!(batches.len(), indices.len() / 16, "epoch {e}");
            assert!(batches.iter().all(|b| b.len() == 16));
            // Every item once, only the tail (fewer than a batch) dropped.
            let mut all: Vec<usize> = batches.concat();
            all.sort();
            all.dedup();
            assert_eq!(all.len(), batches.len() * 16, "an item came twice in epoch {e}");
            assert!(all.iter().all(|i| indices.contains(i)));
            assert!(indices.len() - all.len() < 16);
            assert!(batches[0].contains(&longest), "epoch {e}: the longest item is not in the first batch");
            // The loader yields exactly these batches.
            let yielded: Vec<Vec<usize>> = epoch(&l, e).into_iter().map(|b| b.into_iter().map(|x| x as usize).collect()).collect();
            assert_eq!(yielded, batches);
            // Much less padding than random batches of the same items.
            let plain = make(LoaderConfig { seed: 3, ..cfg.clone() });
            let mut random = plain.clone();
            random.lengths = None;
            let (b, r) = (padded(&batches), padded(&random.epoch_batches(e)));
            assert!(b * 5.0 < r, "epoch {e}: bucketed padding {b:.3} is not 5x below random {r:.3}");
        }
        assert_ne!(l.epoch_batches(0), l.epoch_batches(1), "each epoch draws new batches");
        assert_eq!(l.epoch_batches(1), make(cfg.clone()).epoch_batches(1), "same seed, same batches");
        assert_ne!(l.epoch_batches(0), make(LoaderConfig { seed: 4, ..cfg.clone() }).epoch_batches(0));
        // Without drop_last the partial batch is kept and every item comes.
        let keep = make(LoaderConfig { drop_last: false, ..cfg.clone() });
        assert_eq!(keep.epoch_batches(0).concat().len(), indices.len());
        // A loader that does not shuffle keeps the order of its indices.
        let valid = make(LoaderConfig { shuffle: false, drop_last: false, ..cfg });
        assert_eq!(valid.epoch_batches(0).concat(), indices);
    }

    #[test]
    fn batch_size_zero_is_refused() {
        let ds = Arc::new(VecDataset::new(vec![1u32]));
        let cfg = LoaderConfig { batch_size: 0, ..LoaderConfig::default() };
        let err = DataLoader::new(ds, vec![0], SplitKind::Train, Arc::new(ids), cfg, Device::flex()).err().unwrap();
        assert!(err.to_string().contains("batch size"));
    }
}
