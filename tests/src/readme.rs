//! The README's commands, as tests read them: `tests/readme.rs` parses every one with its
//! binary's flags, `tests/vision_readme.rs` runs the vision ones.

use crate::repo_root;

/// A README command and, for a `console` block, the output shown under it.
pub struct Example {
    /// The command, on one line.
    pub line: String,
    /// What a `console` block shows it printing.
    pub output: Option<String>,
}

/// The commands of the README's `sh` and `console` blocks, continuation lines joined, comments
/// and prompts removed, with the output a `console` block shows under its last command.
pub fn examples() -> Vec<Example> {
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
            out.push(Example { line: full, output: None });
            console_output = console;
        }
    }
    out
}

/// Splits a command line as a shell would for these commands: spaces, double quotes.
pub fn words(line: &str) -> Vec<String> {
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

