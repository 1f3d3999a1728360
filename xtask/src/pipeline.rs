//! The book's experiments as pipelines of the task commands, on the committed samples.

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

/// Runs `name` and prints one summary table (task, data, metric, seconds).
pub fn run(name: &str) -> Result<(), String> {
    if name != "ch1" {
        return Err(format!("no pipeline '{name}'; there is: ch1"));
    }
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let root = repo().join("runs").join(format!("ch1-{stamp}"));
    let d = |p: &str| repo().join("datasets").join(p).to_string_lossy().to_string();
    let o = |p: &str| root.join(p).to_string_lossy().to_string();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
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
    ];
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
