//! Chapter 1's segmentation, as `../shared/peer/fastai_unet_scenes.py 5` runs it: mnist-scenes
//! (CamVid layout, `valid.txt`: 1,600 training and 400 validation 64×64 scenes, 11 classes),
//! `unet_learner` on a resnet18 encoder from scratch, bs 32, no augmentation,
//! `fit_one_cycle(5, 1e-3)`. Besides the metrics and the time, the row gives the pixels
//! trained per second and the share of the training time spent in convolutions (all
//! convolutions of one step timed alone, `cargo xtask bench conv-unet`, times the steps).

use std::path::Path;
use std::time::Instant;

use burn::tensor::Device;
use kindling_segmentation::data::{Codes, MaskLayout, SegData, SegDataOptions, SplitChoice};
use kindling_segmentation::learner::unet_learner;
use kindling_segmentation::model::{UnetConfig, encoder_by_name};

use super::{Row, conv, run_peer_metrics};

const EPOCHS: usize = 5;
const BS: usize = 32;
const LR: f64 = 1e-3;

/// Trains and validates kindling's U-Net, times the convolutions alone, then runs the peer.
pub fn mnist_scenes(data: &Path, peer: Option<&Path>) -> Result<Vec<Row>, String> {
    let e = |e: kindling_core::Error| e.to_string();
    let dir = data.join("mnist-scenes");
    let opts = SegDataOptions {
        codes: Some(Codes::read(&dir.join("codes.txt")).map_err(e)?),
        codes_origin: "codes.txt".into(),
        void: None,
        size: None,
        channels: 3,
        binary: false,
        split: SplitChoice::ValidList(dir.join("valid.txt")),
        limit_train: None,
        limit_valid: None,
    };
    let data = SegData::load(&MaskLayout::camvid(&dir), &opts).map_err(e)?.with_augment(None);
    let (n_train, n_valid, _) = data.splits.sizes();
    let [h, w] = data.pre.size;
    let device = Device::flex();
    device.seed(42);
    let dls = data.dataloaders(BS, 42, &device).map_err(e)?;
    let encoder = encoder_by_name("resnet18", 3).ok_or("no resnet18 encoder")?;
    let config = UnetConfig::new(encoder, data.codes.len(), [h, w]);

    let t = Instant::now();
    let mut learn = unet_learner(&config, None, &dls, &data.codes, &device).map_err(e)?.with_seed(42).quiet();
    learn.fit_one_cycle(EPOCHS, LR).map_err(e)?;
    let fit_s = t.elapsed().as_secs_f64();
    let eval = learn.validate().map_err(e)?;
    let secs = t.elapsed().as_secs_f64();
    let metric = |k: &str| eval.metrics.iter().find(|(n, _)| n == k).and_then(|(_, v)| *v).unwrap_or(f64::NAN);

    // The convolutions of one step alone, times the steps of the fit (validation's forward
    // passes counted as a third of a step each).
    let steps = EPOCHS as f64 * ((n_train / BS) as f64 + (n_valid as f64 / BS as f64).ceil() / 3.0);
    let conv_s = conv::step_seconds(&conv::unet_resnet18_geometries(BS)) * steps;
    let pixels = (EPOCHS * n_train / BS * BS * h * w) as f64;

    let peer = peer.map(|py| {
        let args = [dir.to_string_lossy().to_string(), EPOCHS.to_string()];
        run_peer_metrics(py, "fastai_unet_scenes.py", &args, &["pixel_accuracy", "foreground_accuracy", "dice_multi", "params"])
    });
    Ok(vec![Row {
        name: format!("segmentation: unet_learner(resnet18) from scratch, fit_one_cycle({EPOCHS}, {LR:e}), bs {BS}, no augmentation"),
        data: format!("mnist-scenes, {n_train} train, {n_valid} valid, {h}×{w}, {} classes", data.codes.len()),
        metric: format!(
            "pixel_accuracy {:.4}, foreground_accuracy {:.4}, dice_multi {:.4}, params {}",
            metric("pixel_accuracy"),
            metric("foreground_accuracy"),
            metric("dice_multi"),
            kindling_core::nn::num_params(learn.model())
        ),
        secs,
        throughput: format!("{:.0} training pixels/s; convolutions ≈ {:.0}% of the fit", pixels / fit_s, 100.0 * conv_s / fit_s),
        peer,
    }])
}
