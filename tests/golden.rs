//! kindling against the golden values the real fastai 2.8.12 computed
//! (`../shared/reference/fastai-golden.json`): schedules, the fine_tune cycle, the optimizers'
//! trajectories and the lr_find suggestions — through the same code paths training uses.

use burn::module::{Module, Param};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor, TensorData};
use kindling_core::data::DataLoaders;
use kindling_core::data::split::{IndexSplitter, Splitter};
use kindling_core::data::tensor_batch::ClassBatcher;
use kindling_core::learner::{CrossEntropyLoss, Learner, minimum, slide, steep, valley};
use kindling_core::optim::{Hypers, Optimizer, OptimizerConfig, ParamGroups};
use kindling_core::schedule::OneCycle;
use kindling_tests::{Mlp, floats, golden, mnist37_items};
use std::sync::Arc;

/// Relative closeness. Schedules are f64 arithmetic on float32 positions in both, so they agree
/// to double precision (1e-12); optimizer steps are float32 in both (1e-6, a few ulps).
fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1e-12)
}

#[test]
fn one_cycle_curves_match_fastai() {
    let g = golden();
    let oc = OneCycle::new(1e-2);
    for ((p, lr), mom) in floats(&g["one_cycle"]["pct"]).iter().zip(floats(&g["one_cycle"]["lr"])).zip(floats(&g["one_cycle"]["mom"])) {
        assert!(close(oc.lr().at(*p), lr, 1e-12), "lr at {p}: {} vs {lr}", oc.lr().at(*p));
        assert!(close(oc.mom().at(*p), mom, 1e-12), "mom at {p}: {} vs {mom}", oc.mom().at(*p));
    }
}

/// A learner over 20 training batches of real MNIST digits, so that batch `k` sits at the
/// golden tables' position `k / 20`.
fn learner_with_20_batches(groups: ParamGroups) -> Learner<Mlp, kindling_core::data::tensor_batch::TensorBatch> {
    let items: Vec<_> = mnist37_items(None).unwrap().into_iter().take(400).collect();
    let splits = IndexSplitter::new((320..400).collect()).split(&items.len()).unwrap();
    let ds = Arc::new(kindling_core::data::VecDataset::new(items));
    let dls = DataLoaders::from_splits(ds, &splits, Arc::new(ClassBatcher), 16, 0, Device::flex()).unwrap();
    assert_eq!(dls.train.len(), 20);
    let device = Device::flex();
    device.seed(0);
    Learner::new(Mlp::new(784, 16, 2, &device), &dls, CrossEntropyLoss)
        .quiet()
        .with_optimizer(OptimizerConfig::adam(), groups)
}

#[test]
fn fit_one_cycle_schedules_every_batch_as_fastai() {
    let g = golden();
    let mut learn = learner_with_20_batches(ParamGroups::single());
    learn.fit_one_cycle(1, 1e-2).unwrap();
    let (lrs, moms) = (floats(&g["one_cycle"]["lr"]), floats(&g["one_cycle"]["mom"]));
    assert_eq!(learn.recorder.lrs.len(), 20);
    for k in 0..20 {
        assert!(close(learn.recorder.lrs[k], lrs[k], 1e-12), "batch {k}: lr {} vs {}", learn.recorder.lrs[k], lrs[k]);
        assert!(close(learn.recorder.moms[k], moms[k], 1e-12), "batch {k}: mom {} vs {}", learn.recorder.moms[k], moms[k]);
    }
}

#[test]
fn fine_tune_second_cycle_matches_fastai() {
    let g = golden();
    let want = floats(&g["fine_tune_unfrozen_cycle"]["lr"]);
    // fine_tune(1, base_lr=2e-3): the unfrozen phase peaks at base_lr / 2 = 1e-3 (the golden lr_max).
    let mut learn = learner_with_20_batches(ParamGroups::by_prefix(&["body"]));
    learn.fine_tune(1, 2e-3).unwrap();
    assert_eq!(learn.recorder.lrs.len(), 40);
    for k in 0..20 {
        let got = learn.recorder.lrs[20 + k];
        assert!(close(got, want[k], 1e-12), "unfrozen batch {k}: {got} vs {}", want[k]);
    }
    let fits: Vec<usize> = learn.recorder.epochs.iter().map(|e| e.fit).collect();
    assert_eq!(fits, vec![0, 1]);
}

/// One parameter vector, as the golden optimizer runs use.
#[derive(Module, Debug)]
struct Vector {
    w: Param<Tensor<1>>,
}

