//! Chapter 2: clean, retrain, deploy, on the committed MNIST 3-vs-7 sample.
//!
//! The pipeline writes a few hundred threes and sevens as PNGs into class folders (`train/3`,
//! `valid/7` …) with some sevens planted among the threes, trains a small classifier, ranks
//! every image by its loss with the cleaner's library (what `kindling-web clean` shows, highest
//! loss first), relabels the planted sevens it finds there with the cleaner's `apply` (the code
//! behind the page's Apply button, which writes the edit log), retrains on the cleaned folder,
//! and serves the new model in-process over HTTP for one prediction.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::Parser;
use kindling_core::data::idx::IdxImages;
use kindling_web::clean::{Action, Edit, ModelStamp};
use kindling_web::rank::Ranking;
use kindling_web::serve::load::{ModelSource, load, task_of};
use kindling_web::serve::worker::BatchOptions;

/// Training images of each digit.
const TRAIN_PER_CLASS: usize = 200;
/// Validation images of each digit.
const VALID_PER_CLASS: usize = 50;
/// Sevens filed under `train/3`.
const PLANTED_TRAIN: usize = 8;
/// Sevens filed under `valid/3`.
const PLANTED_VALID: usize = 4;
/// Epochs of each training run.
const EPOCHS: &str = "4";
/// Batch size: small batches give BatchNorm enough steps on a few hundred images.
const BS: &str = "16";

/// The folder the pipeline writes, and what it planted there.
struct Digits {
    /// The image folder (`train/{3,7}`, `valid/{3,7}`).
    dir: PathBuf,
    /// The planted sevens, `/`-separated paths below `dir`.
    planted: Vec<String>,
    /// A seven written nowhere in `dir`, as PNG bytes, to ask the served model about.
    query: Vec<u8>,
}

fn kerr(step: &str) -> impl Fn(kindling_core::Error) -> String + '_ {
    move |e| format!("{step}: {e}")
}

/// A 28×28 grey digit written as an RGB PNG.
fn write_png(path: &Path, pixels: &[u8]) -> Result<(), String> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    let rgb: Vec<u8> = pixels.iter().flat_map(|&p| [p, p, p]).collect();
    kindling_core::plot::save_rgb_png(path, &rgb, 28, 28).map_err(|e| e.to_string())
}

/// Writes the class folders from `datasets/mnist-3-7`: the first digits of each class into
/// train then valid, then the next sevens planted into `train/3` and `valid/3`, and one more
/// seven kept aside as the query.
fn write_digits(dir: &Path) -> Result<Digits, String> {
    let data = super::repo().join("datasets/mnist-3-7");
    let d = IdxImages::read(&data.join("images-idx3-ubyte.gz"), &data.join("labels-idx1-ubyte.gz")).map_err(kerr("mnist-3-7"))?;
    let mut counts = [0usize; 2];
    let mut planted = Vec::new();
    let mut query = None;
    let per_class = TRAIN_PER_CLASS + VALID_PER_CLASS;
    let query_file = dir.parent().unwrap_or(dir).join("query-7.png");
    for i in 0..d.len() {
        let seven = d.labels[i] == 7;
        let n = counts[usize::from(seven)];
        let rel = if n < TRAIN_PER_CLASS {
            format!("train/{}/{i}.png", d.labels[i])
        } else if n < per_class {
            format!("valid/{}/{i}.png", d.labels[i])
        } else if seven && planted.len() < PLANTED_TRAIN + PLANTED_VALID {
            let split = if planted.len() < PLANTED_TRAIN { "train" } else { "valid" };
            let rel = format!("{split}/3/{i}.png");
            planted.push(rel.clone());
            rel
        } else if seven && query.is_none() {
            write_png(&query_file, d.image(i))?;
            query = Some(std::fs::read(&query_file).map_err(|e| format!("{}: {e}", query_file.display()))?);
            continue;
        } else {
            if counts.iter().all(|&c| c >= per_class) && query.is_some() {
                break;
            }
            continue;
        };
        counts[usize::from(seven)] += 1;
        write_png(&dir.join(&rel), d.image(i))?;
    }
    let query = query.ok_or("mnist-3-7 has too few sevens for the pipeline")?;
    Ok(Digits { dir: dir.to_path_buf(), planted, query })
}

