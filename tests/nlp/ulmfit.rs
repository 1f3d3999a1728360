//! ULMFiT end to end through `kindling-nlp` (chapter 10): a language model on Jane Austen's
//! novels, fine-tuned on the Amazon reviews, then a classifier on its encoder with gradual
//! unfreezing, exported and used to predict; and the bad input a user can give these commands.
//!
//! The models are small (embedding 96, hidden 192, 2 layers) so that the chain runs in CI; the
//! full-size AWD-LSTM is what `cargo xtask bench ulmfit` trains.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use kindling_tests::bad_input::{fails, scratch};
use kindling_tests::{repo_root, shared};

const SIZES: [&str; 6] = ["--emb-sz", "96", "--n-hid", "192", "--n-layers", "2"];

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_nlp-cli"))
}

#[track_caller]
fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{cmd:?} failed\nstdout: {stdout}\nstderr: {}", String::from_utf8_lossy(&out.stderr));
    stdout
}

fn sample() -> PathBuf {
    repo_root().join("datasets/amazon-reviews-sample/reviews.csv")
}

/// A number printed after `key` in `text`.
fn number_after(text: &str, key: &str) -> f64 {
    let at = text.find(key).unwrap_or_else(|| panic!("no `{key}` in\n{text}")) + key.len();
    text[at..].trim_start().split(|c: char| !(c.is_ascii_digit() || c == '.')).next().unwrap().parse().unwrap()
}

fn final_metrics(run: &Path) -> serde_json::Value {
    let m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).expect("metrics.json")).unwrap();
    m["final"].clone()
}

/// The language model on two of the novels (Persuasion and Northanger Abbey, ~200,000 tokens;
/// 10% of the paragraphs held out), trained once for the tests that build on it.
fn austen_lm() -> &'static (PathBuf, String) {
    static LM: OnceLock<(PathBuf, String)> = OnceLock::new();
    LM.get_or_init(|| {
        let dir = scratch("ulmfit-austen");
        let novels = dir.join("novels");
        std::fs::create_dir_all(&novels).unwrap();
        for n in ["persuasion.txt", "northangerabbey.txt"] {
            std::fs::copy(shared().join("data/jane-austen").join(n), novels.join(n)).expect("../shared/data/jane-austen");
        }
        let run = dir.join("lm");
        let out = ok(cli().args(["lm", "train", "--text-dir"]).arg(&novels).args(SIZES).args(["--epochs", "3", "--lr", "1e-2", "--bs", "32", "--no-token-cache", "--out"]).arg(&run));
        (run.join("model.safetensors"), out)
    })
}

/// The language model beats the unigram baseline clearly on held-out paragraphs, reports
/// accuracy and perplexity, and continues a prompt, the same way for the same seed.
#[test]
fn a_language_model_on_austen_beats_the_unigram_baseline_and_continues_a_prompt() {
    let (model, out) = austen_lm();
    let run = model.parent().unwrap();
    let baseline = number_after(out, "the most frequent word gives accuracy");
    let f = final_metrics(run);
    let (acc, ppl) = (f["accuracy"].as_f64().expect("accuracy"), f["perplexity"].as_f64().expect("perplexity"));
    assert!(acc > baseline + 0.05, "LM accuracy {acc} vs unigram baseline {baseline}\n{out}");
    assert!(ppl > 1.0 && ppl < 500.0, "perplexity {ppl}");
    assert!(run.join("history.png").is_file());

    let generate = |seed: &str| ok(cli().args(["lm", "generate", "--model"]).arg(model).args(["-n", "25", "--seed", seed, "She was"]));
    let a = generate("1");
    assert!(a.starts_with("She was "), "{a}");
    assert!(a.split_whitespace().count() >= 25, "{a}");
    assert!(!a.contains("xxbos") && !a.contains("xxmaj") && !a.contains("xxunk"), "special tokens decoded: {a}");
    assert_eq!(a, generate("1"), "the same seed gives the same text");
    assert_ne!(a, generate("2"));
}

