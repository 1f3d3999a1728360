//! The `kindling-nlp` command end to end on real reviews and the real MiniLM: fine-tune, export,
//! predict, interpret, embed, and the bad input a user can give it.

use std::path::{Path, PathBuf};
use std::process::Command;

use kindling_nlp::predict::TextPredictor;
use kindling_tests::bad_input::{fails, scratch};
use kindling_tests::{repo_root, shared};

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nlp-cli"))
}

/// all-MiniLM-L6-v2 from ../shared, or `None` (with a message) where it is absent.
fn minilm() -> Option<PathBuf> {
    let dir = shared().join("models/all-MiniLM-L6-v2");
    if dir.join("model.safetensors").is_file() {
        Some(dir)
    } else {
        eprintln!("skipped: {} is absent", dir.display());
        None
    }
}

fn sample() -> PathBuf {
    repo_root().join("datasets/amazon-reviews-sample/reviews.csv")
}

#[track_caller]
fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{cmd:?} failed\nstdout: {stdout}\nstderr: {}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// Fine-tunes MiniLM for one epoch on the committed sample (800 training, 200 validation
/// reviews) and checks what a user relies on: it beats the majority class clearly, the run
/// folder holds what the contract says, and the exported model alone reproduces the
/// validation accuracy and classifies new text sensibly.
#[test]
fn fine_tunes_minilm_on_reviews_and_the_exported_model_reproduces_validation() {
    let Some(model) = minilm() else { return };
    let dir = scratch("nlp-fine-tune");
    let run = dir.join("run");
    let stdout = ok(cli().args(["train", "--csv"]).arg(sample()).args(["--text", "review", "--label", "score", "--valid-col", "is_valid", "--pretrained"]).arg(&model).args(["--epochs", "1", "--bs", "16", "--lr", "1e-4", "--out"]).arg(&run));
    assert!(stdout.contains("800 training and 200 validation texts"), "{stdout}");
    let m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap();
    let acc = m["final"]["accuracy"].as_f64().expect("accuracy");
    assert!(m["final"]["f1_macro"].as_f64().is_some(), "{m}");
    // 123 of the 200 validation reviews are `great`: the majority class scores 0.615.
    assert!(acc >= 0.75, "accuracy {acc} does not clearly beat the majority class (0.615)");
    assert!(run.join("history.png").is_file());

    // The exported model, alone, gives the same validation accuracy.
    let p = TextPredictor::load(&run.join("model.safetensors"), &burn::tensor::Device::flex()).unwrap();
    assert_eq!(p.classes, vec!["great".to_string(), "other".to_string()]);
    let csv = std::fs::read_to_string(sample()).unwrap();
    let (texts, labels) = valid_rows(&sample());
    assert_eq!(texts.len(), 200, "{}", csv.len());
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let preds = p.predict(&refs).unwrap();
    let again = preds.iter().zip(&labels).filter(|(p, y)| p.labels[0] == **y).count() as f64 / 200.0;
    assert!((again - acc).abs() <= 1.0 / 200.0 + 1e-9, "exported model: {again}, training's validation: {acc}");

    // predict on the command line, and on a file (written beside it, never over it).
    let out = ok(cli().args(["predict", "--model"]).arg(run.join("model.safetensors")).args(["Absolutely delicious, my new favourite snack. Five stars!", "Awful. It tasted like cardboard and arrived stale."]));
    let lines: Vec<&str> = out.lines().collect();
    assert!(lines[0].starts_with("great"), "{out}");
    assert!(lines[1].starts_with("other"), "{out}");
    let table = dir.join("new.csv");
    std::fs::write(&table, "id,body\n1,\"Great coffee, rich and smooth.\"\n2,Terrible and overpriced.\n").unwrap();
    ok(cli().args(["predict", "--model"]).arg(run.join("model.safetensors")).arg("--csv").arg(&table).args(["--text", "body"]));
    let written = std::fs::read_to_string(dir.join("new.predictions.csv")).unwrap();
    assert!(written.starts_with("row,prediction,p_great,p_other\n1,great,"), "{written}");
    let mut again = cli();
    again.args(["predict", "--model"]).arg(run.join("model.safetensors")).arg("--csv").arg(&table).args(["--text", "body"]);
    fails(again, &[&dir], &["new.predictions.csv", "exists"]);

    // interpret rebuilds the recorded split and lists mistakes with their text.
    let iout = dir.join("interp");
    let report = ok(cli().args(["interpret", "--model"]).arg(run.join("model.safetensors")).arg("--csv").arg(sample()).args(["--text", "review", "--label", "score", "--valid-col", "is_valid", "-k", "3", "--out"]).arg(&iout));
    let reported: f64 = report.strip_prefix("accuracy ").and_then(|r| r.split_whitespace().next()).and_then(|v| v.parse().ok()).expect("accuracy first");
    assert!(report.contains("on 200 validation texts") && (reported - acc).abs() <= 1.0 / 200.0 + 1e-9, "{report}");
    assert!(iout.join("confusion_matrix.png").is_file() && iout.join("interpretation.txt").is_file());
    std::fs::remove_dir_all(&dir).ok();
}

