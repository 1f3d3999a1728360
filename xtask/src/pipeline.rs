//! The book's experiments as pipelines of the task commands, on the committed samples.

mod ch2;

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;

fn repo() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    p.canonicalize().unwrap_or(p)
}

/// One step of a pipeline and what it reports.
struct Step {
    task: &'static str,
    data: &'static str,
    metric: &'static str,
    args: Vec<String>,
    run: fn(Vec<String>) -> kindling_core::Result<()>,
}

fn metric(out: &Path, name: &str) -> Result<f64, String> {
    let p = out.join("metrics.json");
    let m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?).map_err(|e| e.to_string())?;
    m["final"][name].as_f64().ok_or_else(|| format!("{}: no final {name}", p.display()))
}

/// The pipelines, one a line, as `cargo xtask run` lists them.
pub const LIST: &str = "pipelines (cargo xtask run NAME):
  ch1  chapter 1's models on the committed samples: tabular, collab, vision, segmentation (about 3 minutes)
  ch2  chapter 2's loop: train, find the planted mislabelled images, clean, retrain, serve (about 2.5 minutes)
  ch4  chapter 4: fine-tune MiniLM on 800 committed reviews, then predict (needs ../shared/models)";

/// Runs `name` and prints one summary table (task, data, metric, seconds).
pub fn run(name: &str) -> Result<(), String> {
    match name {
        "ch1" => {}
        "ch2" => return ch2::run(),
        "ch4" => return ch4(),
        _ => return Err(format!("no pipeline '{name}'; {LIST}")),
    }
    let root = run_root("ch1");
    let d = |p: &str| repo().join("datasets").join(p).to_string_lossy().to_string();
    let o = |p: &str| root.join(p).to_string_lossy().to_string();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    // The one microscopy image, cut into tiles whose validation columns lie apart.
    let nuclei = repo().join("datasets/nuclei-sample");
    let tiles = kindling_segmentation::tiles::tile_pair(&nuclei.join("image.png"), &nuclei.join("mask.png"), 64, &root.join("nuclei-tiles")).map_err(|e| e.to_string())?;
    let steps = vec![
        Step {
            task: "tabular",
            data: "adult-sample (5,000 rows)",
            metric: "accuracy",
            args: [s(&["kindling-tabular", "train", "--csv"]), vec![d("adult-sample/adult.csv")], s(&["--target", "salary", "--cat", "workclass,education,marital-status,occupation,relationship,race", "--cont", "age,fnlwgt,education-num", "--epochs", "3", "--out"]), vec![o("tabular")]].concat(),
            run: |a| kindling_tabular::cli::run(kindling_tabular::cli::Cli::parse_from(a)),
        },
        Step {
            task: "collab",
            data: "movielens-small (users 1-150)",
            metric: "valid_loss",
            args: [s(&["kindling-collab", "train", "--ratings"]), vec![d("movielens-small/ratings.csv")], s(&["--user", "userId", "--item", "title", "--rating", "rating", "--epochs", "5", "--out"]), vec![o("collab")]].concat(),
            run: |a| kindling_collab::cli::run(kindling_collab::cli::Cli::parse_from(a)),
        },
        Step {
            task: "vision",
            data: "mnist-3-7 (2,102 digits)",
            metric: "accuracy",
            args: [s(&["kindling-vision", "train", "--mnist"]), vec![d("mnist-3-7")], s(&["--arch", "resnet18-small", "--epochs", "1", "--lr", "3e-3", "--out"]), vec![o("vision")]].concat(),
            run: |a| kindling_vision::cli::run(kindling_vision::cli::Cli::parse_from(a)),
        },
        Step {
            task: "segmentation",
            data: "nuclei-sample (64-pixel tiles, held apart)",
            metric: "dice",
            args: [
                s(&["kindling-segmentation", "train", "--images", &tiles.images.to_string_lossy(), "--masks", &tiles.masks.to_string_lossy()]),
                s(&["--valid-list", &tiles.valid_list.to_string_lossy(), "--binary-masks", "--channels", "1", "--bs", "8", "--epochs", "8", "--lr", "3e-3", "--out"]),
                vec![o("segmentation")],
            ]
            .concat(),
            run: |a| kindling_segmentation::cli::run(kindling_segmentation::cli::Cli::parse_from(a)),
        },
    ];
    run_steps(steps, &root)
}

/// The run directory of pipeline `name`, stamped with the time.
fn run_root(name: &str) -> PathBuf {
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    repo().join("runs").join(format!("{name}-{stamp}"))
}

/// Chapter 4: fine-tune MiniLM (from `../shared/models`, which is too large to commit) on the
/// committed review sample, then classify two new reviews with the exported model.
fn ch4() -> Result<(), String> {
    let model = std::env::var_os("KINDLING_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("../shared"))
        .join("models/all-MiniLM-L6-v2");
    if !model.join("model.safetensors").is_file() {
        println!("ch4 skipped: it fine-tunes all-MiniLM-L6-v2, which is not at {} (download it with `cargo xtask fetch all_minilm_l6_v2`)", model.display());
        return Ok(());
    }
    let root = run_root("ch4");
    let o = |p: &str| root.join(p).to_string_lossy().to_string();
    let csv = repo().join("datasets/amazon-reviews-sample/reviews.csv").to_string_lossy().to_string();
    let m = model.to_string_lossy().to_string();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let steps = vec![Step {
        task: "nlp",
        data: "amazon-reviews-sample (800 train, 200 valid)",
        metric: "accuracy",
        args: [s(&["kindling-nlp", "train", "--csv"]), vec![csv], s(&["--text", "review", "--label", "score", "--valid-col", "is_valid", "--pretrained"]), vec![m], s(&["--epochs", "1", "--bs", "16", "--lr", "1e-4", "--out"]), vec![o("nlp")]].concat(),
        run: |a| kindling_nlp::cli::run(kindling_nlp::cli::Cli::parse_from(a)),
    }];
    run_steps(steps, &root)?;
    let model_file = o("nlp/model.safetensors");
    let predict = s(&["kindling-nlp", "predict", "--model", &model_file, "These cookies are delicious, my kids love them and I will order again.", "Stale and tasteless, the box arrived crushed. Never again."]);
    println!("\n$ {}", predict.join(" "));
    kindling_nlp::cli::run(kindling_nlp::cli::Cli::parse_from(predict)).map_err(|e| format!("nlp predict: {e}"))
}

/// Runs the steps and prints one summary table (task, data, metric, seconds).
fn run_steps(steps: Vec<Step>, root: &Path) -> Result<(), String> {
    let mut rows = Vec::new();
    for step in steps {
        println!("\n== {} on {} ==", step.task, step.data);
        println!("$ {}", step.args.join(" "));
        let out = PathBuf::from(step.args.last().expect("--out DIR"));
        let t = Instant::now();
        (step.run)(step.args.clone()).map_err(|e| format!("{}: {e}", step.task))?;
        let secs = t.elapsed().as_secs_f64();
        let value = metric(&out, step.metric)?;
        let label = if step.metric == "valid_loss" { "valid MSE" } else { step.metric };
        rows.push(format!("| {} | {} | {label} {value:.4} | {secs:.1} |", step.task, step.data));
    }
    println!("\n| task | data | metric | seconds |\n|---|---|---|---|");
    for r in rows {
        println!("{r}");
    }
    println!("\nrun directories: {}", root.display());
    Ok(())
}
