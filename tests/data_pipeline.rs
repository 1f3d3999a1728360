//! The data pipeline on real data: idx decoding, splits, the leakage check and the parallel
//! loader over MNIST, Fashion-MNIST and MovieLens.

use std::sync::Arc;

use burn::tensor::Device;
use kindling_core::data::idx::IdxImages;
use kindling_core::data::leakage::content_hash;
use kindling_core::data::split::{RandomSplitter, Splitter, TimeSplitter};
use kindling_core::data::tensor_batch::{ClassBatcher, TensorBatch};
use kindling_core::data::{DataLoader, Dataset, LeakageReport, LoaderConfig, MapDataset, SplitKind, VecDataset};
use kindling_core::learner::{Batch, Target};
use kindling_tests::{mnist37_items, repo_root, shared};

#[test]
fn reads_fashion_mnist_idx_files() {
    let dir = shared().join("data/fashion-mnist");
    let train = IdxImages::read(&dir.join("train-images-idx3-ubyte.gz"), &dir.join("train-labels-idx1-ubyte.gz")).unwrap();
    assert_eq!((train.len(), train.pixels()), (60_000, 784));
    assert!(train.labels.iter().all(|&l| l < 10));
    let mismatched = IdxImages::read(&dir.join("train-images-idx3-ubyte.gz"), &dir.join("t10k-labels-idx1-ubyte.gz"));
    let err = mismatched.unwrap_err().to_string();
    assert!(err.contains("t10k-labels") && err.contains("10000"), "{err}");
}

#[test]
fn leakage_check_finds_a_copied_image_across_splits() {
    let items = mnist37_items(None).unwrap();
    let splits = RandomSplitter::new(0.2, 42).split(&items.len()).unwrap();
    let mut keys: Vec<String> = items.iter().map(|(px, _)| content_hash(&px.iter().map(|&p| (p * 255.0) as u8).collect::<Vec<_>>())).collect();
    let baseline = LeakageReport::check(&splits, &keys);
    // Put a training image's bytes under a validation item's name, as a re-saved duplicate would be.
    let (t, v) = (splits.train[0], splits.valid[0]);
    keys[v] = keys[t].clone();
    let report = LeakageReport::check(&splits, &keys);
    assert_eq!(report.leaks.len(), baseline.leaks.len() + 1, "{report}");
    let leak = report.leaks.iter().find(|l| l.key == keys[t]).unwrap();
    assert!(leak.items.contains(&(SplitKind::Train, t)) && leak.items.contains(&(SplitKind::Valid, v)));
}

#[test]
fn time_split_of_movielens_puts_the_latest_ratings_in_valid() {
    let text = std::fs::read_to_string(shared().join("data/movielens-100k/ml-100k.inter")).unwrap();
    let times: Vec<f64> = text.lines().skip(1).map(|l| l.split('\t').nth(3).unwrap().parse().unwrap()).collect();
    assert_eq!(times.len(), 100_000);
    let s = TimeSplitter::new(0.2).with_test_pct(0.1).split(&times[..]).unwrap();
    assert_eq!(s.sizes(), (70_000, 20_000, 10_000));
    let latest_train = s.train.iter().map(|&i| times[i]).fold(f64::MIN, f64::max);
    let earliest_valid = s.valid.iter().map(|&i| times[i]).fold(f64::MAX, f64::min);
    let latest_valid = s.valid.iter().map(|&i| times[i]).fold(f64::MIN, f64::max);
    let earliest_test = s.held_out_test().iter().map(|&i| times[i]).fold(f64::MAX, f64::min);
    assert!(latest_train <= earliest_valid && latest_valid <= earliest_test);
}

fn flat_pixels(b: &TensorBatch) -> Vec<f32> {
    b.x.to_data().convert::<f32>().try_into_vec::<f32>().unwrap()
}

#[test]
fn parallel_decoding_gives_the_serial_batches_on_real_images() {
    // Items are decoded from the committed idx file in the workers, as image files would be.
    let dir = repo_root().join("datasets/mnist-3-7");
    let data = Arc::new(IdxImages::read(&dir.join("images-idx3-ubyte.gz"), &dir.join("labels-idx1-ubyte.gz")).unwrap());
    let idx = VecDataset::new((0..data.len()).collect::<Vec<usize>>());
    let ds = Arc::new(MapDataset::new(idx, move |_, i: usize| {
        Ok((data.image(i).iter().map(|&p| p as f32 / 255.0).collect::<Vec<f32>>(), usize::from(data.labels[i] == 7)))
    }));
    let make = |workers| {
        let cfg = LoaderConfig { batch_size: 100, shuffle: true, drop_last: false, num_workers: workers, prefetch: 2, seed: 3 };
        DataLoader::new(ds.clone(), (0..ds.len()).collect(), SplitKind::Train, Arc::new(ClassBatcher), cfg, Device::flex()).unwrap()
    };
    let (serial, parallel) = (make(0), make(2));
    for epoch in 0..2 {
        let a: Vec<_> = serial.iter(epoch).map(|b| b.unwrap()).collect();
        let b: Vec<_> = parallel.iter(epoch).map(|b| b.unwrap()).collect();
        assert_eq!(a.len(), 22);
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(flat_pixels(x), flat_pixels(y));
            let (Target::Classes(tx), Target::Classes(ty)) = (x.target(), y.target()) else { panic!() };
            assert_eq!(tx.to_data(), ty.to_data());
        }
    }
}