/// The validation rows of the sample (its `is_valid` column), read with the crate's reader.
pub(crate) fn valid_rows(file: &Path) -> (Vec<String>, Vec<String>) {
    let texts = kindling_nlp::data::read_text_column(file, "review").unwrap();
    let labels = kindling_nlp::data::read_text_column(file, "score").unwrap();
    let valid = kindling_nlp::data::read_text_column(file, "is_valid").unwrap();
    let keep: Vec<usize> = (0..texts.len()).filter(|&i| valid[i] == "true").collect();
    (keep.iter().map(|&i| texts[i].clone()).collect(), keep.iter().map(|&i| labels[i].clone()).collect())
}

/// `embed` writes one unit vector per line and finds the line nearest a query.
#[test]
fn embed_writes_vectors_and_finds_similar_lines() {
    let Some(model) = minilm() else { return };
    let dir = scratch("nlp-embed");
    let lines = dir.join("lines.txt");
    std::fs::write(&lines, "The cat sat on the mat.\nStock markets fell sharply today.\n\nA kitten is sleeping on the rug.\n").unwrap();
    let npy = dir.join("e.npy");
    let out = ok(cli().args(["embed", "--pretrained"]).arg(&model).arg("--lines").arg(&lines).arg("--out").arg(&npy).args(["--similar", "a small cat resting", "-k", "2"]));
    assert!(out.contains("3 texts embedded"), "{out}");
    let best = out.lines().skip_while(|l| !l.starts_with("most similar")).nth(1).unwrap_or_default();
    assert!(best.contains("line 3") || best.contains("line 1"), "{out}");
    assert!(!best.contains("Stock"), "{out}");
    let bytes = std::fs::read(&npy).unwrap();
    let hl = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    assert_eq!(bytes.len(), 10 + hl + 3 * 384 * 4);
    let first: Vec<f32> = bytes[10 + hl..10 + hl + 384 * 4].chunks(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
    let norm: f32 = first.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!((norm - 1.0).abs() < 1e-4, "{norm}");
    std::fs::remove_dir_all(&dir).ok();
}

/// Bad input to `train`: each gives one clear error naming the column, file, row or flag.
#[test]
fn bad_training_input_is_refused_by_name() {
    let Some(model) = minilm() else { return };
    let dir = scratch("nlp-bad-train");
    let one_class = dir.join("one.csv");
    std::fs::write(&one_class, "text,label\nnice,good\ngreat,good\nfine,good\n").unwrap();
    let train = |csv: &Path| {
        let mut c = cli();
        c.args(["train", "--csv"]).arg(csv).arg("--pretrained").arg(&model).arg("--out").arg(dir.join("run"));
        c
    };
    fails(train(&one_class), &[&dir], &["label", "good"]);
    let missing = dir.join("cols.csv");
    std::fs::write(&missing, "body,label\nnice,a\nbad,b\n").unwrap();
    fails(train(&missing), &[&dir], &["text", "body"]);
    let mut c = train(&sample());
    c.args(["--text", "review", "--label", "score", "--max-len", "100000"]);
    fails(c, &[&dir], &["--max-len", "512"]);
    let empty_model = dir.join("model-dir");
    std::fs::create_dir_all(&empty_model).unwrap();
    let mut c = cli();
    c.args(["train", "--csv"]).arg(sample()).args(["--text", "review", "--label", "score", "--pretrained"]).arg(&empty_model).arg("--out").arg(dir.join("run2"));
    fails(c, &[&dir], &["config.json"]);
    std::fs::remove_dir_all(&dir).ok();
}
