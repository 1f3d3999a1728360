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
    let err = predictor.recommend("no-such-user", 5).unwrap_err().to_string();
    assert!(err.contains("user 'no-such-user' is not in the training data") && err.contains("ids from 1 to 150"), "{err}");

    // A note, the header, then the rows.
    let out = run_ok(cli().args(["recommend", "--model"]).arg(&model).args(["--user", "1", "-n", "3"]));
    assert_eq!(out.lines().count(), 5, "{out}");
    let out = run_ok(cli().args(["similar", "--model"]).arg(&model).args(["--item", "Toy Story", "-n", "5", "--format", "csv"]));
    assert_eq!(out.lines().count(), 6, "{out}");
    assert!(!out.contains("Toy Story,"), "an item is not listed as similar to itself: {out}");

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
    assert!(out.contains("Lowest item biases") && out.contains("Highest item biases"), "{out}");
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
    assert!(!out.contains("Lowest item biases"), "{out}");
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
    assert!(out.contains("Lowest item biases") && out.contains("Highest item biases"), "{out}");
    assert!(out.contains("no PCA map") && out.contains("1 factor per item"), "{out}");
    assert!(!dir.join("pca.png").exists());
    std::fs::remove_dir_all(dir).unwrap();
}

/// Runs `cmd`, which must fail cleanly (exit code 1, one `error:` line naming the problem, no
/// panic), and returns its stderr.
fn run_err(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success(), "succeeded: {}", String::from_utf8_lossy(&out.stdout));
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

fn small_ratings() -> PathBuf {
    repo_root().join("datasets/movielens-small/ratings.csv")
}

/// Trains a model on movielens-small with titles as items (1 epoch unless `extra` says), and
/// returns the run folder.
fn train_titles(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let run = dir.join(name);
    let mut cmd = cli();
    cmd.args(["train", "--ratings"]).arg(small_ratings()).args(["--user", "userId", "--item", "title", "--rating", "rating"]).args(extra).arg("--out").arg(&run);
    if !extra.contains(&"--epochs") {
        cmd.args(["--epochs", "1"]);
    }
    run_ok(&mut cmd);
    run
}

/// The data lines of a `--format table` output: those after the header line starting `rank`.
fn table_rows(out: &str) -> Vec<&str> {
    out.lines().skip_while(|l| !l.starts_with("rank")).skip(1).collect()
}

