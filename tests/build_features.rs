//! Every command the README gives reuses the workspace build: whichever package it selects, each
//! dependency resolves with the same features as under `cargo build --workspace`, so nothing is
//! compiled twice. Cargo unifies features over the selected packages only; the
//! `workspace-hack` crate (a dependency of kindling-core) pins the union. This test runs
//! `cargo tree` for each selection, without compiling anything, and names the packages whose
//! features differ: add them to `crates/workspace-hack/Cargo.toml` with the `--workspace`
//! features (host-side ones, under build scripts and proc-macros, as build-dependencies).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A package as `cargo tree` names it (`serde v1.0.229`), and whether it is built for the host
/// (a build script's or a proc-macro's dependency), which Cargo resolves apart from the target.
type Node = (String, bool);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

fn cargo_tree(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO"))
        .current_dir(repo_root())
        .args(["tree", "--offline", "--charset", "ascii", "--format", "{p}|{f}"])
        .args(args)
        .output()
        .expect("run cargo tree");
    assert!(
        out.status.success(),
        "cargo tree {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("cargo tree prints UTF-8")
}

/// Each package of an indented `cargo tree` and its features. A node is host-side when it is a
/// proc-macro, is listed under a `[build-dependencies]` header, or hangs below a host-side node.
fn parse_tree(text: &str) -> BTreeMap<Node, String> {
    let mut features: BTreeMap<Node, String> = BTreeMap::new();
    // (depth, host) of the current path from the root.
    let mut path: Vec<(usize, bool)> = Vec::new();
    // The dependency kind header in force for the children at each depth.
    let mut section: BTreeMap<usize, String> = BTreeMap::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            // The next workspace member's tree.
            path.clear();
            section.clear();
            continue;
        }
        let body_at = line
            .find(|c: char| !matches!(c, '|' | '`' | '-' | ' '))
            .unwrap_or(line.len());
        let depth = body_at / 4;
        let body = &line[body_at..];
        if body.starts_with('[') {
            // `[build-dependencies]` is printed in its parent's column: it heads the children.
            section.insert(depth + 1, body.to_string());
            continue;
        }
        while path.last().is_some_and(|&(d, _)| d >= depth) {
            path.pop();
        }
        section.retain(|&d, _| d <= depth);
        let body = body.strip_suffix(" (*)").unwrap_or(body);
        let (package, feats) = body
            .split_once('|')
            .unwrap_or_else(|| panic!("unexpected cargo tree line {line:?}"));
        let proc_macro = package.ends_with(" (proc-macro)");
        let package = package.trim_end_matches(" (proc-macro)").to_string();
        let host = path.last().is_some_and(|&(_, h)| h)
            || proc_macro
            || section.get(&depth).is_some_and(|s| s == "[build-dependencies]");
        path.push((depth, host));
        let previous = features.insert((package.clone(), host), feats.to_string());
        if let Some(previous) = previous {
            assert_eq!(
                previous, feats,
                "{package} (host: {host}) has two feature sets in one tree: the parser is wrong"
            );
        }
    }
    features
}

/// The workspace members' package names, from `cargo metadata`.
fn members() -> Vec<String> {
    let out = Command::new(env!("CARGO"))
        .current_dir(repo_root())
        .args(["metadata", "--offline", "--no-deps", "--format-version", "1"])
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| p["name"].as_str().expect("name").to_string())
        .collect()
}

#[test]
fn every_readme_command_resolves_the_workspace_feature_set() {
    // `cargo test --release --workspace`, the CI command: the reference.
    let reference = parse_tree(&cargo_tree(&["--workspace", "--edges", "normal,build,dev"]));
    assert!(
        reference.keys().any(|(p, host)| p.starts_with("burn-flex ") && !host),
        "the parser found no burn-flex in the workspace tree"
    );
    assert!(
        reference.keys().any(|(_, host)| *host),
        "the parser found no host-side package"
    );

    // The README's selections (`cargo xtask` runs `--package xtask`), then every member, each
    // as `cargo build` (no dev-dependencies) and as `cargo test`/`--example` (with them).
    let mut selections: Vec<Vec<String>> = vec![vec!["--workspace".into()], vec![]];
    let mut named: BTreeSet<String> = BTreeSet::new();
    for package in [
        "kindling-core",
        "kindling-tabular",
        "kindling-collab",
        "kindling-vision",
        "xtask",
        "kindling-tests",
    ]
    .into_iter()
    .map(String::from)
    .chain(members())
    {
        // The hack crate alone is never built: it is only there for kindling-core to depend on.
        if package != "workspace-hack" && named.insert(package.clone()) {
            selections.push(vec!["--package".into(), package]);
        }
    }

    let mut report = String::new();
    for selection in &selections {
        for edges in ["normal,build", "normal,build,dev"] {
            let mut args: Vec<&str> = selection.iter().map(String::as_str).collect();
            args.extend(["--edges", edges]);
            let tree = parse_tree(&cargo_tree(&args));
            for ((package, host), feats) in &tree {
                let want = reference.get(&(package.clone(), *host));
                if want != Some(feats) {
                    let side = if *host { "host" } else { "target" };
                    let want = want.map_or("<absent>".to_string(), |w| format!("[{w}]"));
                    report += &format!(
                        "  cargo tree {}: {package} ({side}): [{feats}], --workspace: {want}\n",
                        args.join(" ")
                    );
                }
            }
        }
    }
    assert!(
        report.is_empty(),
        "these selections resolve dependencies with other features than --workspace, so they \
         recompile them; pin the --workspace features in crates/workspace-hack/Cargo.toml:\n{report}"
    );
}
