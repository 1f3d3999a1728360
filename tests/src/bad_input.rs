//! The harness of the bad-input suite: run a real binary on bad input and check what a user
//! relies on — a failure exit, one message naming the file, row, field or flag at fault, no
//! panic, and every input left exactly as it was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The bytes of every file under `paths` (a file, or a folder walked recursively), by path.
pub fn snapshot(paths: &[&Path]) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(p: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        if p.is_dir() {
            let mut entries: Vec<_> = std::fs::read_dir(p).map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect()).unwrap_or_default();
            entries.sort();
            for e in entries {
                walk(&e, out);
            }
        } else if let Ok(bytes) = std::fs::read(p) {
            out.insert(p.to_path_buf(), bytes);
        }
    }
    let mut out = BTreeMap::new();
    for p in paths {
        walk(p, &mut out);
    }
    out
}

/// Runs `cmd` and asserts that it fails cleanly: a non-zero exit, stderr containing every one
/// of `expect` (the names a user needs to find the fault), no "panicked" anywhere, and the
/// files under `inputs` unchanged (none modified, added or removed). Returns stderr.
#[track_caller]
pub fn fails(mut cmd: Command, inputs: &[&Path], expect: &[&str]) -> String {
    let before = snapshot(inputs);
    let out = cmd.output().unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!out.status.success(), "{cmd:?} succeeded on bad input\nstdout: {stdout}\nstderr: {stderr}");
    assert!(
        !stderr.contains("panicked") && !stdout.contains("panicked"),
        "{cmd:?} panicked\nstdout: {stdout}\nstderr: {stderr}"
    );
    assert_ne!(out.status.code(), Some(101), "{cmd:?} exited as a panic does\nstderr: {stderr}");
    for e in expect {
        assert!(stderr.contains(e), "{cmd:?}: the error does not name `{e}`\nstderr: {stderr}");
    }
    let after = snapshot(inputs);
    assert!(before == after, "{cmd:?} changed its input files: {:?}", changed(&before, &after));
    stderr
}

fn changed(a: &BTreeMap<PathBuf, Vec<u8>>, b: &BTreeMap<PathBuf, Vec<u8>>) -> Vec<PathBuf> {
    let mut keys: Vec<&PathBuf> = a.keys().chain(b.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter().filter(|k| a.get(*k) != b.get(*k)).cloned().collect()
}

/// A fresh, empty scratch folder for one test, under the system's temporary folder.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("kindling-bad-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}
