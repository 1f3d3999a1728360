//! `bench ulmfit`: chapter 10's three stages beside `../shared/peer/fastai_ulmfit.py`, with the
//! settings of its docstring: an AWD-LSTM language model from scratch on Jane Austen's novels
//! (paragraphs as documents, 10% held out, bs 64, `fit_one_cycle(2, 2e-3)`, drop_mult 0.3);
//! fine-tuned on the review texts (train + test, no labels; vocabulary matched; one frozen epoch
//! at 2e-2, then 2 at 2e-3); a classifier on its encoder (bs 32, drop_mult 0.5, gradual
//! unfreezing 1 + 1 + 1 + 2 epochs from 2e-2) scored on the 1,000 test reviews. Then the
//! classifier from scratch beside `fastai_text_amazon.py` (4 epochs at 1e-2).
//!
//! `ulmfit-quick` runs the same stages, both sides, on a slice of the data (Persuasion only;
//! 500 training and 500 test reviews; one epoch of each language model): the same code and
//! settings in a tenth of the time, for a ratio when the full run does not fit.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;

use super::{Row, run_peer_script};

fn csv_field(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Runs one `kindling-nlp` command line, returning its wall seconds (the tokenization cache
/// emptied first).
fn kindling(args: &[String]) -> Result<f64, String> {
    if let Some(c) = std::env::var_os("KINDLING_CACHE") {
        let _ = std::fs::remove_dir_all(c);
    }
    println!("$ {}", args.join(" "));
    let t = Instant::now();
    kindling_nlp::cli::run(kindling_nlp::cli::Cli::parse_from(args)).map_err(|e| e.to_string())?;
    Ok(t.elapsed().as_secs_f64())
}

fn final_metric(run: &Path, key: &str) -> f64 {
    std::fs::read_to_string(run.join("metrics.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|m| m["final"][key].as_f64())
        .unwrap_or(f64::NAN)
}

/// fastai's tokens in `texts` (what tokens/s counts).
fn n_tokens(texts: &[String]) -> usize {
    kindling_nlp::ulmfit::tokenize::FastaiTokenizer::new().tokenize_all(texts).iter().map(Vec::len).sum()
}

/// The data of one run: the novels' folder, the two review files, and the epochs of the two
/// language-model stages.
struct Setup {
    austen: PathBuf,
    train_csv: PathBuf,
    test_csv: PathBuf,
    lm_epochs: usize,
    ft_epochs: usize,
    label: &'static str,
}

fn quick_setup(data: &Path, work: &Path) -> Result<Setup, String> {
    let austen = work.join("austen");
    let amazon = work.join("amazon");
    for d in [&austen, &amazon] {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    std::fs::copy(data.join("jane-austen/persuasion.txt"), austen.join("persuasion.txt")).map_err(|e| e.to_string())?;
    for (name, n) in [("training_data.csv", 500), ("testing_data.csv", 500)] {
        let text = std::fs::read_to_string(data.join("amazon-reviews").join(name)).map_err(|e| e.to_string())?;
        // Whole CSV records (a review may span lines): cut after the n-th record.
        let mut out = String::new();
        let (mut records, mut quoted) = (0usize, false);
        for c in text.chars() {
            out.push(c);
            if c == '"' {
                quoted = !quoted;
            } else if c == '\n' && !quoted {
                records += 1;
                if records > n {
                    break;
                }
            }
        }
        std::fs::write(amazon.join(name), out).map_err(|e| e.to_string())?;
    }
    Ok(Setup { austen, train_csv: amazon.join("training_data.csv"), test_csv: amazon.join("testing_data.csv"), lm_epochs: 1, ft_epochs: 1, label: "quick slice" })
}

/// Runs the stages on both sides.
pub fn run(data: &Path, peer: Option<&Path>, quick: bool) -> Result<Vec<Row>, String> {
    let work = std::env::temp_dir().join(format!("kindling-bench-ulmfit-{}", std::process::id()));
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let s = if quick {
        quick_setup(data, &work)?
    } else {
        let amazon = data.join("amazon-reviews");
        Setup { austen: data.join("jane-austen"), train_csv: amazon.join("training_data.csv"), test_csv: amazon.join("testing_data.csv"), lm_epochs: 2, ft_epochs: 2, label: "full" }
    };
    let p = |p: &Path| p.to_string_lossy().to_string();
    let v = |x: &[&str]| x.iter().map(|a| a.to_string()).collect::<Vec<_>>();
    let read = |f: &Path, col: &str| kindling_nlp::data::read_text_column(f, col).map_err(|e| e.to_string());
    let (train_t, test_t) = (read(&s.train_csv, "review")?, read(&s.test_csv, "review")?);
    let (train_y, test_y) = (read(&s.train_csv, "score")?, read(&s.test_csv, "score")?);
    let combined = work.join("reviews.csv");
    let mut out = Vec::new();
    writeln!(out, "review,score,is_valid").map_err(|e| e.to_string())?;
    for (t, y, valid) in train_t.iter().zip(&train_y).map(|(t, y)| (t, y, false)).chain(test_t.iter().zip(&test_y).map(|(t, y)| (t, y, true))) {
        writeln!(out, "{},{},{valid}", csv_field(t), csv_field(y)).map_err(|e| e.to_string())?;
    }
    std::fs::write(&combined, out).map_err(|e| e.to_string())?;
    // Each stage tokenizes its corpus afresh, as fastai's does: a private cache, emptied before
    // every stage.
    let cache = work.join("token-cache");
    // SAFETY: set once, before any stage runs; no other thread of the bench reads the environment.
    unsafe { std::env::set_var("KINDLING_CACHE", &cache) };

    // Tokens per stage (tokenization is counted in each stage's time, as fastai's is).
    let corpus = kindling_nlp::ulmfit::commands::Corpus::Folder(s.austen.clone()).read().map_err(|e| e.to_string())?;
    let austen_tokens = n_tokens(&corpus);
    let reviews: Vec<String> = train_t.iter().chain(&test_t).cloned().collect();
    let review_tokens = n_tokens(&reviews);
    let _ = std::fs::remove_dir_all(&cache);

    let lm = work.join("lm");
    let t_lm = kindling(&[v(&["kindling-nlp", "lm", "train", "--text-dir"]), vec![p(&s.austen)], v(&["--epochs", &s.lm_epochs.to_string(), "--lr", "2e-3", "--bs", "64", "--drop-mult", "0.3", "--out"]), vec![p(&lm)]].concat())?;
    let ft = work.join("ft");
    let t_ft = kindling(
        &[
            v(&["kindling-nlp", "lm", "train", "--csv"]),
            vec![p(&s.train_csv), "--csv".into(), p(&s.test_csv)],
            v(&["--text", "review", "--lm"]),
            vec![p(&lm.join("model.safetensors"))],
            v(&["--epochs", &s.ft_epochs.to_string(), "--lr", "2e-3", "--bs", "64", "--drop-mult", "0.3", "--out"]),
            vec![p(&ft)],
        ]
        .concat(),
    )?;
    let clf = work.join("clf");
    let t_clf = kindling(
        &[
            v(&["kindling-nlp", "train", "--arch", "awd-lstm", "--lm"]),
            vec![p(&ft.join("model.safetensors")), "--csv".into(), p(&combined)],
            v(&["--text", "review", "--label", "score", "--valid-col", "is_valid", "--epochs", "2", "--lr", "2e-2", "--bs", "32", "--drop-mult", "0.5", "--out"]),
            vec![p(&clf)],
        ]
        .concat(),
    )?;
    let scratch = work.join("scratch");
    let scratch_epochs = if quick { "2" } else { "4" };
    let t_scratch = kindling(
        &[
            v(&["kindling-nlp", "train", "--arch", "awd-lstm", "--csv"]),
            vec![p(&combined)],
            v(&["--text", "review", "--label", "score", "--valid-col", "is_valid", "--epochs", scratch_epochs, "--lr", "1e-2", "--bs", "32", "--drop-mult", "0.5", "--out"]),
            vec![p(&scratch)],
        ]
        .concat(),
    )?;

    // The peer: its three stage lines, then the from-scratch classifier.
    let (peer_stages, peer_scratch) = match peer {
        Some(py) => {
            let amazon_dir = s.train_csv.parent().map(Path::to_path_buf).unwrap_or_default();
            let stages = peer_ulmfit(py, &s.austen, &amazon_dir, s.lm_epochs, s.ft_epochs);
            let scratch = run_peer_script(py, &super::peer_dir().join("fastai_text_amazon.py"), &[p(&amazon_dir), scratch_epochs.into()], &["accuracy"]);
            (Some(stages), Some(scratch))
        }
        None => (None, None),
    };
    let stage_peer = |i: usize| peer_stages.as_ref().map(|r| r.as_ref().map(|v: &Vec<(String, f64)>| v[i].clone()).map_err(Clone::clone));
    let rate = |tokens: usize, epochs: usize, secs: f64| format!("{:.0} tokens/s", (tokens * epochs) as f64 / secs);
    let rows = vec![
        Row {
            name: format!("ulmfit 1: AWD-LSTM language model from scratch, fit_one_cycle({}, 2e-3), bs 64", s.lm_epochs),
            data: format!("Jane Austen ({}), {} paragraphs, {austen_tokens} tokens", s.label, corpus.len()),
            metric: format!("accuracy {:.4}, perplexity {:.1}", final_metric(&lm, "accuracy"), final_metric(&lm, "perplexity")),
            secs: t_lm,
            throughput: rate(austen_tokens, s.lm_epochs, t_lm),
            peer: stage_peer(0),
        },
        Row {
            name: format!("ulmfit 2: language model fine-tuned on the reviews, 1 frozen + {} epochs", s.ft_epochs),
            data: format!("{} review texts, {review_tokens} tokens", reviews.len()),
            metric: format!("accuracy {:.4}, perplexity {:.1}", final_metric(&ft, "accuracy"), final_metric(&ft, "perplexity")),
            secs: t_ft,
            throughput: rate(review_tokens, s.ft_epochs + 1, t_ft),
            peer: stage_peer(1),
        },
        Row {
            name: "ulmfit 3: classifier, gradual unfreezing 1+1+1+2 epochs, bs 32".into(),
            data: format!("{} train, {} test reviews", train_t.len(), test_t.len()),
            metric: format!("accuracy {:.4}", final_metric(&clf, "accuracy")),
            secs: t_clf,
            throughput: rate(review_tokens, 5, t_clf),
            peer: stage_peer(2),
        },
        Row {
            name: format!("AWD-LSTM classifier from scratch, fit_one_cycle({scratch_epochs}, 1e-2), bs 32"),
            data: format!("{} train, {} test reviews", train_t.len(), test_t.len()),
            metric: format!("accuracy {:.4}", final_metric(&scratch, "accuracy")),
            secs: t_scratch,
            throughput: rate(review_tokens, scratch_epochs.parse().unwrap_or(1), t_scratch),
            peer: peer_scratch,
        },
    ];
    let _ = std::fs::remove_dir_all(&work);
    Ok(rows)
}

/// `fastai_ulmfit.py AUSTEN AMAZON lm_epochs ft_epochs`: (metrics, wall seconds) per stage.
fn peer_ulmfit(python: &Path, austen: &Path, amazon: &Path, lm_epochs: usize, ft_epochs: usize) -> Result<Vec<(String, f64)>, String> {
    let script = super::peer_dir().join("fastai_ulmfit.py");
    println!("peer: {} {} {} {} {lm_epochs} {ft_epochs}", python.display(), script.display(), austen.display(), amazon.display());
    let out = std::process::Command::new(python)
        .arg(&script)
        .arg(austen)
        .arg(amazon)
        .args([lm_epochs.to_string(), ft_epochs.to_string()])
        .env("CUDA_VISIBLE_DEVICES", "")
        .output()
        .map_err(|e| format!("{}: {e}", python.display()))?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() {
        return Err(format!("peer failed: {text}\n{}", String::from_utf8_lossy(&out.stderr)));
    }
    ["lm_austen", "lm_finetune", "classifier"]
        .iter()
        .map(|stage| {
            let line = text.lines().find(|l| l.contains(&format!("stage={stage}"))).ok_or_else(|| format!("the peer printed no {stage} line: {text}"))?;
            let field = |k: &str| line.split_whitespace().find_map(|w| w.strip_prefix(&format!("{k}="))).map(str::to_string);
            let wall: f64 = field("wall_s").and_then(|v| v.parse().ok()).ok_or("no wall_s")?;
            let metric = match field("perplexity") {
                Some(ppl) => format!("accuracy {}, perplexity {ppl}", field("accuracy").unwrap_or_default()),
                None => format!("accuracy {}", field("accuracy").unwrap_or_default()),
            };
            Ok((metric, wall))
        })
        .collect()
}