/// Trains resnet18-small on the folder with `kindling-vision train`; returns the model file
/// and its validation error rate (1 − accuracy from metrics.json).
fn train(images: &Path, out: &Path) -> Result<(PathBuf, f64), String> {
    let args: Vec<String> = ["kindling-vision", "train", "--images", &images.to_string_lossy(), "--arch", "resnet18-small", "--size", "28", "--no-aug", "--epochs", EPOCHS, "--bs", BS, "--lr", "3e-3", "--out", &out.to_string_lossy()]
        .iter()
        .map(|s| s.to_string())
        .collect();
    println!("$ {}", args.join(" "));
    kindling_vision::cli::run(kindling_vision::cli::Cli::parse_from(args)).map_err(kerr("vision train"))?;
    let accuracy = super::metric(out, "accuracy")?;
    Ok((out.join("model.safetensors"), 1.0 - accuracy))
}

/// `POST path` with `body` to `addr` over a plain TCP connection; the status and the body.
fn post(addr: SocketAddr, path: &str, content_type: &str, body: &[u8]) -> Result<(u16, String), String> {
    let io = |e: std::io::Error| format!("POST http://{addr}{path}: {e}");
    let mut s = TcpStream::connect(addr).map_err(io)?;
    s.set_read_timeout(Some(Duration::from_secs(60))).map_err(io)?;
    let head = format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n", body.len());
    s.write_all(head.as_bytes()).and_then(|()| s.write_all(body)).map_err(io)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(io)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(|| format!("POST http://{addr}{path}: no answer"))?;
    let status = head.split(' ').nth(1).and_then(|c| c.parse().ok()).ok_or_else(|| format!("POST http://{addr}{path}: bad status line {head}"))?;
    Ok((status, body.to_string()))
}

