//! The cleaner on the labels-CSV layout (kindling-vision's `--labels-csv`, fastai's
//! `ImageDataLoaders.from_csv`): the validation digits, planted sevens among them, copied into
//! one flat folder and labelled by a CSV. Apply writes a new CSV beside the old one; no image
//! moves and the old CSV keeps every byte; `--undo` trashes the new CSV and `--apply` replays.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::fixtures::{PLANTED, csv_cleaner, tmp, trained};
use crate::http::{get, post_json, refused};

/// The flat folder: `ROOT/pics/NAME.png` for every validation digit (the planted sevens
/// labelled 3, as their folder labels them), and `ROOT/labels.csv` (`file,label,origin`, the
/// third column the cleaner must carry along). Returns the root and the CSV's rows.
fn flat_layout(name: &str) -> (PathBuf, Vec<[String; 3]>) {
    let root = tmp(name);
    std::fs::create_dir_all(root.join("pics")).unwrap();
    let mut rows = Vec::new();
    for label in ["3", "7"] {
        let dir = trained().digits.join("valid").join(label);
        let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name().to_string_lossy().to_string()).collect();
        files.sort();
        for f in files {
            std::fs::copy(dir.join(&f), root.join("pics").join(&f)).unwrap();
            rows.push([format!("pics/{f}"), label.to_string(), format!("valid/{label}/{f}")]);
        }
    }
    (root, rows)
}

/// The CSV text of `rows` under the header `file,label,origin`.
fn csv_text(rows: &[[String; 3]]) -> String {
    std::iter::once("file,label,origin".to_string()).chain(rows.iter().map(|r| r.join(","))).map(|l| l + "\n").collect()
}

/// The file names below `dir` (one level), sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.file_name().to_string_lossy().to_string()).collect();
    v.sort();
    v
}

/// `kindling-web` with `args`, as the binary runs it.
fn cli(args: &[&str]) -> kindling_core::Result<()> {
    kindling_web::cli::run(<kindling_web::cli::Cli as clap::Parser>::parse_from(std::iter::once("kindling-web").chain(args.iter().copied())))
}

fn planted(k: usize) -> String {
    format!("pics/{}", Path::new(PLANTED[k]).file_name().unwrap().to_string_lossy())
}

