//! The Learner end to end on real MNIST digits: training reaches fastai-level accuracy, runs are
//! reproducible, export → load → predict round-trips, and bad situations (NaN loss, empty
//! validation set, corrupt model file) end in clear errors.

use std::sync::Arc;

use burn::module::Module;
use burn::tensor::Device;
use kindling_core::Error;
use kindling_core::data::split::{IndexSplitter, Splitter};
use kindling_core::data::tensor_batch::{ClassBatcher, TensorBatch};
use kindling_core::data::{DataLoaders, VecDataset};
use kindling_core::export::{self, ModelHeader};
use kindling_core::learner::{CrossEntropyLoss, Learner, LrFindConfig};
use kindling_core::metrics::{Accuracy, ErrorRate};
use kindling_core::optim::{OptimizerConfig, ParamGroups};
use kindling_tests::{Mlp, loaders, mnist37_items};

fn learner(seed: u64, hidden: usize) -> Learner<Mlp, TensorBatch> {
    let (dls, _) = loaders(mnist37_items(None).unwrap(), 64, seed);
    let device = Device::flex();
    device.seed(seed);
    Learner::new(Mlp::new(784, hidden, 2, &device), &dls, CrossEntropyLoss)
        .quiet()
        .with_seed(seed)
        .with_metrics(vec![Box::new(Accuracy::default()), Box::new(ErrorRate::default())])
}

fn weights(m: &Mlp) -> Vec<f32> {
    let mut v = m.body.weight.val().into_data().try_into_vec::<f32>().unwrap();
    v.extend(m.head.weight.val().into_data().try_into_vec::<f32>().unwrap());
    v
}

#[test]
fn trains_threes_versus_sevens_above_95_percent() {
    let mut learn = learner(42, 32);
    learn.fit_one_cycle(3, 1e-2).unwrap();
    let last = learn.recorder.last().unwrap().clone();
    let acc = last.metrics[0].1.unwrap();
    assert!(acc >= 0.95, "accuracy {acc}");
    assert!((last.metrics[1].1.unwrap() - (1.0 - acc)).abs() < 1e-12);
    assert!(last.train_loss.unwrap() < 0.3 && last.valid_loss.unwrap() < 0.3, "{last:?}");
    let eval = learn.validate().unwrap();
    assert_eq!(eval.n_items, 420);
    assert!((eval.metrics[0].1.unwrap() - acc).abs() < 1e-12, "validate() agrees with the epoch table");
}

#[test]
fn same_seed_same_run_other_seed_other_run() {
    let run = |seed| {
        let mut l = learner(seed, 16);
        l.fit_one_cycle(1, 1e-2).unwrap();
        (l.recorder.losses.clone(), weights(l.model()))
    };
    let (a, b, c) = (run(7), run(7), run(8));
    assert_eq!(a, b, "bit-identical on CPU for the same seed");
    assert_ne!(a.0, c.0);
}

