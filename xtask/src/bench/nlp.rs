//! `bench nlp`: chapter 4's classifier beside `../shared/peer/hf_minilm_amazon.py` — the same
//! model (all-MiniLM-L6-v2, mean pooling, a linear head), the same 4,000 / 1,000 split, AdamW
//! at 5e-5, one-cycle with 10% warm-up, 1 epoch, bs 32, 128 tokens at most.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;

use super::{Row, run_peer};

/// The texts and labels of one of the Amazon CSV files (`product,review,score`), read with the
/// same reader `kindling-nlp` uses.
fn reviews(file: &Path) -> Result<(Vec<String>, Vec<String>), String> {
    let texts = kindling_nlp::data::read_text_column(file, "review").map_err(|e| e.to_string())?;
    let labels = kindling_nlp::data::read_text_column(file, "score").map_err(|e| e.to_string())?;
    Ok((texts, labels))
}

fn csv_field(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Training and evaluation through the `kindling-nlp train` command, then the exported model's
/// predictions on the test reviews (inference speed, and a check that they agree with the
/// validation accuracy of training), then the peer.
pub fn amazon(data: &Path, models: &Path, peer: Option<&Path>) -> Result<Vec<Row>, String> {
    let dir = data.join("amazon-reviews");
    let model = models.join("all-MiniLM-L6-v2");
    let (train_t, train_y) = reviews(&dir.join("training_data.csv"))?;
    let (test_t, test_y) = reviews(&dir.join("testing_data.csv"))?;
    let work = std::env::temp_dir().join(format!("kindling-bench-nlp-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let csv = work.join("reviews.csv");
    let mut out = Vec::new();
    writeln!(out, "review,score,is_valid").map_err(|e| e.to_string())?;
    for (t, y, v) in train_t.iter().zip(&train_y).map(|(t, y)| (t, y, false)).chain(test_t.iter().zip(&test_y).map(|(t, y)| (t, y, true))) {
        writeln!(out, "{},{},{v}", csv_field(t), csv_field(y)).map_err(|e| e.to_string())?;
    }
    std::fs::write(&csv, out).map_err(|e| format!("{}: {e}", csv.display()))?;
    let run = work.join("run");
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let p = |p: &Path| p.to_string_lossy().to_string();
    let args = [
        s(&["kindling-nlp", "train", "--csv"]),
        vec![p(&csv)],
        s(&["--text", "review", "--label", "score", "--valid-col", "is_valid", "--pretrained"]),
        vec![p(&model)],
        s(&["--epochs", "1", "--bs", "32", "--lr", "5e-5", "--warmup-pct", "0.1", "--clip-norm", "0", "--max-len", "128", "--seed", "42", "--out"]),
        vec![p(&run)],
    ]
    .concat();
    println!("$ {}", args.join(" "));
    let t = Instant::now();
    kindling_nlp::cli::run(kindling_nlp::cli::Cli::parse_from(&args)).map_err(|e| e.to_string())?;
    let secs = t.elapsed().as_secs_f64();
    let metrics: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let acc = metrics["final"]["accuracy"].as_f64().unwrap_or(f64::NAN);
    let f1 = metrics["final"]["f1_macro"].as_f64().unwrap_or(f64::NAN);

    let device = burn::tensor::Device::flex();
    let predictor = kindling_nlp::predict::TextPredictor::load(&run.join("model.safetensors"), &device).map_err(|e| e.to_string())?;
    let refs: Vec<&str> = test_t.iter().map(String::as_str).collect();
    let ti = Instant::now();
    let preds = predictor.predict(&refs).map_err(|e| e.to_string())?;
    let infer_s = ti.elapsed().as_secs_f64();
    let infer_tokens: usize = preds.iter().map(|p| p.n_tokens).sum();
    let agree = preds.iter().zip(&test_y).filter(|(p, y)| p.labels.first() == Some(*y)).count() as f64 / test_y.len() as f64;
    let train_tokens: usize = predictor.tokenizer().encode_batch(&train_t.iter().map(String::as_str).collect::<Vec<_>>(), 128).map_err(|e| e.to_string())?.iter().map(Vec::len).sum();
    let _ = std::fs::remove_dir_all(&work);

    let peer = peer.map(|py| run_peer(py, "hf_minilm_amazon.py", &[p(&model), p(&dir), "1".into()], "accuracy"));
    Ok(vec![
        Row {
            name: "nlp: all-MiniLM-L6-v2 + mean pooling + linear, one-cycle(1, 5e-5, 10% warm-up), AdamW, bs 32, 128 tokens".into(),
            data: format!("Amazon reviews, {} train, {} valid (the test file)", train_t.len(), test_t.len()),
            metric: format!("accuracy {acc:.4} (F1 macro {f1:.4}; exported model re-predicts {agree:.4})"),
            secs,
            throughput: format!("{:.0} tokens/s over training and evaluation (command wall time, loading included)", (train_tokens + infer_tokens) as f64 / secs),
            peer,
        },
        Row {
            name: "nlp: inference with the exported model (no autodiff), bs 32".into(),
            data: format!("{} test reviews, {infer_tokens} tokens", test_t.len()),
            metric: "-".into(),
            secs: infer_s,
            throughput: format!("{:.0} tokens/s, {:.1} reviews/s", infer_tokens as f64 / infer_s, test_t.len() as f64 / infer_s),
            peer: None,
        },
    ])
}

/// `../shared/models`, or `$KINDLING_MODELS`.
pub fn models_dir() -> PathBuf {
    std::env::var_os("KINDLING_MODELS").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/models"))
}