fn trajectory(config: OptimizerConfig, section: &serde_json::Value) {
    let device = Device::flex();
    let init: Vec<f32> = floats(&section["init"]).iter().map(|&x| x as f32).collect();
    let mut model = Vector { w: Param::from_tensor(Tensor::from_data(TensorData::new(init, [4]), &device)) };
    let lr = section["params"]["lr"].as_f64().unwrap();
    let mom = section["params"]["mom"].as_f64().unwrap();
    let mut opt = Optimizer::new(config, ParamGroups::single());
    for (step, (g, want)) in section["grads"].as_array().unwrap().iter().zip(section["after_each_step"].as_array().unwrap()).enumerate() {
        let g: Vec<f32> = floats(g).iter().map(|&x| x as f32).collect();
        let mut grads = GradientsParams::new();
        grads.register::<1>(model.w.id, Tensor::from_data(TensorData::new(g, [4]), &device));
        model = opt.step(model, grads, &Hypers { lrs: vec![lr], mom });
        let got: Vec<f32> = model.w.val().into_data().try_into_vec::<f32>().unwrap();
        for (a, b) in got.iter().zip(floats(want)) {
            // float32 arithmetic in both; 1e-6 relative is a few ulps.
            assert!(close(*a as f64, b, 1e-6), "step {step}: {got:?} vs {want}");
        }
    }
}

#[test]
fn adam_trajectory_matches_fastai() {
    let g = golden();
    trajectory(OptimizerConfig::adam(), &g["adam"]);
}

#[test]
fn sgd_momentum_trajectory_matches_fastai() {
    let g = golden();
    trajectory(OptimizerConfig::sgd().with_mom(0.9), &g["sgd_momentum"]);
}

#[test]
fn lr_find_suggestions_match_fastai() {
    let g = golden();
    let lf = &g["lr_find"];
    let lrs: Vec<f32> = floats(&lf["lrs"]).iter().map(|&x| x as f32).collect();
    let losses: Vec<f32> = floats(&lf["losses"]).iter().map(|&x| x as f32).collect();
    let s = &lf["suggestions"];
    for (name, got) in [
        ("valley", valley(&lrs, &losses)),
        ("slide", slide(&lrs, &losses)),
        ("minimum", minimum(&lrs, &losses)),
        ("steep", steep(&lrs, &losses)),
    ] {
        let want = s[name].as_f64().unwrap();
        assert!(close(got, want, 1e-6), "{name}: {got} vs {want}");
    }
}

#[test]
fn sigmoid_range_matches_fastai() {
    let g = golden();
    let sr = &g["sigmoid_range"];
    let (lo, hi) = (sr["low"].as_f64().unwrap(), sr["high"].as_f64().unwrap());
    let x: Vec<f32> = floats(&sr["x"]).iter().map(|&v| v as f32).collect();
    let n = x.len();
    let y = kindling_core::nn::sigmoid_range(Tensor::<1>::from_data(TensorData::new(x, [n]), &Device::flex()), lo, hi);
    for (got, want) in y.into_data().try_into_vec::<f32>().unwrap().iter().zip(floats(&sr["y"])) {
        assert!(close(*got as f64, want, 1e-6), "{got} vs {want}");
    }
}

#[test]
fn lr_find_suggestions_on_the_production_slice_match_fastai() {
    // fastai's `lr_find` suggests from the curve sliced to [num_it / 10, len - 5), as
    // `LrFindResult::from_curve` does; `tests/golden/lr_find_slices.py` made these with fastai.
    let path = kindling_tests::repo_root().join("tests/golden/lr_find_slices.json");
    let g: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let num_it = g["num_it"].as_u64().unwrap() as usize;
    let lrs = floats(&g["lrs"]);
    let curves = g["curves"].as_object().unwrap();
    assert_eq!(curves.len(), 3);
    for (name, c) in curves {
        let r = kindling_core::learner::LrFindResult::from_curve(lrs.clone(), floats(&c["losses"]), num_it);
        let s = &c["suggestions"];
        for (which, got) in [("valley", r.valley), ("slide", r.slide), ("minimum", r.minimum), ("steep", r.steep)] {
            let want = s[which].as_f64().unwrap();
            let got = got.unwrap_or_else(|| panic!("{name}: no {which}"));
            assert!(close(got, want, 1e-6), "{name} {which}: {got} vs fastai's {want}");
        }
    }
}