/// Runs the chapter 2 pipeline and prints one summary table.
pub fn run() -> Result<(), String> {
    let root = super::run_root("ch2");
    let mut rows = Vec::new();
    let t = Instant::now();
    let digits = write_digits(&root.join("digits"))?;
    let n_train = 2 * TRAIN_PER_CLASS + PLANTED_TRAIN;
    let n_valid = 2 * VALID_PER_CLASS + PLANTED_VALID;
    let data = format!("mnist-3-7 as PNGs: {n_train} train, {n_valid} valid, {} sevens planted in */3", digits.planted.len());
    println!("== {data} ==\n{} (planted: {})", digits.dir.display(), digits.planted.join(", "));
    rows.push(("write", data, "class folders".to_string(), t.elapsed().as_secs_f64()));

    println!("\n== train on the folder as it is ==");
    let t = Instant::now();
    let (first, error_before) = train(&digits.dir, &root.join("train-before"))?;
    rows.push(("train", format!("resnet18-small, {EPOCHS} epochs"), format!("valid error {error_before:.4}"), t.elapsed().as_secs_f64()));

    println!("\n== rank by loss, as `kindling-web clean` shows the images ==");
    let t = Instant::now();
    let device = burn::tensor::Device::flex();
    let predictor = kindling_vision::predict::VisionPredictor::load(&first, &device).map_err(kerr("load the model"))?;
    let ranking = Ranking::of_folder(&predictor, &digits.dir, &device).map_err(kerr("rank"))?;
    let k = digits.planted.len();
    let is_planted = |f: &str| digits.planted.iter().any(|p| p == f);
    println!("| rank | file | label | predicted | prob | loss | planted |\n|---|---|---|---|---|---|---|");
    for (i, r) in ranking.items.iter().take(2 * k).enumerate() {
        println!("| {} | {} | {} | {} | {:.3} | {:.3} | {} |", i + 1, r.file, r.label, r.predicted, r.prob, r.loss, if is_planted(&r.file) { "yes" } else { "" });
    }
    let found_k = ranking.items.iter().take(k).filter(|r| is_planted(&r.file)).count();
    let found_2k = ranking.items.iter().take(2 * k).filter(|r| is_planted(&r.file)).count();
    println!("{found_k} of the top {k} losses are planted sevens ({found_2k} of the top {})", 2 * k);
    rows.push(("rank", format!("{} images", ranking.items.len()), format!("top {k}: {found_k} planted; top {}: {found_2k}", 2 * k), t.elapsed().as_secs_f64()));

    // A person at the page looks down the top 2k: a planted seven is plainly a 7 and is
    // relabelled; the rest are real, if hard, digits and are kept (not sent).
    println!("\n== apply the decisions (the page's Apply: an edit log, then the moves) ==");
    let t = Instant::now();
    let edits: Vec<Edit> = ranking.items.iter().take(2 * k).filter(|r| is_planted(&r.file)).map(|r| Edit::new(r.file.clone(), r.label.clone(), Action::Relabel, Some("7".into()), Some(r.loss))).collect();
    let applied = kindling_web::clean::apply(&digits.dir, &ModelStamp::of(&first).map_err(kerr("hash the model"))?, edits).map_err(|e| format!("apply: {e}"))?;
    println!("{} file(s) relabelled; log {}", applied.moved(), applied.log_path.display());
    println!("(undo with: cargo run --release -p kindling-web -- clean --undo {})", applied.log_path.display());
    let log_name = applied.log_path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    rows.push(("clean", format!(".kindling/{log_name}"), format!("{} relabelled 3 → 7", applied.moved()), t.elapsed().as_secs_f64()));

    println!("\n== retrain on the cleaned folder ==");
    let t = Instant::now();
    let (second, error_after) = train(&digits.dir, &root.join("train-after"))?;
    rows.push(("retrain", "the cleaned folder".into(), format!("valid error {error_after:.4} (was {error_before:.4})"), t.elapsed().as_secs_f64()));

    println!("\n== export ==");
    let task = task_of(&second).map_err(kerr("export"))?;
    let bytes = std::fs::metadata(&second).map(|m| m.len()).unwrap_or(0);
    println!("{}: a {task} model, {:.1} MB (one file: weights, classes, preprocessing)", second.display(), bytes as f64 / 1e6);
    rows.push(("export", "train-after/model.safetensors".into(), format!("{task} model, {:.1} MB", bytes as f64 / 1e6), 0.0));

    println!("\n== serve it and ask over HTTP ==");
    let t = Instant::now();
    let (queue, info) = load(&ModelSource::File(second.clone()), &device, BatchOptions::default()).map_err(kerr("serve"))?;
    let server = kindling_web::http::background::Background::start(kindling_web::serve::router(kindling_web::serve::ServeState::new(queue, info))).map_err(kerr("serve"))?;
    println!("serving {} at {}", second.display(), server.url("/"));
    let (status, answer) = post(server.addr, "/predict?k=2", "image/png", &digits.query)?;
    println!("$ curl -s --data-binary @{} -H 'Content-Type: image/png' '{}'\n{status} {answer}", root.join("query-7.png").display(), server.url("/predict?k=2"));
    if status != 200 {
        return Err(format!("the server answered {status}: {answer}"));
    }
    let v: serde_json::Value = serde_json::from_str(&answer).map_err(|e| format!("the answer is not JSON ({e}): {answer}"))?;
    let top = &v["predictions"][0];
    let said = format!("a held-out 7 → {} ({:.3})", top["class"].as_str().unwrap_or("?"), top["prob"].as_f64().unwrap_or(f64::NAN));
    rows.push(("serve", format!("POST {}", server.url("/predict")), said, t.elapsed().as_secs_f64()));
    drop(server);

    println!("\n| step | data | result | seconds |\n|---|---|---|---|");
    for (step, data, result, secs) in rows {
        println!("| {step} | {data} | {result} | {secs:.1} |");
    }
    println!("\nrun directory: {}", root.display());
    if found_k == 0 || error_after > error_before {
        return Err(format!("the loop did not work: {found_k} planted images in the top {k} losses, valid error {error_before:.4} → {error_after:.4}"));
    }
    Ok(())
}
