//! The model server on the other tasks: a tabular, a collab, a text and a segmentation model,
//! each trained briefly by its crate's command line on a committed sample (one model per test,
//! reused by every assertion), then served: `GET /model` describes it, `POST /predict` answers,
//! and a bad request gets a 4xx JSON error naming the problem.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Command;

use kindling_segmentation::tiles::tile_pair;
use kindling_tests::{repo_root, shared};
use kindling_web::serve::load::ModelSource;
use kindling_web::serve::worker::BatchOptions;
use serde_json::{Value, json};

use crate::fixtures::{output_dir, server, tmp};
use crate::http::{get, post_json, refused, request};
use crate::webdriver::{Browser, available, base64};

/// Runs a task's command line (`train ... --out RUN`) and returns the model file it wrote.
fn train<I, S>(exe: &str, args: I, run: &Path) -> PathBuf
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let o = Command::new(exe).args(args).arg("--out").arg(run).output().unwrap();
    let log = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{exe}: {log}");
    let model = run.join("model.safetensors");
    assert!(model.is_file(), "{exe} wrote no model: {log}");
    model
}

/// A server for the model file.
fn serve(model: &Path) -> kindling_web::http::background::Background {
    server(ModelSource::File(model.to_path_buf()), BatchOptions::default())
}

/// The `POST /predict` answer to `body`, which must be a 200.
#[track_caller]
fn predict(addr: &str, body: &Value) -> Value {
    let r = post_json(addr, "/predict", body);
    let v = r.json();
    assert_eq!(r.status, 200, "{body} → {v}");
    v
}

/// The sum of a `{class: prob}` object's values.
fn total(probs: &Value) -> f64 {
    probs.as_object().unwrap().values().map(|p| p.as_f64().unwrap()).sum()
}