#[test]
fn cleaner_on_a_labels_csv_writes_a_new_csv_and_never_touches_the_old_one() {
    let (root, rows) = flat_layout("clean-csv");
    let labels = root.join("labels.csv");
    std::fs::write(&labels, csv_text(&rows)).unwrap();
    let original = std::fs::read(&labels).unwrap();
    let pics = names(&root.join("pics"));
    let s = csv_cleaner(&root, &labels);
    let a = s.addr.to_string();

    // The page works the same: classes, the split (one flat folder: all), pages by loss, images.
    let c = get(&a, "/api/classes").json();
    assert_eq!(c["classes"], json!(["3", "7"]));
    assert_eq!(c["splits"], json!(["all"]));
    assert_eq!(c["labels_csv"].as_str(), labels.to_str());
    let threes = get(&a, "/api/items?class=3&per_page=18").json();
    assert_eq!(threes["total"], 18);
    let first: Vec<&str> = threes["items"].as_array().unwrap().iter().take(2).map(|i| i["file"].as_str().unwrap()).collect();
    assert!(first.contains(&planted(0).as_str()) && first.contains(&planted(1).as_str()), "the planted sevens lead the threes: {threes}");
    assert_eq!(threes["items"][0]["predicted"], "7");
    let img = get(&a, &format!("/image?file={}", planted(0)));
    assert_eq!((img.status, img.body), (200, std::fs::read(root.join(planted(0))).unwrap()));
    refused(post_json(&a, "/api/apply", &json!({ "decisions": [{ "file": planted(0), "action": "relabel", "new_label": "9" }] })), 400, "new_label '9'");
    refused(post_json(&a, "/api/apply", &json!({ "decisions": [{ "file": "valid/3/planted_a.png", "action": "delete" }] })), 400, "valid/3/planted_a.png");

    // Apply: one delete, one relabel, one keep.
    let kept = threes["items"][2]["file"].as_str().unwrap().to_string();
    let r = post_json(&a, "/api/apply", &json!({ "decisions": [
        { "file": planted(0), "action": "delete" },
        { "file": planted(1), "action": "relabel", "new_label": "7" },
        { "file": kept, "action": "keep" },
    ] }));
    let body = r.json();
    assert_eq!(r.status, 200, "{body}");
    assert_eq!((body["moved"].as_u64(), body["changed"].as_u64()), (Some(0), Some(2)), "{body}");
    let new = PathBuf::from(body["csv"].as_str().unwrap());
    let name = new.file_name().unwrap().to_string_lossy().to_string();
    assert_eq!(new.parent(), Some(root.as_path()), "beside the old CSV: {}", new.display());
    assert!(name.starts_with("labels.cleaned-") && name.ends_with(".csv") && name.len() == "labels.cleaned-20240101-000000.csv".len(), "{name}");

    // The new CSV's exact rows: planted_a's row gone, planted_b's labelled 7, the rest (and the
    // third column) as they were, in their order.
    let edited: Vec<[String; 3]> = rows
        .iter()
        .filter(|r| r[0] != planted(0))
        .map(|r| if r[0] == planted(1) { [r[0].clone(), "7".into(), r[2].clone()] } else { r.clone() })
        .collect();
    assert_eq!(edited.len(), rows.len() - 1);
    assert_eq!(std::fs::read_to_string(&new).unwrap(), csv_text(&edited));
    // The old CSV keeps every byte, no image moved, and nothing went to the trash.
    assert_eq!(std::fs::read(&labels).unwrap(), original);
    assert_eq!(names(&root.join("pics")), pics);
    assert!(!root.join(".kindling/trash").exists());
    let mut top = vec![".kindling".to_string(), "labels.csv".into(), name.clone(), "pics".into()];
    top.sort();
    assert_eq!(names(&root), top, "only the new CSV beside the old one");

    // The log names both CSVs and every decision.
    let log_path = PathBuf::from(body["log"].as_str().unwrap());
    assert_eq!(log_path.parent(), Some(root.join(".kindling").as_path()));
    let log: Value = serde_json::from_str(&std::fs::read_to_string(&log_path).unwrap()).unwrap();
    assert_eq!(log["status"], "applied");
    assert_eq!((log["csv"]["source"].as_str(), log["csv"]["written"].as_str()), (labels.to_str(), new.to_str()));
    let edits: Vec<(&str, &str)> = log["edits"].as_array().unwrap().iter().map(|e| (e["file"].as_str().unwrap(), e["action"].as_str().unwrap())).collect();
    assert_eq!(edits, [(planted(0).as_str(), "delete"), (planted(1).as_str(), "relabel"), (kept.as_str(), "keep")]);
    assert!(log["edits"][1]["loss"].as_f64().unwrap() > 0.69 && log["edits"][1].get("to").is_none(), "{log}");

    // The page goes on from the new CSV: the edited images are gone from it, and a second Apply
    // writes a third CSV from the second.
    assert_eq!(get(&a, "/api/items?class=3").json()["total"], 16);
    assert_eq!(get(&a, "/api/classes").json()["labels_csv"].as_str(), new.to_str());
    let seven = get(&a, "/api/items?class=7&per_page=1").json()["items"][0]["file"].as_str().unwrap().to_string();
    let second = post_json(&a, "/api/apply", &json!({ "decisions": [{ "file": seven, "action": "relabel", "new_label": "3" }] })).json();
    let newer = PathBuf::from(second["csv"].as_str().unwrap_or_else(|| panic!("{second}")));
    let newer_name = newer.file_name().unwrap().to_string_lossy().to_string();
    assert!(newer_name.starts_with("labels.cleaned-") && newer_name.matches(".cleaned-").count() == 1 && newer != new, "{newer_name}");
    let relabelled: Vec<[String; 3]> = edited.iter().map(|r| if r[0] == seven { [r[0].clone(), "3".into(), r[2].clone()] } else { r.clone() }).collect();
    assert_eq!(std::fs::read_to_string(&newer).unwrap(), csv_text(&relabelled));
    assert_eq!(std::fs::read_to_string(&new).unwrap(), csv_text(&edited), "the second CSV is not changed by the third");
    let second_log = second["log"].as_str().unwrap().to_string();

    // `--undo` moves each new CSV into the trash (never unlinks it); the old CSV is as it was.
    cli(&["clean", "--undo", &second_log]).unwrap();
    cli(&["clean", "--undo", log_path.to_str().unwrap()]).unwrap();
    assert!(!new.exists() && !newer.exists());
    assert_eq!(names(&root.join(".kindling/trash")), {
        let mut v = vec![name.clone(), newer_name.clone()];
        v.sort();
        v
    });
    assert_eq!(std::fs::read_to_string(root.join(".kindling/trash").join(&name)).unwrap(), csv_text(&edited));
    let undone: Value = serde_json::from_str(&std::fs::read_to_string(&log_path).unwrap()).unwrap();
    assert_eq!((undone["status"].as_str(), undone["csv"]["trashed"].as_str()), (Some("undone"), Some(format!(".kindling/trash/{name}").as_str())));
    assert!(cli(&["clean", "--undo", log_path.to_str().unwrap()]).unwrap_err().to_string().contains("undone already"));
    assert_eq!(std::fs::read(&labels).unwrap(), original);

    // `--apply` replays the first log on the old CSV: the same rows again, in a new CSV.
    let before = names(&root);
    cli(&["clean", "--apply", log_path.to_str().unwrap()]).unwrap();
    let written: Vec<String> = names(&root).into_iter().filter(|n| !before.contains(n)).collect();
    assert_eq!(written.len(), 1, "{written:?}");
    assert!(written[0].starts_with("labels.cleaned-"), "{written:?}");
    assert_eq!(std::fs::read_to_string(root.join(&written[0])).unwrap(), csv_text(&edited));
    assert_eq!(std::fs::read(&labels).unwrap(), original, "the old CSV keeps every byte throughout");
    assert_eq!(names(&root.join("pics")), pics, "no image moved throughout");
}

