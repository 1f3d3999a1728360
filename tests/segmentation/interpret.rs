//! interpret, show-batch and the other encoders and decoder options, end to end.

use burn::tensor::Device;
use kindling_core::metrics::{HostPreds, HostTarget, Metric};
use kindling_core::nn::num_params;
use kindling_segmentation::data::mask::read_mask;
use kindling_segmentation::data::resize::resize_mask;
use kindling_segmentation::learner::flatten_scores;
use kindling_segmentation::metrics::DiceMulti;
use kindling_segmentation::model::UnetConfig;
use kindling_segmentation::predict::SegPredictor;
use kindling_tests::{repo_root, shared};
use kindling_vision::models::{Body, EfficientNetConfig, ResNetConfig};

use super::{cli, run, scenes_slice, tmp};

fn json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// `unet_learner(dls, resnet18, pretrained=False, n_out=11, self_attention=True)` at 64×64:
/// fastai's count, made by tests/golden/unet_self_attention.py with fastai 2.8.
#[test]
fn self_attention_unet_has_fastais_parameter_count() {
    let g = json(&repo_root().join("tests/golden/unet_self_attention.json"));
    let plain = UnetConfig::new(ResNetConfig::resnet18(1000), 11, [64, 64]);
    let with = UnetConfig { self_attention: true, ..plain.clone() };
    let device = Device::flex();
    assert_eq!(num_params(&plain.init(&device)) as u64, g["params_plain"].as_u64().unwrap());
    assert_eq!(num_params(&with.init(&device)) as u64, g["params_self_attention"].as_u64().unwrap());
}

