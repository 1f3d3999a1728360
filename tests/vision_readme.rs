//! The README's `kindling-vision` commands run as written, in order, from a fresh folder laid
//! out as a clone is (`datasets/`, `crates/`, and `../shared` beside it): each succeeds without
//! a panic, and a command shown in a `console` block prints exactly the output shown under it.
//!
//! One change keeps the suite short: the Fashion-MNIST run trains on 1,000 images and validates
//! on 500 (`--limit-train 10000` becomes `--limit-train 1000 --limit-valid 500`); the commands
//! that use its model (`interpret`, `predict`) run as written. `tests/readme.rs` parses every
//! README command of every binary; this runs the vision ones.

use std::path::{Path, PathBuf};
use std::process::Command;

use kindling_tests::{repo_root, shared};

/// A README command and, for a `console` block, the output shown under it.
struct Example {
    line: String,
    output: Option<String>,
}

/// The `kindling-vision` commands of the README's `sh` and `console` blocks, continuation
/// lines joined, comments removed.
fn vision_examples() -> Vec<Example> {
    let text = std::fs::read_to_string(repo_root().join("README.md")).expect("README.md");
    let mut out: Vec<Example> = Vec::new();
    let (mut block, mut pending, mut console_output) = (None::<String>, String::new(), false);
    for line in text.lines() {
        if let Some(lang) = line.strip_prefix("```") {
            block = match block {
                Some(_) => None,
                None => Some(lang.trim().to_string()),
            };
            console_output = false;
            continue;
        }
        let Some(lang) = &block else { continue };
        if lang != "sh" && lang != "console" {
            continue;
        }
        let console = lang == "console";
        let command = if console { line.strip_prefix("$ ") } else { Some(line) };
        if console && command.is_none() && pending.is_empty() {
            // The output of the last command of a console block.
            if console_output && let Some(last) = out.last_mut() {
                let o = last.output.get_or_insert_with(String::new);
                o.push_str(line);
                o.push('\n');
            }
            continue;
        }
        let line = command.unwrap_or(line);
        let line = line.find("  #").map_or(line, |i| &line[..i]);
        if pending.is_empty() && (line.trim_start().starts_with('#') || line.trim().is_empty()) {
            continue;
        }
        let (body, more) = match line.trim_end().strip_suffix('\\') {
            Some(b) => (b, true),
            None => (line.trim_end(), false),
        };
        pending.push_str(body.trim());
        pending.push(' ');
        if !more {
            let full = std::mem::take(&mut pending).trim().to_string();
            if full.starts_with("cargo run --release -p kindling-vision -- ") {
                out.push(Example { line: full, output: None });
                console_output = console;
            } else {
                console_output = false;
            }
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

/// A folder laid out as a clone with `../shared` beside it; the working folder.
fn sandbox() -> PathBuf {
    let root = std::env::temp_dir().join(format!("kindling-vision-readme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let work = root.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let link = |from: &Path, to: &Path| std::os::unix::fs::symlink(from, to).unwrap();
    link(&shared().canonicalize().unwrap(), &root.join("shared"));
    link(&repo_root().join("datasets"), &work.join("datasets"));
    link(&repo_root().join("crates"), &work.join("crates"));
    work
}

#[test]
fn every_vision_readme_command_runs_as_written() {
    let examples = vision_examples();
    assert!(examples.len() >= 9, "found only {} vision commands in the README", examples.len());
    assert!(examples.iter().any(|e| e.output.is_some()), "the console example was not found");
    let work = sandbox();
    for e in &examples {
        let args = e.line.trim_start_matches("cargo run --release -p kindling-vision -- ").replace("--limit-train 10000", "--limit-train 1000 --limit-valid 500");
        let t = std::time::Instant::now();
        let o = Command::new(env!("CARGO_BIN_EXE_vision-cli")).args(words(&args)).current_dir(&work).output().unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
        eprintln!("{:>6.1}s  {}", t.elapsed().as_secs_f64(), e.line);
        assert!(o.status.success() && !stderr.contains("panicked"), "{}\nstdout:\n{stdout}\nstderr:\n{stderr}", e.line);
        if let Some(want) = &e.output {
            assert_eq!(stdout.trim_end(), want.trim_end(), "{}: the README shows another output", e.line);
        }
    }
    std::fs::remove_dir_all(work.parent().unwrap()).unwrap();
}
