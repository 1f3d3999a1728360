//! The README's commands stay true: every `cargo run -p kindling-… -- ARGS` line in its code
//! blocks is parsed by that binary's own command-line definition (so a renamed or removed flag
//! fails here, not in a new user's first hour), and the committed or shared input files it
//! names exist. Running them all would take hours (full-size training); `cargo xtask run ch1`,
//! `ch2` and `ch4` run the main ones end to end in CI.

use std::path::Path;

use clap::Parser;
use kindling_tests::repo_root;

/// The shell commands of the README's `sh` and `console` blocks, continuation lines joined,
/// comments and prompts removed.
fn readme_commands() -> Vec<String> {
    let text = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let (mut out, mut in_block, mut pending) = (Vec::new(), false, String::new());
    for line in text.lines() {
        if line.starts_with("```") {
            in_block = !in_block && (line.contains("sh") || line.contains("console"));
            continue;
        }
        if !in_block {
            continue;
        }
        let line = line.strip_prefix("$ ").unwrap_or(line);
        let line = match line.find("  #") {
            Some(i) => &line[..i],
            None => line,
        };
        if line.trim_start().starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (body, more) = match line.trim_end().strip_suffix('\\') {
            Some(b) => (b, true),
            None => (line.trim_end(), false),
        };
        pending.push_str(body.trim());
        pending.push(' ');
        if !more {
            out.push(pending.trim().to_string());
            pending.clear();
        }
    }
    out
}

/// Splits a command line as a shell would for these commands: spaces, double quotes.
fn words(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted, mut any) = (Vec::new(), String::new(), false, false);
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

/// Flags whose value is an input the command reads.
const INPUT_FLAGS: [&str; 10] = ["--csv", "--ratings", "--mnist", "--path", "--text-dir", "--pretrained", "--lines", "--images", "--labels-csv", "--lm"];

#[test]
fn every_readme_command_parses_and_its_inputs_exist() {
    let commands = readme_commands();
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
