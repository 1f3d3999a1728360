//! The README's commands stay true: every `cargo run -p kindling-… -- ARGS` line in its code
//! blocks is parsed by that binary's own command-line definition (so a renamed or removed flag
//! fails here, not in a new user's first hour), and the committed or shared input files it
//! names exist. Running them all would take hours (full-size training); `tests/vision_readme.rs`
//! runs the vision ones as written.

use std::path::Path;

use clap::Parser;
use kindling_tests::readme::{examples, words};
use kindling_tests::repo_root;

/// Flags whose value is an input the command reads.
const INPUT_FLAGS: [&str; 10] = ["--csv", "--ratings", "--mnist", "--path", "--text-dir", "--pretrained", "--lines", "--images", "--labels-csv", "--lm"];

#[test]
fn every_readme_command_parses_and_its_inputs_exist() {
    let commands: Vec<String> = examples().into_iter().map(|e| e.line).collect();
    let runs: Vec<&String> = commands.iter().filter(|c| c.starts_with("cargo run --release -p kindling-") && c.contains(" -- ")).collect();
    assert!(runs.len() >= 30, "found only {} commands in the README", runs.len());
    let root = repo_root();
    let mut failures = Vec::new();
    for cmd in runs {
        let (head, args) = cmd.split_once(" -- ").unwrap();
        let krate = head.split_whitespace().skip_while(|w| *w != "-p").nth(1).unwrap().to_string();
        // A shell variable or substitution stands for a run folder the README made earlier.
        let args = args.replace("$(ls $R/digits/.kindling/cleaning-*.json | head -n 1)", "runs/ch2/digits/.kindling/cleaning-1.json").replace("$R", "runs/ch2");
        let mut argv = vec![krate.clone()];
        argv.extend(words(&args));
        let parsed = match krate.as_str() {
            "kindling-tabular" => kindling_tabular::cli::Cli::try_parse_from(&argv).map(|_| ()),
            "kindling-collab" => kindling_collab::cli::Cli::try_parse_from(&argv).map(|_| ()),
            "kindling-vision" => kindling_vision::cli::Cli::try_parse_from(&argv).map(|_| ()),
            "kindling-segmentation" => kindling_segmentation::cli::Cli::try_parse_from(&argv).map(|_| ()),
            "kindling-nlp" => kindling_nlp::cli::Cli::try_parse_from(&argv).map(|_| ()),
            "kindling-web" => kindling_web::cli::Cli::try_parse_from(&argv).map(|_| ()),
            other => {
                failures.push(format!("{cmd}\n  unknown crate {other}"));
                continue;
            }
        };
        if let Err(e) = parsed {
            failures.push(format!("{cmd}\n  {}", e.to_string().lines().next().unwrap_or_default()));
        }
        for (flag, value) in argv.iter().zip(argv.iter().skip(1)) {
            let committed = value.starts_with("datasets/") || value.starts_with("../shared/");
            if INPUT_FLAGS.contains(&flag.as_str()) && committed && !root.join(value).exists() {
                failures.push(format!("{cmd}\n  {flag} {value}: no such file in {}", root.display()));
            }
        }
    }
    assert!(failures.is_empty(), "README commands that would fail:\n{}", failures.join("\n"));
    assert!(Path::new(&root.join("README.md")).is_file());
}