#[test]
fn y_range_takes_low_comma_high_or_two_values_and_help_says_so() {
    let dir = tmp("y-range");
    for (name, flags) in [("comma", &["--y-range", "0,5.5"][..]), ("two", &["--y-range", "0.5", "5"])] {
        let run = train_titles(&dir, name, flags);
        let p = kindling_collab::CollabPredictor::load(&run.join("model.safetensors"), &Device::flex()).unwrap();
        let want = if name == "comma" { (0.0, 5.5) } else { (0.5, 5.0) };
        assert_eq!(p.config.y_range, Some(want), "{flags:?}");
    }
    for bad in [&["--y-range", "0"][..], &["--y-range", "5,1"], &["--y-range", "0,1,2"]] {
        let err = run_err(cli().args(["train", "--ratings"]).arg(small_ratings()).args(bad).arg("--out").arg(dir.join("bad")));
        assert!(err.contains("--y-range") && err.contains("LOW,HIGH"), "{bad:?}: {err}");
    }
    assert!(!dir.join("bad").exists(), "no run folder for a refused run");
    let help = run_ok(cli().args(["train", "--help"]));
    assert!(help.contains("--y-range <LOW,HIGH>") && help.contains("`LOW,HIGH` or `LOW HIGH`"), "{help}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Every subcommand's help: defaults shown (collab's own learning rate among them), no word of
/// augmentation, the same short forms everywhere, and lr-find offering train's model flags.
#[test]
fn help_shows_every_default_and_only_flags_that_act() {
    let help = |sub: &str| run_ok(cli().args([sub, "--help"]));
    let train = help("train");
    for want in ["[default: 5e-3]", "[default: 100,50]", "[default: 0 to the highest rating + 0.5", "[default: 0.1]", "[default: 50]", "[default: 42]", "[default: 64]"] {
        assert!(train.contains(want), "train --help lacks {want}: {train}");
    }
    for sub in ["train", "predict", "recommend", "similar", "analyze", "interpret", "lr-find"] {
        let h = help(sub);
        assert!(!h.to_lowercase().contains("augment"), "{sub}: {h}");
        assert!(!h.contains("cpu or wgpu"), "{sub}: --device names every choice: {h}");
        if ["recommend", "similar", "analyze", "interpret"].contains(&sub) {
            assert!(h.contains("-n, --n <N>") && h.contains("[alias: -k]"), "{sub}: {h}");
        }
        if ["recommend", "similar", "interpret"].contains(&sub) {
            assert!(h.contains("--format <FORMAT>") && h.contains("--out <OUT>") && h.contains("[default: table]"), "{sub}: {h}");
        }
    }
    let lr_find = help("lr-find");
    for flag in ["--n-factors", "--use-nn", "--layers", "--y-range", "--wd", "lr_find.json"] {
        assert!(lr_find.contains(flag), "lr-find --help lacks {flag}: {lr_find}");
    }
}

#[test]
fn lr_find_sweeps_the_model_train_builds() {
    let dir = tmp("lr-find");
    let model_flags = ["--use-nn", "--layers", "20,10", "--wd", "0.01", "--y-range", "0,5.5", "--seed", "3"];
    let out = run_ok(cli().args(["lr-find", "--ratings"]).arg(small_ratings()).args(model_flags).args(["--num-it", "10", "--out"]).arg(dir.join("lr")));
    let described = |out: &str| out.lines().find(|l| l.starts_with("model: ")).unwrap_or_else(|| panic!("{out}")).to_string();
    let swept = described(&out);
    assert!(swept.contains("EmbeddingNN") && swept.contains("hidden layers 20,10") && swept.contains("0 to 5.5") && swept.contains("weight decay 0.01"), "{swept}");
    assert!(dir.join("lr/lr_find.json").exists() && dir.join("lr/lr_find.png").exists());
    let out = run_ok(cli().args(["train", "--ratings"]).arg(small_ratings()).args(model_flags).args(["--epochs", "1", "--out"]).arg(dir.join("run")));
    assert_eq!(described(&out), swept, "lr-find and train build the same model from the same flags");
    let out = run_ok(cli().args(["lr-find", "--ratings"]).arg(small_ratings()).args(["--n-factors", "8", "--num-it", "10", "--out"]).arg(dir.join("lr8")));
    assert!(described(&out).contains("8 factors"), "{out}");
    let err = run_err(cli().args(["lr-find", "--ratings"]).arg(small_ratings()).args(["--layers", "20", "--out"]).arg(dir.join("lr-bad")));
    assert!(err.contains("--layers") && err.contains("--use-nn"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn recommend_similar_and_analyze_print_tables_csv_and_json() {
    let dir = tmp("formats");
    let run = dir.join("run");
    // Items as ids, titles from a table: every title made long, to see the columns hold.
    run_ok(cli().args(["train", "--ratings"]).arg(small_ratings()).args(["--epochs", "1", "--out"]).arg(&run));
    let model = run.join("model.safetensors");
    let mut titles = String::from("movieId,title\n");
    let mut seen = HashSet::new();
    for line in std::fs::read_to_string(small_ratings()).unwrap().lines().skip(1) {
        let f: Vec<&str> = line.splitn(5, ',').collect();
        if seen.insert(f[1].to_string()) {
            let t = f[4].trim_matches('"').replace('"', "");
            titles.push_str(&format!("{},\"{t}: a deliberately long alternative title, longer than any column\"\n", f[1]));
        }
    }
    let titles_csv = dir.join("titles.csv");
    std::fs::write(&titles_csv, titles).unwrap();

    let recommend = |extra: &[&str]| run_ok(cli().args(["recommend", "--model"]).arg(&model).args(["--user", "15", "--titles"]).arg(&titles_csv).args(extra));
    let table = recommend(&["-n", "7"]);
    let header = table.lines().find(|l| l.starts_with("rank")).unwrap();
    assert!(header.split_whitespace().eq(["rank", "item", "title", "predicted"]), "{table}");
    let rows = table_rows(&table);
    assert_eq!(rows.len(), 7, "{table}");
    // Aligned: every line as long as the header, the score right-aligned at its end; titles cut.
    for r in &rows {
        assert_eq!(r.chars().count(), header.chars().count(), "{table}");
        assert!(r.contains('…') && !r.contains("than any column"), "{r}");
        assert!(r.rsplit(' ').next().unwrap().parse::<f64>().is_ok(), "{r}");
    }
    let csv = recommend(&["-n", "7", "--format", "csv"]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "rank,item,title,predicted");
    assert_eq!(lines.len(), 8, "only the data on stdout: {csv}");
    assert!(lines[1].starts_with("1,") && lines[1].contains("than any column\","), "nothing cut in CSV: {csv}");
    let json: serde_json::Value = serde_json::from_str(&recommend(&["-k", "7", "--format", "json"])).unwrap();
    let arr = json.as_array().unwrap();
    assert_eq!(arr.len(), 7);
    assert_eq!(arr[0]["rank"], 1);
    assert!(arr[0]["title"].as_str().unwrap().ends_with("than any column") && arr[0]["predicted"].is_f64(), "{json}");
    let scores: Vec<f64> = arr.iter().map(|o| o["predicted"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");

    // --out: written whole, never over an existing file unless --overwrite.
    let out_file = dir.join("recs.json");
    let said = recommend(&["-n", "7", "--format", "json", "--out", out_file.to_str().unwrap()]);
    assert!(said.contains("7 rows written to"), "{said}");
    let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out_file).unwrap()).unwrap();
    assert_eq!(written, json);
    let err = run_err(cli().args(["recommend", "--model"]).arg(&model).args(["--user", "15", "--out"]).arg(&out_file));
    assert!(err.contains("already exists") && err.contains("--overwrite"), "{err}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(&out_file).unwrap()).unwrap(), json, "the refused run left the file alone");
    recommend(&["-n", "2", "--format", "csv", "--out", out_file.to_str().unwrap(), "--overwrite"]);
    assert_eq!(std::fs::read_to_string(&out_file).unwrap().lines().count(), 3);
    let names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    assert!(!names.iter().any(|n| n.ends_with(".tmp")), "no temporary left: {names:?}");

    // similar by title (the long title table is the one given), as CSV.
    let first_title = arr[0]["title"].as_str().unwrap().to_string();
    let out = run_ok(cli().args(["similar", "--model"]).arg(&model).args(["--item", &first_title, "-n", "4", "--format", "csv", "--titles"]).arg(&titles_csv));
    assert_eq!(out.lines().next(), Some("rank,item,title,similarity"), "{out}");
    assert_eq!(out.lines().count(), 5, "{out}");

    // analyze: the bias table in every format, and the PCA's coordinates beside its map.
    let out = run_ok(cli().args(["analyze", "--model"]).arg(&model).args(["-n", "3", "--top", "100", "--label", "20", "--format", "json", "--out"]).arg(dir.join("an")));
    let biases: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let ends: Vec<&str> = biases.as_array().unwrap().iter().map(|o| o["end"].as_str().unwrap()).collect();
    assert_eq!(ends, ["lowest", "lowest", "lowest", "highest", "highest", "highest"]);
    let pca = std::fs::read_to_string(dir.join("an/pca.csv")).unwrap();
    assert_eq!(pca.lines().next(), Some("item,ratings,pc1,pc2"));
    assert_eq!(pca.lines().count(), 101);
    let out = run_ok(cli().args(["analyze", "--model"]).arg(&model).args(["-n", "2", "--top", "100", "--overwrite", "--titles"]).arg(&titles_csv).arg("--out").arg(dir.join("an")));
    assert!(out.contains("Lowest item biases") && out.contains("Highest item biases"), "{out}");
    assert_eq!(out.lines().filter(|l| l.starts_with("rank")).count(), 2, "{out}");
    assert!(out.lines().filter(|l| l.starts_with("   ")).all(|l| l.contains('…')), "long titles are cut: {out}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn did_you_mean_for_titles_users_and_columns() {
    let dir = tmp("did-you-mean");
    // A column named in another case is found.
    let run = dir.join("run");
    let out = run_ok(cli().args(["train", "--ratings"]).arg(small_ratings()).args(["--user", "USERID", "--item", "Title", "--rating", "rating", "--epochs", "1", "--out"]).arg(&run));
    assert!(out.contains("ratings of 'title' by 'userId'"), "{out}");
    let model = run.join("model.safetensors");
    let similar = |item: &str| cli().args(["similar", "--model"]).arg(&model).args(["--item", item, "-n", "3"]).output().unwrap();
    for (asked, found) in [("toy story", "Toy Story"), ("TOY STORY (1995)", "Toy Story"), ("the matrix", "Matrix, The")] {
        let out = similar(asked);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success() && stdout.contains(&format!("most like '{found}'")), "{asked}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(table_rows(&stdout).len(), 3, "{stdout}");
    }
    let err = run_err(cli().args(["similar", "--model"]).arg(&model).args(["--item", "Toy Stroy"]));
    assert!(err.contains("item 'Toy Stroy' is not in the training data") && err.contains("did you mean 'Toy Story'"), "{err}");
    assert!(err.contains("4,295 items"), "{err}");
    let err = run_err(cli().args(["similar", "--model"]).arg(&model).args(["--item", "xqzxqzxqz"]));
    assert!(err.contains("none is named like it"), "{err}");
    let err = run_err(cli().args(["recommend", "--model"]).arg(&model).args(["--user", "999"]));
    assert!(err.contains("user '999' is not in the training data") && err.contains("150 users have ids from 1 to 150"), "{err}");
    let out = run_ok(cli().args(["recommend", "--model"]).arg(&model).args(["--user", "015", "-n", "2"]));
    assert!(out.contains("user 15 would rate"), "{out}");

    // Columns: the closest suggested, a wrong separator named.
    let err = run_err(cli().args(["train", "--ratings"]).arg(small_ratings()).args(["--item", "titel", "--out"]).arg(dir.join("x")));
    assert!(err.contains("ratings.csv") && err.contains("no item column 'titel'; did you mean 'title'?") && err.contains("userId, movieId"), "{err}");
    let ml100k = kindling_tests::shared().join("data/movielens-100k");
    let err = run_err(cli().args(["train", "--ratings"]).arg(ml100k.join("ml-100k.inter")).args(["--sep", "\\t", "--user", "user_id", "--out"]).arg(dir.join("x")));
    assert!(err.contains("ml-100k.inter") && err.contains("did you mean 'user_id:token'"), "{err}");
    let err = run_err(cli().args(["train", "--ratings"]).arg(ml100k.join("ml-100k.inter")).args(["--out"]).arg(dir.join("x")));
    assert!(err.contains("ml-100k.inter") && err.contains("--sep"), "{err}");
    assert!(!dir.join("x").exists());

    // MovieLens 100k: items are ids, found by title through --titles.
    let run = dir.join("ml100k");
    run_ok(cli().args(["train", "--ratings"]).arg(ml100k.join("ml-100k.inter")).args(["--sep", "\\t", "--epochs", "1", "--out"]).arg(&run));
    let model = run.join("model.safetensors");
    let err = run_err(cli().args(["similar", "--model"]).arg(&model).args(["--item", "Toy Story"]));
    assert!(err.contains("--titles"), "an id model points to --titles: {err}");
    let out = run_ok(cli().args(["similar", "--model"]).arg(&model).args(["--item", "toy story (1995)", "-n", "2", "--titles"]).arg(ml100k.join("ml-100k.item")));
    assert!(out.contains("most like 'Toy Story'"), "{out}");
    assert!(table_rows(&out).iter().all(|r| r.split_whitespace().nth(1).unwrap().parse::<u32>().is_ok()), "ids beside titles: {out}");
    let err = run_err(cli().args(["similar", "--model"]).arg(&model).args(["--item", "Toy Stroy", "--titles"]).arg(ml100k.join("ml-100k.item")));
    assert!(err.contains("did you mean 'Toy Story' (id 1)"), "{err}");
    let err = run_err(cli().args(["recommend", "--model"]).arg(&model).args(["--user", "0"]));
    assert!(err.contains("943 users have ids from 1 to 943"), "{err}");
    // A titles table whose ids are not the model's items is refused by name.
    let wrong = dir.join("wrong.csv");
    std::fs::write(&wrong, "id,title\nx1,One\nx2,Two\n").unwrap();
    let err = run_err(cli().args(["recommend", "--model"]).arg(&model).args(["--user", "1", "--titles"]).arg(&wrong));
    assert!(err.contains("wrong.csv") && err.contains("none of its 2 ids"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn interpret_lists_the_worst_predictions_from_the_model_file_alone() {
    let dir = tmp("interpret");
    // Trained from a copy, with a seed and share that are not the defaults.
    let ratings = dir.join("ratings.csv");
    std::fs::copy(small_ratings(), &ratings).unwrap();
    let run = dir.join("run");
    run_ok(cli().args(["train", "--ratings"]).arg(&ratings).args(["--item", "title", "--user", "userId", "--rating", "rating", "--seed", "7", "--valid-pct", "0.25", "--epochs", "2", "--out"]).arg(&run));
    let model = run.join("model.safetensors");
    let out = run_ok(cli().args(["interpret", "--model"]).arg(&model).args(["-n", "8"]));
    let summary = out.lines().next().unwrap();
    let n_valid: usize = summary.split(' ').next().unwrap().parse().unwrap();
    let metrics: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(run.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(n_valid as u64, metrics["splits"]["valid"].as_u64().unwrap(), "{summary}");
    assert!((n_valid as f64 / 21782.0 - 0.25).abs() < 0.001, "the recorded --valid-pct 0.25: {summary}");
    let mse: f64 = summary.split("MSE ").nth(1).unwrap().split(' ').next().unwrap().parse().unwrap();
    let valid_loss = valid_mse(&run);
    assert!((mse - valid_loss).abs() < 1e-3 * valid_loss, "interpret's MSE {mse} is the training's valid_loss {valid_loss}");
    let header = out.lines().find(|l| l.starts_with("rank")).unwrap();
    assert!(header.split_whitespace().eq(["rank", "user", "item", "rating", "predicted", "sq_error"]), "{out}");
    assert_eq!(table_rows(&out).len(), 8, "{out}");

    let csv = run_ok(cli().args(["interpret", "--model"]).arg(&model).args(["-k", "20", "--format", "csv"]));
    let rows: Vec<Vec<String>> = csv.lines().skip(1).map(|l| {
        // The item (a title) may be quoted and hold commas: take the numbers from the right.
        let f: Vec<&str> = l.rsplitn(4, ',').collect();
        vec![f[3].to_string(), f[2].to_string(), f[1].to_string(), f[0].to_string()]
    }).collect();
    assert_eq!(rows.len(), 20, "{csv}");
    let errs: Vec<f64> = rows.iter().map(|r| {
        let (rating, pred, sq): (f64, f64, f64) = (r[1].parse().unwrap(), r[2].parse().unwrap(), r[3].parse().unwrap());
        assert!((sq - (rating - pred).powi(2)).abs() < 0.01, "{r:?}");
        sq
    }).collect();
    assert!(errs.windows(2).all(|w| w[0] >= w[1]), "worst first: {errs:?}");
    assert!(errs[0] > 4.0, "the worst prediction misses by more than two stars: {errs:?}");
    let json: serde_json::Value = serde_json::from_str(&run_ok(cli().args(["interpret", "--model"]).arg(&model).args(["-n", "3", "--format", "json"]))).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 3);
    assert!(json[0]["user"].is_string() && json[0]["rating"].is_number() && json[0]["sq_error"].is_number(), "{json}");

    // The file moved: interpret says so and takes its new place.
    let moved = dir.join("moved.csv");
    std::fs::rename(&ratings, &moved).unwrap();
    let err = run_err(cli().args(["interpret", "--model"]).arg(&model));
    assert!(err.contains("ratings.csv") && err.contains("--ratings"), "{err}");
    let out = run_ok(cli().args(["interpret", "--model"]).arg(&model).arg("--ratings").arg(&moved).args(["--format", "csv"]));
    assert_eq!(out, csv.lines().take(11).map(|l| format!("{l}\n")).collect::<String>(), "the same ratings from their new place");
    // Other data would validate on other ratings: refused, naming the difference.
    let text = std::fs::read_to_string(&moved).unwrap();
    let fewer = dir.join("fewer.csv");
    std::fs::write(&fewer, text.lines().take(20000).map(|l| format!("{l}\n")).collect::<String>()).unwrap();
    let err = run_err(cli().args(["interpret", "--model"]).arg(&model).arg("--ratings").arg(&fewer));
    assert!(err.contains("fewer.csv") && err.contains("items"), "{err}");

    // A model file that does not record its data says how to get one that does.
    let (mut header, _) = kindling_core::export::read(&model).unwrap();
    header.preprocessing.as_object_mut().unwrap().remove("source");
    header.split = None;
    let old = dir.join("old.safetensors");
    kindling_core::export::reheader(&model, &old, &header).unwrap();
    let err = run_err(cli().args(["interpret", "--model"]).arg(&old));
    assert!(err.contains("old.safetensors") && err.contains("train it again"), "{err}");
    // ...and every other command still reads it.
    run_ok(cli().args(["recommend", "--model"]).arg(&old).args(["--user", "1"]));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_pca_map_is_written_beside_its_coordinates_and_never_over_them() {
    let dir = tmp("pca");
    let run = train_titles(&dir, "run", &["--epochs", "2"]);
    let model = run.join("model.safetensors");
    let out = run_ok(cli().args(["analyze", "--model"]).arg(&model).args(["--top", "300", "--label", "40", "--out"]).arg(dir.join("an")));
    assert!(out.contains("map in") && out.contains("40 labelled"), "{out}");
    let png = image::open(dir.join("an/pca.png")).unwrap().to_rgb8();
    assert_eq!(png.dimensions(), (900, 800));
    // The margin right of the frame stays white beside the plotting area (above the x axis'
    // tick labels): no label runs off the map.
    let frame_right = 900 - 15;
    assert!((frame_right + 2..900).all(|x| (40..730).all(|y| png.get_pixel(x, y).0 == [255, 255, 255])), "something drawn in the right margin");
    let coords = std::fs::read_to_string(dir.join("an/pca.csv")).unwrap();
    assert_eq!(coords.lines().count(), 301);
    let err = run_err(cli().args(["analyze", "--model"]).arg(&model).arg("--out").arg(dir.join("an")));
    assert!(err.contains("pca.png already exists") && err.contains("--overwrite"), "{err}");
    run_ok(cli().args(["analyze", "--model"]).arg(&model).args(["--overwrite", "--out"]).arg(dir.join("an")));
    std::fs::remove_dir_all(dir).unwrap();
}

/// `train --from MODEL` continues a finished model; other factors or other users and items
/// are refused, naming what differs.
#[test]
fn train_from_a_finished_model_continues_it() {
    let dir = tmp("from");
    let first = train_titles(&dir, "first", &["--epochs", "3", "--lr", "5e-3"]);
    let model = first.join("model.safetensors");
    let again = train_titles(&dir, "again", &["--lr", "1e-9", "--from", model.to_str().unwrap()]);
    let fresh = train_titles(&dir, "fresh", &["--lr", "1e-9"]);
    let (trained, again, fresh) = (valid_mse(&first), valid_mse(&again), valid_mse(&fresh));
    assert!((again - trained).abs() < 0.01 * trained, "from the model {again}, the model {trained}");
    assert!(fresh > trained + 0.1, "a new model {fresh}, the trained one {trained}");
    let err = run_err(cli().args(["train", "--ratings"]).arg(small_ratings()).args(["--user", "userId", "--item", "title", "--rating", "rating", "--n-factors", "8", "--from"]).arg(&model).arg("--out").arg(dir.join("bad")));
    assert!(err.contains("--from") && err.contains("n_factors: 8 (the model file: 50)"), "{err}");
    let err = run_err(cli().args(["train", "--ratings"]).arg(small_ratings()).args(["--user", "userId", "--item", "movieId", "--rating", "rating", "--from"]).arg(&model).arg("--out").arg(dir.join("bad")));
    assert!(err.contains("--from") && err.contains("items"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}
