//! Bad model files given to every binary's prediction command, and the training flags every
//! binary shares (`--bs`, `--epochs`, `--lr`, `--out`), each refused by name.

use std::path::{Path, PathBuf};
use std::process::Command;

use kindling_tests::bad_input::{fails, scratch};
use kindling_tests::{repo_root, shared};

/// The three binaries' commands that read a model file, with their other inputs.
fn predict_with(bin: &str, model: &Path, dir: &Path) -> (Command, Vec<PathBuf>) {
    match bin {
        "tabular" => {
            let csv = repo_root().join("datasets/adult-sample/adult.csv");
            let mut c = Command::new(env!("CARGO_BIN_EXE_tabular-cli"));
            c.args(["predict", "--model"]).arg(model).arg("--csv").arg(&csv).arg("--out").arg(dir.join("preds.csv"));
            (c, vec![csv])
        }
        "collab" => {
            let mut c = Command::new(env!("CARGO_BIN_EXE_collab-cli"));
            c.args(["recommend", "--model"]).arg(model).args(["--user", "1"]);
            (c, vec![])
        }
        _ => {
            let img = shared().join("data/photos/chelsea.png");
            let mut c = Command::new(env!("CARGO_BIN_EXE_vision-cli"));
            c.args(["predict", "--model"]).arg(model).arg(&img);
            (c, vec![img])
        }
    }
}

/// Runs every binary's prediction on `model` and checks each refuses it, naming the file and
/// saying `what`.
fn every_binary_refuses(model: &Path, dir: &Path, what: &str) {
    for bin in ["tabular", "collab", "vision"] {
        let (cmd, mut inputs) = predict_with(bin, model, dir);
        if model.exists() {
            inputs.push(model.to_path_buf());
        }
        let refs: Vec<&Path> = inputs.iter().map(PathBuf::as_path).collect();
        let name = model.file_name().unwrap().to_string_lossy().to_string();
        fails(cmd, &refs, &[&name, what]);
    }
}

#[test]
fn a_zero_byte_model_file_is_refused_by_every_binary() {
    let dir = scratch("model-empty");
    let model = dir.join("empty.safetensors");
    std::fs::write(&model, b"").unwrap();
    every_binary_refuses(&model, &dir, "not a kindling model file");
}

#[test]
fn random_bytes_are_refused_by_every_binary() {
    let dir = scratch("model-noise");
    let model = dir.join("noise.safetensors");
    // A header length far beyond the file, then noise.
    let mut bytes = u64::MAX.to_le_bytes().to_vec();
    bytes.extend((0..4000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8));
    std::fs::write(&model, &bytes).unwrap();
    every_binary_refuses(&model, &dir, "not a kindling model file");
}

#[test]
fn a_safetensors_file_kindling_did_not_write_is_refused_by_every_binary() {
    let dir = scratch("model-foreign");
    let model = shared().join("models/efficientnet-lite0/efficientnet_lite0.safetensors");
    every_binary_refuses(&model, &dir, "not one kindling wrote");
}

#[test]
fn a_missing_model_file_is_refused_by_every_binary() {
    let dir = scratch("model-missing");
    every_binary_refuses(&dir.join("no-such-model.safetensors"), &dir, "No such file");
}

#[test]
fn a_folder_given_as_the_model_is_refused_by_every_binary() {
    let dir = scratch("model-folder");
    let folder = dir.join("folder.safetensors");
    std::fs::create_dir_all(&folder).unwrap();
    every_binary_refuses(&folder, &dir, "folder.safetensors");
}

/// Each binary's `train` on its committed sample, with `extra` flags.
fn train_with(bin: &str, extra: &[&str], out: &Path) -> (Command, Vec<PathBuf>) {
    let root = repo_root();
    let (mut c, data) = match bin {
        "tabular" => {
            let csv = root.join("datasets/adult-sample/adult.csv");
            let mut c = Command::new(env!("CARGO_BIN_EXE_tabular-cli"));
            c.args(["train", "--csv"]).arg(&csv).args(["--target", "salary"]);
            (c, csv)
        }
        "collab" => {
            let csv = root.join("datasets/movielens-small/ratings.csv");
            let mut c = Command::new(env!("CARGO_BIN_EXE_collab-cli"));
            c.args(["train", "--ratings"]).arg(&csv);
            (c, csv)
        }
        _ => {
            let mnist = root.join("datasets/mnist-3-7");
            let mut c = Command::new(env!("CARGO_BIN_EXE_vision-cli"));
            c.args(["train", "--mnist"]).arg(&mnist).args(["--arch", "resnet18-small"]);
            (c, mnist)
        }
    };
    c.args(extra).arg("--out").arg(out);
    (c, vec![data])
}

#[test]
fn a_zero_batch_size_or_epoch_count_is_refused_by_every_binary() {
    let dir = scratch("flags-zero");
    for bin in ["tabular", "collab", "vision"] {
        for (flag, value) in [("--bs", "0"), ("--epochs", "0")] {
            let (cmd, inputs) = train_with(bin, &[flag, value], &dir.join("run"));
            fails(cmd, &[inputs[0].as_path(), &dir], &[flag]);
        }
    }
}

#[test]
fn a_negative_or_nan_learning_rate_is_refused_by_every_binary() {
    let dir = scratch("flags-lr");
    for bin in ["tabular", "collab", "vision"] {
        for value in ["-1e-3", "NaN", "inf", "0"] {
            let (cmd, inputs) = train_with(bin, &["--lr", value], &dir.join("run"));
            fails(cmd, &[inputs[0].as_path(), &dir], &["--lr"]);
        }
    }
}

#[test]
fn an_output_folder_that_is_a_file_is_refused_by_every_binary() {
    let dir = scratch("flags-out");
    let file = dir.join("not-a-folder");
    std::fs::write(&file, b"keep me").unwrap();
    for bin in ["tabular", "collab", "vision"] {
        let (cmd, inputs) = train_with(bin, &["--epochs", "1"], &file);
        fails(cmd, &[inputs[0].as_path(), &dir], &["--out", "not-a-folder", "is a file"]);
    }
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
}