#[test]
fn tabular_server_predicts_rows_and_names_an_unknown_column() {
    let dir = tmp("serve-tabular");
    let csv = repo_root().join("datasets/adult-sample/adult.csv");
    let args = ["train", "--csv", csv.to_str().unwrap(), "--target", "salary", "--cat", "workclass,education,marital-status,occupation,relationship,race", "--cont", "age,fnlwgt,education-num", "--epochs", "2"];
    let model = train(env!("CARGO_BIN_EXE_tabular-cli"), args, &dir.join("run"));
    let s = serve(&model);
    let a = s.addr.to_string();

    let m = get(&a, "/model").json();
    assert_eq!(m["task"], "tabular");
    assert_eq!(m["target"], "salary");
    assert_eq!(m["classes"], json!(["<=50K", ">50K"]));
    let columns = m["columns"].as_array().unwrap();
    let names: Vec<&str> = columns.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["workclass", "education", "marital-status", "occupation", "relationship", "race", "age", "fnlwgt", "education-num"], "{m}");
    let workclass = columns[0]["values"].as_array().unwrap();
    assert_eq!(columns[0]["kind"], "category");
    assert!(workclass.contains(&json!("Private")) && !workclass.contains(&json!("#na#")), "{m}");
    assert_eq!(columns[6]["kind"], "number");
    assert!(m["metrics"]["accuracy"].as_f64().is_some(), "{m}");

    // The file's first row, and two rows in one request: a married executive in middle age and
    // a young labourer who never married, whom any adult model tells apart.
    let first = json!({ "age": 39, "workclass": "State-gov", "fnlwgt": 77516, "education": "Bachelors", "education-num": 13, "marital-status": "Never-married", "occupation": "Adm-clerical", "relationship": "Not-in-family", "race": "White" });
    let p = predict(&a, &json!({ "row": first }));
    let p0 = &p["predictions"][0];
    assert!(["<=50K", ">50K"].contains(&p0["prediction"].as_str().unwrap()), "{p}");
    assert!((total(&p0["probs"]) - 1.0).abs() < 1e-4, "{p}");
    let exec = json!({ "age": 45, "workclass": "Private", "fnlwgt": 200000, "education": "Masters", "education-num": 14, "marital-status": "Married-civ-spouse", "occupation": "Exec-managerial", "relationship": "Husband", "race": "White" });
    // A missing value is null, as in the training file's `?`.
    let young = json!({ "age": 19, "workclass": null, "fnlwgt": "180000", "education": "11th", "education-num": 7, "marital-status": "Never-married", "occupation": "Handlers-cleaners", "relationship": "Own-child", "race": "White" });
    let both = predict(&a, &json!({ "rows": [exec, young] }));
    let rich = |i: usize| both["predictions"][i]["probs"][">50K"].as_f64().unwrap();
    assert!(rich(0) > rich(1) + 0.2, "P(>50K): executive {} vs teenager {}: {both}", rich(0), rich(1));

    let mut bad = first.clone();
    bad["colour"] = json!("red");
    refused(post_json(&a, "/predict", &json!({ "row": bad })), 400, "unknown column(s) colour");
    let mut short = first.clone();
    short.as_object_mut().unwrap().remove("age");
    refused(post_json(&a, "/predict", &json!({ "row": short })), 400, "missing column(s) age");
    refused(post_json(&a, "/predict", &json!({ "row": { "age": "old" } })), 400, "row 0");
    refused(request(&a, "POST", "/predict", Some("image/png"), b"\x89PNG"), 415, "JSON");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn collab_server_recommends_unseen_items_and_names_an_unknown_user() {
    let dir = tmp("serve-collab");
    let ratings = repo_root().join("datasets/movielens-small/ratings.csv");
    let args = ["train", "--ratings", ratings.to_str().unwrap(), "--user", "userId", "--item", "title", "--rating", "rating", "--epochs", "1"];
    let model = train(env!("CARGO_BIN_EXE_collab-cli"), args, &dir.join("run"));
    let s = serve(&model);
    let a = s.addr.to_string();

    let m = get(&a, "/model").json();
    assert_eq!(m["task"], "collab");
    assert!(m["users"].as_u64().unwrap() > 100 && m["items"].as_u64().unwrap() > 1000, "{m}");

    // User 1's recommendations: five titles, best first, none of those user 1 rated.
    let seen: Vec<String> = std::fs::read_to_string(&ratings).unwrap().lines().skip(1).filter(|l| l.starts_with("1,")).filter_map(|l| l.splitn(5, ',').nth(4).map(|t| t.trim_matches('"').to_string())).collect();
    assert!(seen.len() > 10, "{seen:?}");
    let r = predict(&a, &json!({ "user": "1", "n": 5 }));
    let recs = r["recommendations"].as_array().unwrap();
    assert_eq!(recs.len(), 5, "{r}");
    let scores: Vec<f64> = recs.iter().map(|x| x["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{r}");
    assert!(recs.iter().all(|x| !seen.contains(&x["item"].as_str().unwrap().to_string())), "a rated title recommended: {r}");
    // One rating, the user given as a number.
    let one = predict(&a, &json!({ "user": 1, "item": "Dumbo" }));
    let rating = one["rating"].as_f64().unwrap();
    assert!((0.0..=6.0).contains(&rating), "{one}");

    refused(post_json(&a, "/predict", &json!({ "user": "99999" })), 422, "'99999' is not in the training data");
    refused(post_json(&a, "/predict", &json!({ "user": "1", "item": "No Such Film" })), 422, "'No Such Film'");
    refused(post_json(&a, "/predict", &json!({ "user": "1", "n": 0 })), 400, "n must be");
    refused(post_json(&a, "/predict", &json!({ "name": "1" })), 400, "unknown field(s) name");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn text_server_classifies_texts_and_refuses_an_empty_one() {
    let minilm = shared().join("models/all-MiniLM-L6-v2");
    if !minilm.join("model.safetensors").is_file() {
        eprintln!("SKIPPED text_server_classifies_texts_and_refuses_an_empty_one: {} is absent", minilm.display());
        return;
    }
    let dir = tmp("serve-text");
    let csv = repo_root().join("datasets/amazon-reviews-sample/reviews.csv");
    let args = [
        "train", "--csv", csv.to_str().unwrap(), "--text", "review", "--label", "score", "--valid-col", "is_valid", "--pretrained", minilm.to_str().unwrap(),
        "--limit-train", "32", "--limit-valid", "16", "--max-len", "32", "--epochs", "1", "--bs", "16", "--lr", "1e-4",
    ];
    let model = train(env!("CARGO_BIN_EXE_nlp-cli"), args, &dir.join("run"));
    let s = serve(&model);
    let a = s.addr.to_string();

    let m = get(&a, "/model").json();
    assert_eq!(m["task"], "text");
    assert_eq!(m["classes"], json!(["great", "other"]));
    assert_eq!(m["max_len"], 32);

    let one = predict(&a, &json!({ "text": "Delicious, my new favourite snack." }));
    let p = &one["predictions"][0];
    assert!((total(&p["probs"]) - 1.0).abs() < 1e-4, "{one}");
    assert_eq!(p["labels"].as_array().unwrap().len(), 1, "{one}");
    assert!(p["n_tokens"].as_u64().unwrap() > 2, "{one}");
    // Several texts in one request, answered in order; a long one is cut at max_len and says so.
    let long = "stale ".repeat(100);
    let two = predict(&a, &json!({ "texts": ["Great coffee.", long] }));
    let preds = two["predictions"].as_array().unwrap();
    assert_eq!(preds.len(), 2, "{two}");
    assert_eq!(preds[0]["truncated"], false);
    assert_eq!(preds[1]["truncated"], true, "{two}");

    refused(post_json(&a, "/predict", &json!({ "text": "" })), 400, "the text is empty");
    refused(post_json(&a, "/predict", &json!({ "texts": ["fine", "  "] })), 400, "texts[1] is empty");
    refused(post_json(&a, "/predict", &json!({ "text": 5 })), 400, "send {\"text\"");
    refused(post_json(&a, "/predict", &json!({ "review": "hi" })), 400, "unknown field(s) review");
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn segmentation_server_answers_with_proportions_and_an_overlay_and_refuses_a_non_image() {
    let dir = tmp("serve-seg");
    // The committed microscopy image cut into 64-pixel tiles (validation columns apart), as the
    // segmentation tests train on it: nuclei (0/255 masks) on a grey background.
    let nuclei = repo_root().join("datasets/nuclei-sample");
    let tiles = tile_pair(&nuclei.join("image.png"), &nuclei.join("mask.png"), 64, &dir.join("tiles")).unwrap();
    let (images, masks, valid) = (tiles.images.to_str().unwrap(), tiles.masks.to_str().unwrap(), tiles.valid_list.to_str().unwrap());
    let args = ["train", "--images", images, "--masks", masks, "--valid-list", valid, "--binary-masks", "--channels", "1", "--limit-train", "16", "--limit-valid", "8", "--bs", "8", "--epochs", "1"];
    let model = train(env!("CARGO_BIN_EXE_segmentation-cli"), args, &dir.join("run"));
    let s = serve(&model);
    let a = s.addr.to_string();

    let m = get(&a, "/model").json();
    assert_eq!(m["task"], "segmentation");
    assert_eq!(m["input"], "image");
    assert_eq!(m["size"], json!([64, 64]));
    assert_eq!(m["channels"], 1);
    assert_eq!(m["classes"], json!(["background", "foreground"]), "{m}");

    let first = std::fs::read_to_string(&tiles.valid_list).unwrap().lines().next().unwrap().trim().to_string();
    let tile = tiles.images.join(first);
    let r = request(&a, "POST", "/predict", Some("image/png"), &std::fs::read(&tile).unwrap());
    let body = r.json();
    assert_eq!(r.status, 200, "{body}");
    let shares: Vec<f64> = body["proportions"].as_array().unwrap().iter().map(|p| p["share"].as_f64().unwrap()).collect();
    assert_eq!(shares.len(), 2);
    assert!((shares.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{body}");
    // The overlay: a PNG of the tile's size with exactly the pixels predicted foreground tinted
    // (the model's size is the tile's, so the mask is not resized).
    let url = body["overlay"].as_str().unwrap();
    let png = base64(url.strip_prefix("data:image/png;base64,").unwrap_or_else(|| panic!("not a PNG data URL: {}", &url[..url.len().min(40)])));
    let overlay = image::load_from_memory(&png).unwrap().to_rgb8();
    assert_eq!(overlay.dimensions(), (64, 64));
    assert_eq!(body["overlay_size"], json!([64, 64]));
    let original = image::open(&tile).unwrap().to_rgb8();
    let tinted = overlay.pixels().zip(original.pixels()).filter(|(o, i)| o != i).count() as f64 / 4096.0;
    assert!((tinted - shares[1]).abs() < 1e-9, "{tinted} of the pixels tinted, {} predicted foreground", shares[1]);

    refused(request(&a, "POST", "/predict", Some("image/png"), b"this is not a picture"), 400, "not an image");
    refused(post_json(&a, "/predict", &json!({ "image": "x" })), 415, "image");

    // The page shows the overlay beside the image.
    if available("segmentation_server_answers_with_proportions_and_an_overlay_and_refuses_a_non_image (the page)") {
        let b = Browser::start(tmp("chrome-seg"));
        b.goto(&s.url("/"));
        b.wait_for("the page", "return document.body.dataset.ready");
        b.type_into("#file", tile.canonicalize().unwrap().to_str().unwrap());
        b.wait_for("the overlay", "const o = document.getElementById('overlay'); return !o.hidden && o.complete && o.naturalWidth === 64");
        b.wait_for("the class shares", "return document.querySelectorAll('#result .bar').length === 2");
        b.screenshot(&output_dir().join("serve-segmentation.png"));
    }
    std::fs::remove_dir_all(dir).ok();
}
