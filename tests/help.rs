//! Every command's `--help` tells the truth about what happens when a flag is not given
//! (issue #20): each option that takes a value shows its default, in every subcommand of every
//! task's binary, but the flags that name the user's own data, model or query, which have none.
//! And a count of things to list or show takes `-n` and `-k` alike, wherever it is.
//! Subcommands are found by reading each help's `Commands:` list, so a new subcommand or flag
//! is checked without touching this test.

use std::process::Command;

/// The task binaries (the test fixtures wrapping each crate's command line).
const BINARIES: [&str; 5] = [
    env!("CARGO_BIN_EXE_tabular-cli"),
    env!("CARGO_BIN_EXE_collab-cli"),
    env!("CARGO_BIN_EXE_vision-cli"),
    env!("CARGO_BIN_EXE_segmentation-cli"),
    env!("CARGO_BIN_EXE_nlp-cli"),
];

/// Flags that name the user's data, model file or query: nothing to default to.
const INPUTS: [&str; 19] = [
    "--csv", "--dataset", "--model", "--images", "--mnist", "--labels-csv", "--label-regex", "--path", "--masks",
    "--ratings", "--pairs", "--user", "--item", "--titles", "--text-dir", "--lines", "--lm", "--pretrained", "--similar",
];

fn help(bin: &str, path: &[String]) -> String {
    let out = Command::new(bin).args(path).arg("--help").output().expect("run the binary");
    assert!(out.status.success(), "{bin} {path:?} --help failed");
    String::from_utf8(out.stdout).expect("UTF-8 help")
}

/// The subcommands a help lists (`help` left out).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

/// Each option of a help's `Options:` section that takes a value: its long name and its whole
/// text (clap puts long descriptions on the lines below the flag).
fn value_options(help: &str) -> Vec<(String, String)> {
    let mut options: Vec<(String, String)> = Vec::new();
    for line in help.lines().skip_while(|l| !l.starts_with("Options:")).skip(1) {
        let trimmed = line.trim_start();
        let is_flag_line = line.starts_with("  ") && trimmed.starts_with('-') && line.len() - trimmed.len() <= 6;
        if is_flag_line {
            let long = trimmed.split([' ', ',']).find(|w| w.starts_with("--")).unwrap_or_default().to_string();
            let takes_value = trimmed.split("  ").next().is_some_and(|head| head.contains(" <"));
            options.push((if takes_value { long } else { String::new() }, line.to_string()));
        } else if let Some(last) = options.last_mut() {
            last.1.push('\n');
            last.1.push_str(line);
        }
    }
    options.retain(|(long, _)| !long.is_empty());
    options
}

#[test]
fn every_value_flag_shows_its_default() {
    let mut missing = Vec::new();
    let mut checked = 0;
    for (name, path, text) in every_help() {
        for (flag, body) in value_options(&text) {
            // `embed` writes --out, prints --similar, or both: one of them is the request.
            let request = path == ["embed"] && flag == "--out";
            if INPUTS.contains(&flag.as_str()) || request {
                continue;
            }
            checked += 1;
            if !body.to_lowercase().contains("default") {
                missing.push(format!("{name} {} {flag}:\n{body}", path.join(" ")));
            }
        }
    }
    assert!(checked > 100, "only {checked} options found: is the help parsed?");
    assert!(missing.is_empty(), "options that do not show their default:\n\n{}", missing.join("\n\n"));
}

/// Every subcommand's help of every binary, with its path (`["lm", "generate"]`).
fn every_help() -> Vec<(String, Vec<String>, String)> {
    let mut all = Vec::new();
    for bin in BINARIES {
        let name = std::path::Path::new(bin).file_name().unwrap().to_string_lossy().into_owned();
        let mut todo = vec![Vec::<String>::new()];
        while let Some(path) = todo.pop() {
            let text = help(bin, &path);
            for sub in subcommands(&text) {
                todo.push(path.iter().cloned().chain([sub]).collect());
            }
            all.push((name.clone(), path, text));
        }
    }
    all
}

#[test]
fn counts_take_n_and_k_alike() {
    let mut counts = 0;
    for (name, path, text) in every_help() {
        for (flag, body) in value_options(&text) {
            let first = body.lines().next().unwrap_or_default().trim_start();
            let short = first.starts_with("-n, ") || first.starts_with("-k, ");
            // `lm generate -n` counts words to write, not things to list.
            if !short || flag == "--n-words" {
                continue;
            }
            counts += 1;
            let other = if first.starts_with("-n, ") { "[alias: -k]" } else { "[alias: -n]" };
            assert!(body.contains(other), "{name} {} {flag} takes one of -n and -k only:\n{body}", path.join(" "));
        }
    }
    assert!(counts >= 9, "only {counts} counts found");
}

#[test]
fn the_parser_sees_long_descriptions_and_subcommands() {
    let text = "Usage: x [OPTIONS]\n\nCommands:\n  train  Train\n  help   Print\n\nOptions:\n      --lr <LR>\n          Peak rate\n          \n          [default: 1e-3]\n\n      --quiet\n          Say less\n  -k, --k <K>  How many [default: 3]\n";
    assert_eq!(subcommands(text), ["train"]);
    let options = value_options(text);
    assert_eq!(options.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(), ["--lr", "--k"]);
    assert!(options[0].1.contains("[default: 1e-3]"));
}