/// Train briefly with `--self-attention`, then `interpret` the model: its scores are those of
/// training's last validation (same weights, same images), the grid shows the images with the
/// lowest Dice in order (recomputed here image by image through the predictor), and the IoU
/// table accounts for every validation pixel. `show-batch` draws a training batch.
#[test]
fn interpret_shows_the_worst_dice_images_and_per_class_iou() {
    let dir = tmp("interpret");
    let root = scenes_slice(&dir, 16, 8);
    let out = dir.join("run");
    let (ok, log) = run(cli().args(["train", "--path"]).arg(&root).args(["--size", "32", "--bs", "8", "--epochs", "1", "--self-attention", "--out"]).arg(&out));
    assert!(ok, "{log}");
    let model = out.join("model.safetensors");
    let (header, _) = kindling_core::export::read(&model).unwrap();
    assert_eq!(header.arch["self_attention"], true);

    let interp = dir.join("interp");
    let (ok, log) = run(cli().args(["interpret", "--model"]).arg(&model).args(["--path"]).arg(&root).args(["-n", "4", "--bs", "8", "--out"]).arg(&interp));
    assert!(ok, "{log}");
    assert!(log.contains("8 validation images") && log.contains("class") && log.contains("IoU") && log.contains("predicted px"), "{log}");
    let j = json(&interp.join("interpretation.json"));
    let final_metrics = &json(&out.join("metrics.json"))["final"];
    for key in ["dice_multi", "pixel_accuracy"] {
        let (a, b) = (j[key].as_f64().unwrap(), final_metrics[key].as_f64().unwrap());
        assert!((a - b).abs() < 1e-6, "{key}: interpret {a}, training {b}");
    }
    let classes = j["classes"].as_array().unwrap();
    assert_eq!(classes.len(), 11);
    assert_eq!(classes[0]["name"], "background");
    for key in ["truth_pixels", "predicted_pixels"] {
        assert_eq!(classes.iter().map(|c| c[key].as_u64().unwrap()).sum::<u64>(), 8 * 32 * 32, "{key}");
    }
    for c in classes {
        assert!(c["iou"].is_null() || (0.0..=1.0).contains(&c["iou"].as_f64().unwrap()), "{c}");
    }

    // Each validation image's Dice through the predictor; the grid holds the four lowest.
    let p = SegPredictor::load(&model, &Device::flex()).unwrap();
    let mut dice: Vec<(f64, String)> = (0..8)
        .map(|k| {
            let name = format!("valid_{k:04}.png");
            let img = p.pre.load_image(&root.join("images").join(&name)).unwrap();
            let scores: Vec<f32> = flatten_scores(p.scores(&img).unwrap()).into_data().convert::<f32>().try_into_vec().unwrap();
            let truth = resize_mask(&read_mask(&root.join(format!("labels/valid_{k:04}_P.png"))).unwrap(), [32, 32]);
            let mut m = DiceMulti::new(None);
            m.accumulate(&HostPreds { values: scores, n_out: 11 }, &HostTarget::Classes(truth.data.iter().map(|&v| v as i64).collect()));
            (m.value().unwrap(), name)
        })
        .collect();
    dice.sort_by(|a, b| a.0.total_cmp(&b.0));
    let worst = j["worst"].as_array().unwrap();
    assert_eq!(worst.len(), 4);
    for (w, (d, name)) in worst.iter().zip(&dice) {
        assert_eq!(w["image"].as_str().unwrap(), name, "{worst:?} vs {dice:?}");
        assert!((w["dice"].as_f64().unwrap() - d).abs() < 1e-6);
    }
    // Four rows of image / truth / prediction, 160-pixel cells.
    let grid = image::open(interp.join("show_results.png")).unwrap().to_rgb8();
    assert_eq!(grid.width(), 3 * 170 + 10);

    // show-batch: four training images with their masks.
    let png = dir.join("batch.png");
    let (ok, log) = run(cli().args(["show-batch", "--path"]).arg(&root).args(["--size", "32", "-n", "4", "--out"]).arg(&png));
    assert!(ok && log.contains("4 training images"), "{log}");
    assert_eq!(image::open(&png).unwrap().to_rgb8().width(), 2 * 170 + 10);

    // Flags that rebuild another validation set are refused before anything is scored.
    let (ok, log) = run(cli().args(["interpret", "--model"]).arg(&model).args(["--path"]).arg(&root).args(["--limit-valid", "4", "--out"]).arg(&interp));
    assert!(!ok && log.contains("do not rebuild the validation set"), "{log}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// A U-Net on the real EfficientNet-Lite0 weights: `fine_tune` through the command line (the
/// encoder frozen for the first epoch), an exported file that records the encoder and
/// predicts, and encoder weights that are the pretrained ones moved only slightly.
#[test]
fn efficientnet_lite0_encoder_fine_tunes_and_predicts() {
    let weights = shared().join("models/efficientnet-lite0/efficientnet_lite0.safetensors");
    let dir = tmp("effnet");
    let root = scenes_slice(&dir, 16, 8);
    let out = dir.join("run");
    let (ok, log) = run(cli()
        .args(["train", "--path"])
        .arg(&root)
        .args(["--arch", "efficientnet-lite0", "--pretrained"])
        .arg(&weights)
        .args(["--size", "32", "--bs", "8", "--epochs", "1", "--out"])
        .arg(&out));
    assert!(ok, "{log}");
    let model = out.join("model.safetensors");
    let (header, _) = kindling_core::export::read(&model).unwrap();
    assert_eq!(header.arch["encoder"]["efficientnet"]["head"], 1280, "{}", header.arch);
    // EfficientNet-Lite's own normalisation, (pixel − 127) / 128.
    assert!((header.preprocessing["normalize"]["mean"][0].as_f64().unwrap() - 127.0 / 255.0).abs() < 1e-6);

    let (ok, log) = run(cli().args(["predict", "--model"]).arg(&model).arg("--out").arg(dir.join("pred")).arg(root.join("images/valid_0001.png")));
    assert!(ok && log.contains("valid_0001_mask.png"), "{log}");
    let mask = image::open(dir.join("pred/valid_0001_mask.png")).unwrap().to_luma8();
    assert!(mask.dimensions() == (64, 64) && mask.pixels().all(|p| p.0[0] < 11));

    let device = Device::flex();
    let p = SegPredictor::load(&model, &device).unwrap();
    let pretrained = EfficientNetConfig::lite0(None).init(&device);
    let Body::EfficientNet(pretrained) = Body::EfficientNet(pretrained).load_pretrained(&weights, true).unwrap() else { unreachable!() };
    let Body::EfficientNet(trained) = &p.model().encoder else { panic!("not an EfficientNet encoder") };
    let a = trained.conv_stem.weight.val();
    let b = pretrained.conv_stem.weight.val();
    let rel = ((a - b.clone()).powf_scalar(2.0).sum().into_scalar::<f32>() / b.powf_scalar(2.0).sum().into_scalar::<f32>()).sqrt();
    assert!(rel < 0.05, "the stem moved by {rel} of its norm: the pretrained weights were not loaded");
    std::fs::remove_dir_all(dir).unwrap();
}
