//! The cleaner's file operations on temporary folders.

use std::path::{Path, PathBuf};

use super::*;

fn folder(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kindling-web-clean-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    for (f, bytes) in [("train/cat/a.png", "cat a"), ("train/cat/b.png", "cat b"), ("train/dog/a.png", "dog a"), ("valid/cat/c.png", "cat c")] {
        std::fs::create_dir_all(d.join(f).parent().unwrap()).unwrap();
        std::fs::write(d.join(f), bytes).unwrap();
    }
    d
}

/// Every file below `d` (the logs left out) with its contents.
fn snapshot(d: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![d.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if !p.file_name().unwrap().to_string_lossy().starts_with("cleaning-") {
                out.push((paths::slash(p.strip_prefix(d).unwrap()), std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn decisions() -> Vec<Edit> {
    vec![
        Edit::new("train/cat/a.png", "cat", Action::Relabel, Some("dog".into()), Some(3.5)),
        Edit::new("train/cat/b.png", "cat", Action::Delete, None, Some(2.0)),
        Edit::new("valid/cat/c.png", "cat", Action::Keep, None, Some(0.1)),
    ]
}

#[test]
fn apply_moves_relabels_and_deletes_and_undo_restores_exactly() {
    let d = folder("apply");
    let before = snapshot(&d);
    let stamp = ModelStamp { path: Some("model.safetensors".into()), sha256: Some("ab".repeat(32)) };
    let applied = apply(&d, &stamp, decisions()).unwrap();
    assert_eq!(applied.moved(), 2);
    // The relabelled file clashes with dog/a.png, which is left alone.
    assert_eq!(std::fs::read_to_string(d.join("train/dog/a.png")).unwrap(), "dog a");
    assert_eq!(std::fs::read_to_string(d.join("train/dog/a-1.png")).unwrap(), "cat a");
    assert_eq!(std::fs::read_to_string(d.join(".kindling/trash/train/cat/b.png")).unwrap(), "cat b");
    assert!(!d.join("train/cat/a.png").exists() && !d.join("train/cat/b.png").exists());
    assert!(d.join("valid/cat/c.png").exists());

    // The log on disk: its name, the decisions, where each file went, the model.
    let name = applied.log_path.file_name().unwrap().to_string_lossy().to_string();
    assert!(name.starts_with("cleaning-") && name.ends_with(".json") && name.len() == "cleaning-20240101-000000.json".len(), "{name}");
    assert_eq!(applied.log_path.parent().unwrap(), d.join(".kindling"));
    let log: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&applied.log_path).unwrap()).unwrap();
    assert_eq!(log["status"], "applied");
    assert_eq!(log["model_sha256"], "ab".repeat(32));
    assert_eq!(log["edits"][0]["action"], "relabel");
    assert_eq!(log["edits"][0]["old_label"], "cat");
    assert_eq!(log["edits"][0]["new_label"], "dog");
    assert_eq!(log["edits"][0]["loss"], 3.5);
    assert_eq!(log["edits"][0]["to"], "train/dog/a-1.png");
    assert_eq!(log["edits"][1]["to"], ".kindling/trash/train/cat/b.png");
    assert!(log["edits"][2].get("to").is_none());

    let undone = undo(&d, &applied.log_path).unwrap();
    assert_eq!(undone.status, LogStatus::Undone);
    assert_eq!(snapshot(&d), before, "undo restores every file, with its bytes, where it was");
    // A second undo is refused by name.
    let err = undo(&d, &applied.log_path).unwrap_err().to_string();
    assert!(err.contains("undone already") && err.contains("cleaning-"), "{err}");
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn a_log_with_faults_moves_nothing_and_names_each_file() {
    let d = folder("refused");
    let before = snapshot(&d);
    let mut edits = decisions();
    edits.push(Edit::new("train/cat/missing.png", "cat", Action::Delete, None, None));
    edits.push(Edit::new("../outside.png", "cat", Action::Delete, None, None));
    edits.push(Edit::new("train/cat/a.png", "cat", Action::Delete, None, None));
    let err = apply(&d, &ModelStamp::default(), edits).unwrap_err();
    let CleanError::Refused { faults } = &err else { panic!("{err}") };
    let files: Vec<&str> = faults.iter().map(|f| f.file.as_str()).collect();
    assert_eq!(files, vec!["train/cat/missing.png", "../outside.png", "train/cat/a.png"]);
    assert!(err.to_string().contains("nothing was moved"), "{err}");
    assert_eq!(snapshot(&d), before);
    assert!(!d.join(".kindling").exists(), "a refused log is not written");
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn undo_refuses_when_a_file_was_moved_since() {
    let d = folder("moved-since");
    let applied = apply(&d, &ModelStamp::default(), decisions()).unwrap();
    std::fs::rename(d.join("train/dog/a-1.png"), d.join("elsewhere.png")).unwrap();
    std::fs::write(d.join("train/cat/b.png"), "a new b").unwrap();
    let err = undo(&d, &applied.log_path).unwrap_err().to_string();
    assert!(err.contains("train/cat/a.png: is no longer at train/dog/a-1.png"), "{err}");
    assert!(err.contains("train/cat/b.png: its old place is taken"), "{err}");
    // Nothing moved: the trashed file is still in the trash.
    assert!(d.join(".kindling/trash/train/cat/b.png").exists());
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn replay_applies_an_old_log_to_a_fresh_copy() {
    let d = folder("replay-a");
    let applied = apply(&d, &ModelStamp::default(), decisions()).unwrap();
    let e = folder("replay-b");
    let replayed = replay(&e, &applied.log_path).unwrap();
    assert_eq!(replayed.log.replay_of.as_deref(), Some(applied.log_path.as_path()));
    assert_eq!(snapshot(&e), snapshot(&d));
    // Replayed again on the folder it already changed: every moved file is named.
    let err = replay(&e, &replayed.log_path).unwrap_err().to_string();
    assert!(err.contains("train/cat/a.png: cannot be read") && err.contains("train/cat/b.png: cannot be read"), "{err}");
    // Anything but a cleaning log is refused by name.
    std::fs::write(e.join("other.json"), "{\"format\": \"x\"}").unwrap();
    assert!(replay(&e, &e.join("other.json")).unwrap_err().to_string().contains("other.json"));
    std::fs::remove_dir_all(d).unwrap();
    std::fs::remove_dir_all(e).unwrap();
}

#[test]
fn a_log_naming_a_path_outside_the_folder_is_refused_on_read() {
    let d = folder("outside");
    let applied = apply(&d, &ModelStamp::default(), decisions()).unwrap();
    let text = std::fs::read_to_string(&applied.log_path).unwrap().replace(".kindling/trash/train/cat/b.png", "../../etc/b.png");
    std::fs::write(&applied.log_path, text).unwrap();
    let err = undo(&d, &applied.log_path).unwrap_err().to_string();
    assert!(err.contains("../../etc/b.png"), "{err}");
    std::fs::remove_dir_all(d).unwrap();
}