/// Chapter 10's chain on the committed review sample: the Austen model fine-tuned on the
/// reviews (vocabularies matched), a classifier on its saved encoder with gradual unfreezing that
/// beats the majority class, and the exported classifier reproducing the validation accuracy.
#[test]
fn transfer_to_reviews_then_a_classifier_that_beats_the_majority_class() {
    let (lm, _) = austen_lm();
    let dir = scratch("ulmfit-transfer");
    let ft = dir.join("lm-reviews");
    let out = ok(cli().args(["lm", "train", "--csv"]).arg(sample()).args(["--text", "review", "--lm"]).arg(lm).args(["--epochs", "2", "--bs", "32", "--no-token-cache", "--out"]).arg(&ft));
    assert!(out.contains("words known to its vocabulary"), "{out}");
    let baseline = number_after(&out, "the most frequent word gives accuracy");
    let acc = final_metrics(&ft)["accuracy"].as_f64().unwrap();
    assert!(acc > baseline, "fine-tuned LM accuracy {acc} vs baseline {baseline}");

    let clf = dir.join("clf");
    let out = ok(cli()
        .args(["train", "--arch", "awd-lstm", "--lm"])
        .arg(ft.join("encoder.safetensors"))
        .arg("--csv")
        .arg(sample())
        .args(["--text", "review", "--label", "score", "--valid-col", "is_valid", "--epochs", "2", "--bs", "32", "--out"])
        .arg(&clf));
    // Gradual unfreezing: the head alone, then two, three, then all groups for 2 epochs.
    let rows = out
        .lines()
        .filter(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            w.len() >= 5 && w[0].parse::<usize>().is_ok() && w[1].parse::<f64>().is_ok()
        })
        .count();
    assert_eq!(rows, 5, "{out}");
    let majority = number_after(&out, "the most frequent class gives accuracy");
    assert!((majority - 0.615).abs() < 1e-9, "123 of the 200 validation reviews are great");
    let acc = final_metrics(&clf)["accuracy"].as_f64().unwrap();
    assert!(acc > majority, "classifier accuracy {acc} vs majority {majority}\n{out}");

    // The exported model alone gives the same validation accuracy.
    let valid = dir.join("valid.csv");
    let (texts, labels) = super::cli::valid_rows(&sample());
    let mut csv = String::from("review\n");
    for t in &texts {
        csv.push_str(&format!("\"{}\"\n", t.replace('"', "\"\"")));
    }
    std::fs::write(&valid, csv).unwrap();
    let preds = dir.join("preds.csv");
    ok(cli().args(["predict", "--model"]).arg(clf.join("model.safetensors")).arg("--csv").arg(&valid).args(["--text", "review", "--out"]).arg(&preds));
    let got: Vec<String> = std::fs::read_to_string(&preds).unwrap().lines().skip(1).map(|l| l.split(',').nth(1).unwrap().to_string()).collect();
    assert_eq!(got.len(), labels.len());
    let correct = got.iter().zip(&labels).filter(|(a, b)| a == b).count();
    assert!((correct as f64 / labels.len() as f64 - acc).abs() < 1e-9, "predict gives {correct}/200, training reported {acc}");
    let one = ok(cli().args(["predict", "--model"]).arg(clf.join("model.safetensors")).arg("Great taste, I buy it every week."));
    assert!(one.starts_with("great (") || one.starts_with("other ("), "{one}");

    // interpret rebuilds the recorded split and agrees with training.
    let interp = dir.join("interp");
    let report = ok(cli().args(["interpret", "--model"]).arg(clf.join("model.safetensors")).arg("--csv").arg(sample()).args(["--text", "review", "--label", "score", "--valid-col", "is_valid", "-k", "3", "--out"]).arg(&interp));
    assert!((number_after(&report, "accuracy") - acc).abs() < 1e-4, "{report}");
    assert!(interp.join("confusion_matrix.png").is_file() && report.contains("the 3 most confident mistakes"), "{report}");
}

