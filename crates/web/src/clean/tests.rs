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

/// A labels-CSV layout: flat image files (their bytes do not matter here) and `labels.csv`,
/// with a third column the cleaner must carry along.
const LABELS: &str = "file,label,note\npics/a.png,cat,first\npics/b.png,cat,\"quoted, with a comma\"\npics/c.png,dog,third\npics/d.png,dog,fourth\n";

fn csv_folder(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kindling-web-csv-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("pics")).unwrap();
    for f in ["a", "b", "c", "d"] {
        std::fs::write(d.join(format!("pics/{f}.png")), f).unwrap();
    }
    std::fs::write(d.join("labels.csv"), LABELS).unwrap();
    d
}

fn csv_decisions() -> Vec<Edit> {
    vec![
        Edit::new("pics/a.png", "cat", Action::Relabel, Some("dog".into()), Some(3.0)),
        Edit::new("pics/c.png", "dog", Action::Delete, None, Some(2.0)),
        Edit::new("pics/d.png", "dog", Action::Keep, None, Some(0.1)),
    ]
}

#[test]
fn a_labels_csv_is_edited_into_a_new_csv_and_undo_trashes_it() {
    let d = csv_folder("apply");
    let before = snapshot(&d);
    let applied = apply_csv(&d, &d.join("labels.csv"), &ModelStamp::default(), csv_decisions()).unwrap();
    assert_eq!((applied.moved(), applied.changed()), (0, 2));
    let new = applied.new_csv().unwrap().to_path_buf();
    let name = new.file_name().unwrap().to_string_lossy().to_string();
    assert!(name.starts_with("labels.cleaned-") && name.len() == "labels.cleaned-20240101-000000.csv".len(), "{name}");
    assert_eq!(new.parent().unwrap(), d.as_path(), "beside the old CSV");
    let want = "file,label,note\npics/a.png,dog,first\npics/b.png,cat,\"quoted, with a comma\"\npics/d.png,dog,fourth\n";
    assert_eq!(std::fs::read_to_string(&new).unwrap(), want);
    assert_eq!(std::fs::read_to_string(d.join("labels.csv")).unwrap(), LABELS, "the old CSV is never changed");
    let mut expected = before.clone();
    expected.push((name.clone(), want.to_string()));
    expected.sort();
    assert_eq!(snapshot(&d), expected, "no image moved, nothing else written");
    let log = EditLog::read(&applied.log_path).unwrap();
    let c = log.csv.clone().unwrap();
    assert_eq!((c.source, c.written, log.status), (d.join("labels.csv"), new.clone(), LogStatus::Applied));

    // A second edit starts from the new CSV and gets a name of the same stem.
    let again = apply_csv(&d, &new, &ModelStamp::default(), vec![Edit::new("pics/b.png", "cat", Action::Delete, None, None)]).unwrap();
    let second = again.new_csv().unwrap().file_name().unwrap().to_string_lossy().to_string();
    assert!(second.starts_with("labels.cleaned-") && second != name && second.matches(".cleaned-").count() == 1, "{second}");
    assert_eq!(std::fs::read_to_string(again.new_csv().unwrap()).unwrap(), "file,label,note\npics/a.png,dog,first\npics/d.png,dog,fourth\n");

    // Undo moves the new CSV into the trash, and says where.
    let undone = undo(&d, &applied.log_path).unwrap();
    let trashed = undone.csv.unwrap().trashed.unwrap();
    assert_eq!(trashed, format!(".kindling/trash/{name}"));
    assert!(!new.exists());
    assert_eq!(std::fs::read_to_string(d.join(&trashed)).unwrap(), want);
    assert_eq!(std::fs::read_to_string(d.join("labels.csv")).unwrap(), LABELS);
    assert!(undo(&d, &applied.log_path).unwrap_err().to_string().contains("undone already"));

    // Replayed, the log writes the same CSV again from the old one.
    let replayed = replay(&d, &applied.log_path).unwrap();
    assert_eq!(std::fs::read_to_string(replayed.new_csv().unwrap()).unwrap(), want);
    assert_eq!(replayed.log.replay_of.as_deref(), Some(applied.log_path.as_path()));
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn csv_edits_at_fault_write_nothing_and_name_each_file() {
    let d = csv_folder("refused");
    let before = snapshot(&d);
    let mut edits = csv_decisions();
    edits.push(Edit::new("pics/zz.png", "cat", Action::Delete, None, None));
    edits.push(Edit::new("pics/b.png", "dog", Action::Delete, None, None));
    edits.push(Edit::new("pics/d.png", "dog", Action::Relabel, Some("dog".into()), None));
    edits.push(Edit::new("pics/a.png", "cat", Action::Delete, None, None));
    let err = apply_csv(&d, &d.join("labels.csv"), &ModelStamp::default(), edits).unwrap_err();
    let CleanError::Refused { faults } = &err else { panic!("{err}") };
    let got: Vec<(&str, &str)> = faults.iter().map(|f| (f.file.as_str(), f.reason.as_str())).collect();
    assert_eq!(got.len(), 4, "{got:?}");
    assert!(got[0].0 == "pics/zz.png" && got[0].1.contains("not a row of"), "{got:?}");
    assert!(got[1].0 == "pics/b.png" && got[1].1.contains("line 3 labels it 'cat', not 'dog'"), "{got:?}");
    assert!(got[2].0 == "pics/d.png" && got[2].1.contains("named by more than one edit"), "{got:?}");
    assert!(got[3].0 == "pics/a.png" && got[3].1.contains("more than one edit"), "{got:?}");
    assert_eq!(snapshot(&d), before);
    assert!(!d.join(".kindling").exists(), "a refused log is not written");
    // A folder log cannot be replayed on a CSV.
    let f = folder("not-csv");
    let applied = apply(&f, &ModelStamp::default(), decisions()).unwrap();
    let err = replay_onto(&f, &applied.log_path, Some(&d.join("labels.csv"))).unwrap_err().to_string();
    assert!(err.contains("class folders") && err.contains("labels.csv"), "{err}");
    std::fs::remove_dir_all(d).unwrap();
    std::fs::remove_dir_all(f).unwrap();
}

#[test]
fn bad_labels_csvs_are_refused_by_file_and_line() {
    let d = csv_folder("bad");
    let cases = [
        ("ragged.csv", "file,label\npics/a.png,cat\npics/b.png\n", "line 3"),
        ("empty-label.csv", "file,label\npics/a.png,cat\npics/b.png, \n", "line 3: the label of pics/b.png is empty"),
        ("empty-file.csv", "file,label\n,cat\n", "line 2: the file is empty"),
        ("twice.csv", "file,label\npics/a.png,cat\npics/b.png,cat\npics/a.png,dog\n", "line 4: pics/a.png is named already on line 2"),
        ("one-column.csv", "file\npics/a.png\n", "line 1"),
        ("header-only.csv", "file,label\n", "no rows"),
    ];
    for (name, text, needle) in cases {
        let p = d.join(name);
        std::fs::write(&p, text).unwrap();
        let err = LabelsCsv::read(&p).unwrap_err().to_string();
        assert!(err.contains(name) && err.contains(needle), "{name}: {err}");
    }
    std::fs::write(d.join("missing.csv"), "file,label\npics/a.png,cat\npics/nope.png,dog\n").unwrap();
    let t = LabelsCsv::read(&d.join("missing.csv")).unwrap();
    let err = t.items(&d).unwrap_err().to_string();
    assert!(err.contains("missing.csv") && err.contains("line 3") && err.contains("nope.png"), "{err}");
    let err = t.check_classes(&["cat".into(), "bird".into()]).unwrap_err().to_string();
    assert!(err.contains("line 3: the label 'dog' of pics/nope.png"), "{err}");
    std::fs::remove_dir_all(d).unwrap();
}

#[test]
fn a_new_csv_never_takes_an_existing_name() {
    let d = csv_folder("names");
    let csv = d.join("labels.csv");
    std::fs::write(d.join("labels.cleaned-20240101-000000.csv"), "taken").unwrap();
    assert_eq!(labels_csv::new_csv_path(&csv, "20240101-000000"), d.join("labels.cleaned-20240101-000000-1.csv"));
    assert_eq!(labels_csv::new_csv_path(&d.join("labels.cleaned-20240101-000000.csv"), "20240102-000000"), d.join("labels.cleaned-20240102-000000.csv"));
    std::fs::remove_dir_all(d).unwrap();
}
