//! kindling-collab on real MovieLens ratings: fastai's parameter counts, recommendations that
//! never repeat what a user rated, bad input, and the command line from training to analysis.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use burn::tensor::Device;
use kindling_collab::model::CollabModelConfig;
use kindling_collab::ratings::{RatingColumns, Ratings};
use kindling_core::data::split::{RandomSplitter, Splitter};
use kindling_tabular::read::ReadOptions;
use kindling_tests::{golden, repo_root};

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_collab-cli"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kindling-collab-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

/// The validation MSE of the simplest model there is, predicting every rating with the mean of
/// the training ratings, on the split `train` makes by default (20%, seed 42). A model that
/// learned nothing from the users and items scores about this.
fn mean_rating_mse(ratings: &Path, cols: RatingColumns) -> f64 {
    let r = Ratings::read(ratings, &ReadOptions::default(), &cols).unwrap();
    let s = RandomSplitter::new(0.2, 42).split(&r.len()).unwrap();
    let mean = s.train.iter().map(|&k| r.ratings[k] as f64).sum::<f64>() / s.train.len() as f64;
    s.valid.iter().map(|&k| (r.ratings[k] as f64 - mean).powi(2)).sum::<f64>() / s.valid.len() as f64
}

fn valid_mse(run: &Path) -> f64 {
    let metrics: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap();
    metrics["final"]["valid_loss"].as_f64().unwrap()
}

#[test]
fn parameter_counts_match_fastai() {
    let g = golden();
    let dot = &g["collab_dot_bias_ml100k"];
    let (nu, ni) = (dot["n_users"].as_u64().unwrap() as usize, dot["n_items"].as_u64().unwrap() as usize);
    let cfg = CollabModelConfig { n_users: nu, n_items: ni, n_factors: 50, nn_layers: None, y_range: Some((0.0, 5.5)) };
    assert_eq!(kindling_core::nn::num_params(&cfg.init(&Device::flex())) as u64, dot["n_params"].as_u64().unwrap());
    let nn = &g["collab_nn_ml100k"];
    let layers: Vec<usize> = nn["layers"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as usize).collect();
    let cfg = CollabModelConfig { nn_layers: Some(layers), ..cfg };
    assert_eq!(kindling_core::nn::num_params(&cfg.init(&Device::flex())) as u64, nn["n_params"].as_u64().unwrap());
}