#[test]
fn clean_refuses_a_bad_labels_csv_by_file_and_line() {
    let (root, rows) = flat_layout("clean-csv-bad");
    let model = trained().model.to_str().unwrap().to_string();
    let try_csv = |name: &str, text: &str| {
        let p = root.join(name);
        std::fs::write(&p, text).unwrap();
        let err = cli(&["clean", "--model", &model, "--labels-csv", p.to_str().unwrap(), "--port", "0"]).unwrap_err().to_string();
        assert!(err.contains(name), "{name}: {err}");
        err
    };
    let good = csv_text(&rows);
    let err = try_csv("ragged.csv", &good.replace(&format!("{}\n", rows[3].join(",")), &format!("{},{}\n", rows[3][0], rows[3][1])));
    assert!(err.contains("line 5"), "{err}");
    let err = try_csv("twice.csv", &(good.clone() + &rows[0].join(",") + "\n"));
    assert!(err.contains(&format!("line {}: {} is named already on line 2", rows.len() + 2, rows[0][0])), "{err}");
    let err = try_csv("missing.csv", &good.replace(&rows[4][0], "pics/nowhere.png"));
    assert!(err.contains("line 6") && err.contains("nowhere.png") && err.contains("not a file"), "{err}");
    let err = try_csv("unknown-class.csv", &good.replace(&format!("{},3,", rows[2][0]), &format!("{},8,", rows[2][0])));
    assert!(err.contains("line 4: the label '8'") && err.contains("model's classes"), "{err}");
    // Nothing was written anywhere.
    assert!(!root.join(".kindling").exists());
}