/// What a user can get wrong: an empty corpus, a model file of the wrong kind, and a
/// language model file that was damaged; each a clear error, never a panic.
#[test]
fn bad_input_to_the_ulmfit_commands_is_refused_clearly() {
    let dir = scratch("ulmfit-bad");
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let mut c = cli();
    c.args(["lm", "train", "--text-dir"]).arg(&empty).args(["--out"]).arg(dir.join("run"));
    fails(c, &[&empty], &["holds no .txt file"]);

    let tiny = dir.join("tiny");
    std::fs::create_dir_all(&tiny).unwrap();
    std::fs::write(tiny.join("a.txt"), "Too short.\n\nAlso short.\n\nShort again.").unwrap();
    let mut c = cli();
    c.args(["lm", "train", "--text-dir"]).arg(&tiny).args(SIZES).args(["--no-token-cache", "--out"]).arg(dir.join("run2"));
    fails(c, &[&tiny], &["needs more text"]);

    // A file that is not a language model, then a damaged one.
    let not_lm = dir.join("not-lm.safetensors");
    std::fs::write(&not_lm, b"this is not a model").unwrap();
    let mut c = cli();
    c.args(["lm", "generate", "--model"]).arg(&not_lm).arg("hello");
    fails(c, &[&not_lm], &["not-lm.safetensors"]);
    let (lm, _) = austen_lm();
    let damaged = dir.join("damaged.safetensors");
    let mut bytes = std::fs::read(lm).unwrap();
    let n = bytes.len();
    bytes[n - 100] ^= 0xff;
    std::fs::write(&damaged, bytes).unwrap();
    let mut c = cli();
    c.args(["train", "--arch", "awd-lstm", "--lm"]).arg(&damaged).arg("--csv").arg(sample()).args(["--text", "review", "--label", "score", "--out"]).arg(dir.join("run3"));
    fails(c, &[&damaged], &["damaged.safetensors", "checksum"]);
    let mut c = cli();
    c.args(["lm", "generate", "--model"]).arg(lm).args(["--temperature", "0", "hi"]);
    fails(c, &[], &["temperature"]);
}

/// Training twice with no `--out` gives two numbered run folders with `runs/latest` on the
/// newest; `--resume` with a model flag changed names that flag; a fit prints its own table.
#[test]
fn runs_are_numbered_and_resume_names_the_flag_that_differs() {
    let dir = scratch("ulmfit-runs");
    let corpus = dir.join("corpus");
    std::fs::create_dir_all(&corpus).unwrap();
    let text = std::fs::read_to_string(shared().join("data/jane-austen/persuasion.txt")).unwrap();
    std::fs::write(corpus.join("p.txt"), &text[..60_000]).unwrap();
    let tiny = ["--n-hid", "16", "--n-layers", "1", "--no-token-cache", "--bs", "16"];
    let train = |extra: &[&str]| {
        let mut c = cli();
        c.current_dir(&dir).args(["lm", "train", "--text-dir"]).arg(&corpus).args(tiny).args(extra);
        c
    };
    let first = ok(&mut train(&["--emb-sz", "16"]));
    let second = ok(&mut train(&["--emb-sz", "16"]));
    let folder = |out: &str| out.lines().find_map(|l| l.strip_prefix("run folder: ")).map(|l| l.split(' ').next().unwrap().to_string()).unwrap_or_else(|| panic!("{out}"));
    let (a, b) = (folder(&first), folder(&second));
    assert_ne!(a, b);
    assert!(a.starts_with("runs/nlp-") && a.ends_with("-1") && b.ends_with("-2"), "{a} {b}");
    assert!(dir.join(&a).join("model.safetensors").is_file() && dir.join(&b).join("model.safetensors").is_file());
    assert_eq!(std::fs::canonicalize(dir.join("runs/latest")).unwrap(), std::fs::canonicalize(dir.join(&b)).unwrap());
    assert_eq!(first.matches("train_loss").count(), 1, "one table for one fit: {first}");

    let err = fails(train(&["--resume", "--emb-sz", "32"]), &[], &["--emb-sz 32 (the checkpoint's run: 16)"]);
    assert!(!err.contains("ShapeMismatch"), "{err}");

    // A run that fails on its data takes its empty folder back, and runs/latest stays on the
    // newest real run.
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let mut c = cli();
    c.current_dir(&dir).args(["lm", "train", "--text-dir"]).arg(&empty).args(tiny);
    fails(c, &[&empty], &["holds no .txt file"]);
    assert!(!dir.join(b.replace("-2", "-3")).exists(), "an empty run folder was left behind");
    assert_eq!(std::fs::canonicalize(dir.join("runs/latest")).unwrap(), std::fs::canonicalize(dir.join(&b)).unwrap());

    // `--from` continues the latest run's model (fit again); other sizes are named.
    let again = ok(&mut train(&["--emb-sz", "16", "--from", "runs/latest/model.safetensors"]));
    assert!(again.contains(&format!("starting from the weights of {}", std::fs::canonicalize(dir.join(&b)).unwrap().join("model.safetensors").display())), "{again}");
    fails(train(&["--emb-sz", "32", "--from", &format!("{a}/model.safetensors")]), &[], &["--from", "emb_sz: 32 (the model file: 16)"]);
}