#[test]
fn bad_ratings_files_get_clear_errors() {
    let dir = tmp("bad");
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let opts = ReadOptions::default();
    let cols = RatingColumns::default();
    let err = Ratings::read(&write("text.csv", "u,i,r\n1,2,4\n1,3,great\n"), &opts, &cols).unwrap_err().to_string();
    assert!(err.contains("text.csv") && err.contains("row 2") && err.contains("great"), "{err}");
    let err = Ratings::read(&write("ok.csv", "u,i,r\n1,2,4\n"), &opts, &RatingColumns { rating: Some("stars".into()), ..cols.clone() }).unwrap_err().to_string();
    assert!(err.contains("'stars'") && err.contains("u, i, r"), "{err}");
    let err = Ratings::read(&write("empty.csv", ""), &opts, &cols).unwrap_err().to_string();
    assert!(err.contains("empty.csv"), "{err}");
    let dups = Ratings::read(&write("dups.csv", "u,i,r\n1,2,4\n1,2,1\n2,2,3\n,5,2\n"), &opts, &cols).unwrap();
    assert_eq!((dups.duplicates_dropped, dups.ratings.clone()), (1, vec![1.0, 3.0]));
    assert_eq!(dups.skipped_rows, vec![4], "a rating without a user is skipped and reported");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn trains_recommends_unseen_items_and_analyzes_on_movielens_titles() {
    let dir = tmp("cli");
    let run = dir.join("run");
    let ratings = repo_root().join("datasets/movielens-small/ratings.csv");
    let out = run_ok(cli().args(["train", "--ratings"]).arg(&ratings).args(["--item", "title", "--user", "userId", "--rating", "rating", "--epochs", "3", "--out"]).arg(&run));
    assert!(out.contains("21782 ratings of 'title' by 'userId'") && out.contains("62 repeated (user, item) ratings dropped"), "{out}");
    assert!(out.contains("2 ratings without a user or item id were skipped (the first is row 11738)"), "{out}");
    let mse = valid_mse(&run);
    let cols = RatingColumns { user: Some("userId".into()), item: Some("title".into()), rating: Some("rating".into()) };
    let baseline = mean_rating_mse(&ratings, cols);
    eprintln!("dot-product model: valid MSE {mse:.4}, the mean predictor's {baseline:.4}");
    assert!(mse < 1.1 && mse < BEAT_THE_MEAN * baseline, "valid MSE {mse}, predicting the mean rating {baseline}");
    let model = run.join("model.safetensors");

    let predictor = kindling_collab::CollabPredictor::load(&model, &Device::flex()).unwrap();
    // What each user rated in training, from the file itself.
    let text = std::fs::read_to_string(&ratings).unwrap();
    for user in ["1", "15", "150"] {
        let recs = predictor.recommend(user, 20).unwrap();
        assert_eq!(recs.len(), 20);
        assert!(recs.windows(2).all(|w| w[0].score >= w[1].score));
        let u = predictor.pre.users.get(user).unwrap();
        let seen: HashSet<&str> = predictor.pre.seen[u].iter().map(|&i| predictor.pre.items.ids[i as usize].as_str()).collect();
        assert!(!seen.is_empty());
        for r in &recs {
            assert!(!seen.contains(r.item.as_str()), "user {user} already rated {}", r.item);
            assert_ne!(r.item, "#na#");
        }
        // Items rated in training appear in the data file as rated by this user.
        let first_seen = seen.iter().next().unwrap();
        assert!(text.lines().any(|l| l.starts_with(&format!("{user},")) && l.contains(first_seen.trim_matches('"'))), "{first_seen}");
    }
    assert!(predictor.recommend("no-such-user", 5).unwrap_err().to_string().contains("'no-such-user' is not in the training data"));

    let out = run_ok(cli().args(["recommend", "--model"]).arg(&model).args(["--user", "1", "-n", "3"]));
    assert_eq!(out.lines().count(), 3, "{out}");
    let out = run_ok(cli().args(["similar", "--model"]).arg(&model).args(["--item", "Toy Story", "-n", "5"]));
    assert_eq!(out.lines().count(), 5, "{out}");
    assert!(!out.contains("Toy Story"), "an item is not listed as similar to itself: {out}");

    let pairs = dir.join("pairs.csv");
    std::fs::write(&pairs, "userId,title\n1,Toy Story\n99999,Toy Story\n1,No Such Film\n").unwrap();
    let preds = dir.join("preds.csv");
    run_ok(cli().args(["predict", "--model"]).arg(&model).arg("--pairs").arg(&pairs).arg("--out").arg(&preds));
    let lines: Vec<String> = std::fs::read_to_string(&preds).unwrap().lines().map(String::from).collect();
    assert_eq!(lines.len(), 4);
    let p: f64 = lines[1].split(',').nth(2).unwrap().parse().unwrap();
    assert!((0.0..=5.5).contains(&p), "{p}");
    assert!(lines[2].ends_with(",,unknown user") && lines[3].ends_with(",,unknown item"), "{lines:?}");

    let out = run_ok(cli().args(["analyze", "--model"]).arg(&model).args(["--top", "200", "--label", "30", "--out"]).arg(dir.join("analysis")));
    assert!(out.contains("lowest item biases") && out.contains("highest item biases"), "{out}");
    let png = std::fs::read(dir.join("analysis/pca.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    std::fs::remove_dir_all(dir).unwrap();
}

/// A trained model's validation MSE must be below this share of the mean predictor's.
const BEAT_THE_MEAN: f64 = 0.9;

#[test]
fn the_neural_model_trains_too() {
    let dir = tmp("nn");
    let run = dir.join("run");
    let ratings = repo_root().join("datasets/movielens-small/ratings.csv");
    run_ok(cli().args(["train", "--ratings"]).arg(&ratings).args(["--use-nn", "--epochs", "1", "--out"]).arg(&run));
    let mse = valid_mse(&run);
    // The default columns: userId, movieId, rating.
    let baseline = mean_rating_mse(&ratings, RatingColumns::default());
    eprintln!("neural model: valid MSE {mse:.4}, the mean predictor's {baseline:.4}");
    assert!(mse < BEAT_THE_MEAN * baseline, "valid MSE {mse}, predicting the mean rating {baseline}");
    // The neural model has no item biases, and analyze says so rather than skipping them.
    let out = run_ok(cli().args(["analyze", "--model"]).arg(run.join("model.safetensors")).args(["--top", "100", "--out"]).arg(&dir));
    assert!(out.contains("no item bias listing") && out.contains("--use-nn"), "{out}");
    assert!(!out.contains("lowest item biases"), "{out}");
    assert_eq!(&std::fs::read(dir.join("pca.png")).unwrap()[1..4], b"PNG");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_one_factor_model_is_analyzed_without_a_map() {
    let dir = tmp("one-factor");
    let ratings = dir.join("ratings.csv");
    let mut text = String::from("user,item,rating\n");
    for u in 0..30 {
        for i in 0..20 {
            if (u + i) % 3 != 0 {
                text.push_str(&format!("{u},{i},{}\n", 1 + (u * i) % 5));
            }
        }
    }
    std::fs::write(&ratings, text).unwrap();
    let run = dir.join("run");
    run_ok(cli().args(["train", "--ratings"]).arg(&ratings).args(["--n-factors", "1", "--y-range", "0.5,5.5", "--epochs", "1", "--bs", "16", "--out"]).arg(&run));
    let p = kindling_collab::CollabPredictor::load(&run.join("model.safetensors"), &Device::flex()).unwrap();
    assert_eq!((p.config.n_factors, p.config.y_range), (1, Some((0.5, 5.5))), "--y-range low,high is used");
    let out = run_ok(cli().args(["analyze", "--model"]).arg(run.join("model.safetensors")).arg("--out").arg(&dir));
    // The bias listing still works; the two-component map is explained, not attempted.
    assert!(out.contains("lowest item biases") && out.contains("highest item biases"), "{out}");
    assert!(out.contains("no PCA map") && out.contains("1 factor per item"), "{out}");
    assert!(!dir.join("pca.png").exists());
    std::fs::remove_dir_all(dir).unwrap();
}
