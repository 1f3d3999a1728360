//! Fashion-MNIST from scratch, as `../shared/peer/fastai_vision_fmnist.py`: resnet18 with a 3×3
//! stride-1 stem and no max-pool, the first 10,000 training images, the 10,000 test images to
//! validate, bs 128, `fit_one_cycle(1, 3e-3)`, no augmentation.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use burn::tensor::Device;
use kindling_core::data::split::{IndexSplitter, Splitter};
use kindling_vision::data::resize::ResizeMethod;
use kindling_vision::data::{LabelledItems, Normalize, Preprocessing, VisionData};
use kindling_vision::learner::{VisionModelConfig, vision_learner};
use kindling_vision::models::ResNetConfig;

use super::{Row, run_peer};

const N_TRAIN: usize = 10_000;

/// Multiply-adds ×2 of the convolutions and the classifier of a basic-block ResNet with the
/// small stem, for one `h × w` image: the forward pass's FLOPs.
fn resnet_small_flops(c: &ResNetConfig, h: usize, w: usize) -> f64 {
    let conv = |ci: usize, co: usize, k: usize, oh: usize, ow: usize| 2.0 * (ci * co * k * k * oh * ow) as f64;
    let (mut h, mut w, mut in_c) = (h, w, 64);
    let mut f = conv(c.in_channels, 64, 3, h, w);
    for (stage, (&n, width)) in c.layers.iter().zip([64usize, 128, 256, 512]).enumerate() {
        for b in 0..n {
            let stride = if b == 0 && stage > 0 { 2 } else { 1 };
            let (oh, ow) = (h.div_ceil(stride), w.div_ceil(stride));
            f += conv(in_c, width, 3, oh, ow) + conv(width, width, 3, oh, ow);
            if stride != 1 || in_c != width {
                f += conv(in_c, width, 1, oh, ow);
            }
            (h, w, in_c) = (oh, ow, width);
        }
    }
    f + 2.0 * (512 * c.num_classes.unwrap_or(0)) as f64
}

/// The input pipeline alone, then training and validation, then the peer.
pub fn fashion_mnist(data: &Path, peer: Option<&Path>) -> Result<Vec<Row>, String> {
    let e = |e: kindling_core::Error| e.to_string();
    let dir = data.join("fashion-mnist");
    let train = LabelledItems::from_mnist(&dir.join("train-images-idx3-ubyte.gz"), &dir.join("train-labels-idx1-ubyte.gz")).map_err(e)?;
    let test = LabelledItems::from_mnist(&dir.join("t10k-images-idx3-ubyte.gz"), &dir.join("t10k-labels-idx1-ubyte.gz")).map_err(e)?;
    let mut items = train.items[..N_TRAIN].to_vec();
    items.extend(test.items.iter().cloned());
    let n = items.len();
    let n_valid = n - N_TRAIN;
    let splits = IndexSplitter::new((N_TRAIN..n).collect()).split(&n).map_err(e)?;
    // The peer's normalisation: (x - 0.2860) / 0.3530.
    let pre = Preprocessing { size: 28, method: ResizeMethod::Squish, channels: 1, normalize: Normalize { mean: vec![0.2860], std: vec![0.3530] } };
    let data = VisionData { items: Arc::new(LabelledItems { items, classes: train.classes.clone() }), splits, pre, augment: None };
    let device = Device::flex();
    device.seed(42);
    let dls = data.dataloaders(128, 42, &device).map_err(e)?;

    let t = Instant::now();
    let mut seen = 0;
    for batch in dls.train.iter(0) {
        seen += batch.map_err(e)?.images.dims()[0];
    }
    let pipeline_s = t.elapsed().as_secs_f64();

    let arch = ResNetConfig::resnet18_small(1, 10);
    let fwd = resnet_small_flops(&arch, 28, 28);
    let t = Instant::now();
    let mut learn = vision_learner(&VisionModelConfig::scratch(arch), None, &dls, &device).map_err(e)?.with_seed(42).quiet();
    learn.fit_one_cycle(1, 3e-3).map_err(e)?;
    let fit_s = t.elapsed().as_secs_f64();
    let tv = Instant::now();
    let eval = learn.validate().map_err(e)?;
    let valid_s = tv.elapsed().as_secs_f64();
    let secs = t.elapsed().as_secs_f64();
    // fit = one training epoch (forward + backward ≈ 3 forward passes) and one validation.
    let train_s = (fit_s - valid_s).max(1e-9);
    let n_trained = N_TRAIN / 128 * 128;
    let train_gflops = 3.0 * fwd * n_trained as f64 / train_s / 1e9;
    let valid_gflops = fwd * n_valid as f64 / valid_s / 1e9;
    let acc = eval.metrics.iter().find(|(k, _)| k == "accuracy").and_then(|(_, v)| *v).unwrap_or(f64::NAN);

    let peer = match peer {
        Some(py) => Some(run_peer(py, "fastai_vision_fmnist.py", &[dir.to_string_lossy().to_string(), "1".into(), N_TRAIN.to_string()], "accuracy")),
        None => None,
    };
    Ok(vec![
        Row {
            name: "vision: input pipeline alone (idx decode, batch, normalise)".into(),
            data: format!("{seen} Fashion-MNIST images, bs 128"),
            metric: "-".into(),
            secs: pipeline_s,
            throughput: format!("{:.0} images/s", seen as f64 / pipeline_s),
            peer: None,
        },
        Row {
            name: "vision: resnet18-small from scratch, fit_one_cycle(1, 3e-3), bs 128".into(),
            data: format!("Fashion-MNIST, {N_TRAIN} train, {n_valid} valid (test set)"),
            metric: format!("accuracy {acc:.4} (valid loss {:.4})", eval.loss.unwrap_or(f64::NAN)),
            secs,
            throughput: format!(
                "train {:.0} images/s at {train_gflops:.1} GFLOP/s; valid {:.0} images/s at {valid_gflops:.1} GFLOP/s ({:.2} GFLOP per forward pass)",
                n_trained as f64 / train_s,
                n_valid as f64 / valid_s,
                fwd / 1e9
            ),
            peer,
        },
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resnet18_small_flops_match_a_count_by_hand() {
        // stem 1→64 at 28²; layer1 4 convs 64→64 at 28²; layers 2–4: a strided conv, 3 convs and
        // a 1×1 shortcut at 14², 7², 4²; fc 512→10.
        let mac = |ci: f64, co: f64, k: f64, hw: f64| ci * co * k * k * hw;
        let mut want = mac(1.0, 64.0, 3.0, 784.0) + 4.0 * mac(64.0, 64.0, 3.0, 784.0);
        for (ci, co, hw) in [(64.0, 128.0, 196.0), (128.0, 256.0, 49.0), (256.0, 512.0, 16.0)] {
            want += mac(ci, co, 3.0, hw) + 3.0 * mac(co, co, 3.0, hw) + mac(ci, co, 1.0, hw);
        }
        want = 2.0 * (want + 5120.0);
        let got = resnet_small_flops(&ResNetConfig::resnet18_small(1, 10), 28, 28);
        assert!((got - want).abs() < 1.0, "{got} vs {want}");
    }
}
