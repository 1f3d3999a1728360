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

use kindling_tests::readme::{examples, words};
use kindling_tests::{repo_root, shared};

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
    let examples: Vec<_> = examples().into_iter().filter(|e| e.line.starts_with("cargo run --release -p kindling-vision -- ")).collect();
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