#[test]
fn export_then_load_predicts_what_the_learner_predicted() {
    let mut learn = learner(1, 16);
    learn.fit_one_cycle(1, 1e-2).unwrap();
    let dir = std::env::temp_dir().join(format!("kindling-export-{}", std::process::id()));
    let path = dir.join("model.safetensors");
    let header = ModelHeader::new("mnist37", serde_json::json!({"hidden": 16}), serde_json::json!({"scale": 255}), vec!["3".into(), "7".into()]);
    export::export(&path, &learn.model().valid(), &header).unwrap();

    let (read_header, bytes) = export::read(&path).unwrap();
    assert_eq!(read_header, header);
    let hidden = read_header.arch["hidden"].as_u64().unwrap() as usize;
    let device = Device::flex();
    let fresh = Mlp::new(784, hidden, 2, &device);
    let loaded = export::load(&path, fresh, bytes).unwrap();
    assert_eq!(weights(&loaded), weights(learn.model()));

    let (dls, _) = loaders(mnist37_items(None).unwrap(), 64, 1);
    let restored = Learner::new(loaded, &dls, CrossEntropyLoss).quiet();
    assert_eq!(restored.get_valid_preds().unwrap(), learn.get_valid_preds().unwrap());

    // The wrong architecture is refused with the file's name.
    let err = export::load(&path, Mlp::new(784, hidden + 1, 2, &device), std::fs::read(&path).unwrap()).unwrap_err().to_string();
    assert!(err.contains("model.safetensors"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn corrupt_or_truncated_model_files_are_refused() {
    let learn = learner(2, 8);
    let dir = std::env::temp_dir().join(format!("kindling-corrupt-{}", std::process::id()));
    let path = dir.join("m.safetensors");
    export::export(&path, &learn.model().valid(), &ModelHeader::new("t", serde_json::json!({}), serde_json::json!({}), vec![])).unwrap();
    let good = std::fs::read(&path).unwrap();
    let check = |bytes: &[u8], expect: &str| {
        std::fs::write(&path, bytes).unwrap();
        let err = export::read(&path).unwrap_err().to_string();
        assert!(err.contains("m.safetensors") && err.contains(expect), "{expect}: {err}");
    };
    let mut flipped = good.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 0xff;
    check(&flipped, "checksum");
    check(&good[..good.len() - 10], "truncated");
    check(&good[..5], "shorter than a header");
    check(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all", "not a kindling model file");
    std::fs::remove_dir_all(dir).unwrap();
}

/// A model file's header: where its JSON text sits, so a test can edit it byte for byte.
fn header_span(bytes: &[u8]) -> std::ops::Range<usize> {
    8..8 + u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize
}

#[test]
fn the_checksum_covers_the_header_and_reheader_writes_a_new_one() {
    let learn = learner(2, 8);
    let dir = std::env::temp_dir().join(format!("kindling-header-sum-{}", std::process::id()));
    let path = dir.join("m.safetensors");
    let header = ModelHeader::new("mnist37", serde_json::json!({"hidden": 8}), serde_json::json!({}), vec!["three".into(), "seven".into()]);
    export::export(&path, &learn.model().valid(), &header).unwrap();
    let good = std::fs::read(&path).unwrap();
    // A class renamed in place (same length, so the safetensors layout stays valid).
    let span = header_span(&good);
    let text = String::from_utf8(good[span.clone()].to_vec()).unwrap();
    assert!(text.contains("seven"));
    let mut edited = good.clone();
    edited[span].copy_from_slice(text.replace("seven", "SEVEN").as_bytes());
    std::fs::write(&path, &edited).unwrap();
    let err = export::read(&path).unwrap_err().to_string();
    assert!(err.contains("m.safetensors") && err.contains("checksum"), "{err}");

    // Renaming classes on purpose goes through `reheader`, which signs the new header.
    std::fs::write(&path, &good).unwrap();
    let renamed = ModelHeader { classes: vec!["3".into(), "7".into()], ..header.clone() };
    let copy = dir.join("renamed.safetensors");
    export::reheader(&path, &copy, &renamed).unwrap();
    let (read_back, bytes) = export::read(&copy).unwrap();
    assert_eq!(read_back, renamed);
    let loaded = export::load(&copy, Mlp::new(784, 8, 2, &Device::flex()), bytes).unwrap();
    assert_eq!(weights(&loaded), weights(learn.model()));
    assert_eq!(std::fs::read(&path).unwrap(), good, "the source is untouched");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn format_version_1_files_are_still_read() {
    // Version 1 wrote the checksum over the weights only: rewrite a file that way by hand.
    let learn = learner(2, 8);
    let dir = std::env::temp_dir().join(format!("kindling-header-v1-{}", std::process::id()));
    let path = dir.join("m.safetensors");
    let mut header = ModelHeader::new("mnist37", serde_json::json!({"hidden": 8}), serde_json::json!({}), vec![]);
    header.format_version = 1;
    export::export(&path, &learn.model().valid(), &header).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let span = header_span(&bytes);
    let mut st: serde_json::Value = serde_json::from_slice(&bytes[span.clone()]).unwrap();
    let data_sum = {
        use sha2::Digest;
        sha2::Sha256::digest(&bytes[span.end..]).iter().map(|b| format!("{b:02x}")).collect::<String>()
    };
    st["__metadata__"]["kindling.sha256"] = serde_json::Value::String(data_sum);
    let mut head = serde_json::to_vec(&st).unwrap();
    while head.len() % 8 != 0 {
        head.push(b' ');
    }
    let mut v1 = (head.len() as u64).to_le_bytes().to_vec();
    v1.extend_from_slice(&head);
    v1.extend_from_slice(&bytes[span.end..]);
    std::fs::write(&path, &v1).unwrap();
    let (read_back, _) = export::read(&path).unwrap();
    assert_eq!(read_back.format_version, 1);
    // A version this build does not know is refused by name.
    header.format_version = 99;
    export::export(&path, &learn.model().valid(), &header).unwrap();
    let err = export::read(&path).unwrap_err().to_string();
    assert!(err.contains("v99"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn nan_in_the_data_stops_training_naming_epoch_and_batch() {
    let mut items = mnist37_items(None).unwrap();
    items.truncate(200);
    for (px, _) in items.iter_mut() {
        px[100] = f32::NAN;
    }
    let (dls, _) = loaders(items, 32, 0);
    let device = Device::flex();
    let mut learn = Learner::new(Mlp::new(784, 8, 2, &device), &dls, CrossEntropyLoss).quiet();
    let err = learn.fit(1, 1e-3).unwrap_err();
    assert!(matches!(err, Error::NonFiniteLoss { epoch: 0, batch: 0, .. }), "{err}");
    assert!(err.to_string().contains("epoch 0, batch 0"));
}

#[test]
fn empty_validation_set_trains_and_reports_no_valid_loss() {
    let items: Vec<_> = mnist37_items(None).unwrap().into_iter().take(128).collect();
    let splits = IndexSplitter::new(vec![]).split(&items.len());
    // An explicitly empty validation list is refused by IndexSplitter (it needs one) …
    assert!(splits.is_err());
    // … but a validation share of 0 is a deliberate choice and trains.
    let splits = kindling_core::data::split::RandomSplitter::new(0.0, 0).split(&items.len()).unwrap();
    let ds = Arc::new(VecDataset::new(items));
    let dls = DataLoaders::from_splits(ds, &splits, Arc::new(ClassBatcher), 32, 0, Device::flex()).unwrap();
    let device = Device::flex();
    let mut learn = Learner::new(Mlp::new(784, 8, 2, &device), &dls, CrossEntropyLoss)
        .quiet()
        .with_metrics(vec![Box::new(Accuracy::default())]);
    learn.fit_one_cycle(1, 1e-2).unwrap();
    let last = learn.recorder.last().unwrap();
    assert!(last.train_loss.is_some());
    assert_eq!(last.valid_loss, None);
    assert_eq!(last.metrics[0].1, None);
}

#[test]
fn lr_find_suggests_rates_and_restores_the_weights() {
    let mut learn = learner(3, 16);
    let before = weights(learn.model());
    let dir = std::env::temp_dir().join(format!("kindling-lrfind-{}", std::process::id()));
    let r = learn.lr_find(LrFindConfig::default()).unwrap();
    assert_eq!(weights(learn.model()), before, "weights restored");
    assert!(learn.recorder.lrs.is_empty(), "the sweep leaves no history");
    assert!(r.lrs.len() > 20 && r.lrs.len() <= 100, "{}", r.lrs.len());
    assert!(r.lrs.windows(2).all(|w| w[1] > w[0]));
    let valley = r.valley.unwrap();
    assert!((1e-6..1.0).contains(&valley), "valley {valley}");
    r.plot(&dir.join("lr_find.png")).unwrap();
    let png = std::fs::read(dir.join("lr_find.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn freezing_keeps_the_body_fixed_and_unfreezing_trains_it() {
    let mut learn = learner(4, 16).with_optimizer(OptimizerConfig::adam(), ParamGroups::by_prefix(&["body"]));
    let body0 = learn.model().body.weight.val().into_data();
    let head0 = learn.model().head.weight.val().into_data();
    learn.freeze();
    learn.fit_one_cycle(1, 1e-2).unwrap();
    assert_eq!(learn.model().body.weight.val().into_data(), body0, "frozen body unchanged");
    assert_ne!(learn.model().head.weight.val().into_data(), head0);
    learn.unfreeze();
    learn.fit_one_cycle(1, 1e-3).unwrap();
    assert_ne!(learn.model().body.weight.val().into_data(), body0);
}

#[test]
fn one_training_item_trains_as_one_partial_batch_and_none_is_an_error() {
    let items: Vec<_> = mnist37_items(None).unwrap().into_iter().take(10).collect();
    // Nothing to train on: refused when the split is made, with the sizes.
    let err = IndexSplitter::new((0..10).collect()).split(&items.len()).unwrap_err().to_string();
    assert!(err.contains("training set empty"), "{err}");
    // One training item and a batch of 64: the partial batch is kept, so it trains …
    let splits = IndexSplitter::new((1..10).collect()).split(&items.len()).unwrap();
    let ds = Arc::new(VecDataset::new(items));
    let dls = DataLoaders::from_splits(ds, &splits, Arc::new(ClassBatcher), 64, 0, Device::flex()).unwrap();
    let mut learn = Learner::new(Mlp::new(784, 4, 2, &Device::flex()), &dls, CrossEntropyLoss).quiet();
    learn.fit(1, 1e-3).unwrap();
    assert_eq!(learn.recorder.losses.len(), 1);
    assert!(learn.recorder.losses[0].is_finite());
    // … and a negative learning rate is refused.
    assert!(learn.fit(1, -1.0).unwrap_err().to_string().contains("learning rate"));
}

#[test]
fn test_time_augmentation_blends_augmented_and_plain_predictions() {
    use kindling_core::data::{Pipeline, TransformContext};
    use rand::RngExt;
    // A random transform that acts on training items only: shifts every pixel a little.
    let noise = |(x, y): (Vec<f32>, usize), ctx: &mut TransformContext| {
        let shift: f32 = if ctx.is_train() { ctx.rng.random_range(-0.3..0.3) } else { 0.0 };
        Ok((x.into_iter().map(|v| v + shift).collect(), y))
    };
    let (dls, _) = loaders(mnist37_items(None).unwrap(), 64, 3);
    let dls = dls.with_item_tfms(Pipeline::new().then(noise));
    let device = Device::flex();
    device.seed(3);
    let mut learn = Learner::new(Mlp::new(784, 16, 2, &device), &dls, CrossEntropyLoss).quiet().with_seed(3);
    learn.fit_one_cycle(1, 1e-2).unwrap();
    let plain = learn.get_valid_preds().unwrap();
    let aug = dls.augmented_valid();
    assert_eq!(aug.n_items(), dls.valid.n_items());
    // beta 1 keeps the plain predictions; no passes is no augmentation.
    assert_eq!(learn.tta(&aug, 2, 1.0).unwrap().probs.values, plain.probs.values);
    assert_eq!(learn.tta(&aug, 0, 0.25).unwrap().probs.values, plain.probs.values);
    let tta = learn.tta(&aug, 3, 0.25).unwrap();
    assert_ne!(tta.probs.values, plain.probs.values, "augmented passes change the predictions");
    assert!(tta.probs.values.chunks(2).all(|r| (r[0] + r[1] - 1.0).abs() < 1e-5), "still probabilities");
    assert_eq!(tta.losses.len(), plain.losses.len());
    assert_eq!(learn.tta(&aug, 3, 0.25).unwrap().probs.values, tta.probs.values, "seeded: the same passes again");
}

/// The MNIST 3-vs-7 fixture binary's `train`, which takes the flags every task binary shares.
fn mnist37_train(out: &std::path::Path, extra: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_mnist37"))
        .args(["train", "--epochs", "1", "--hidden", "16", "--out"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn lr_find_as_the_learning_rate_trains_with_the_valley_suggestion() {
    let dir = std::env::temp_dir().join(format!("kindling-lr-find-flag-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = mnist37_train(&dir, &["--lr", "find", "--bs", "32"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let found: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("lr_find.json")).unwrap()).unwrap();
    let valley = found["valley"].as_f64().unwrap();
    assert!(stdout.contains(&format!("training with lr_find's valley, {valley:.2e}")), "{stdout}");
    assert!(dir.join("lr_find.png").exists() && dir.join("model.safetensors").exists());
    // The sweep is not part of the run: one epoch of training is recorded.
    let metrics: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["epochs"].as_array().unwrap().len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_epoch_of_few_batches_warns_and_suggests_a_smaller_batch_size() {
    let dir = std::env::temp_dir().join(format!("kindling-few-batches-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = mnist37_train(&dir, &["--bs", "1024"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("warning: an epoch is only") && stderr.contains("--bs"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
    let quiet = mnist37_train(&dir, &["--bs", "32"]);
    assert!(!String::from_utf8_lossy(&quiet.stderr).contains("warning"), "{}", String::from_utf8_lossy(&quiet.stderr));
    std::fs::remove_dir_all(&dir).unwrap();
}
