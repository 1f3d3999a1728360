//! The cleaner's endpoints over HTTP, and every bad request they refuse.

use serde_json::json;

use crate::fixtures::{PLANTED, cleaner, digits_copy};
use crate::http::{get, post_json, request};

#[test]
fn cleaner_ranks_pages_serves_images_and_applies() {
    let dir = digits_copy("clean-http");
    let s = cleaner(&dir);
    let a = s.addr.to_string();

    let c = get(&a, "/api/classes").json();
    assert_eq!(c["classes"], json!(["3", "7"]));
    assert_eq!(c["splits"], json!(["train", "valid"]));
    assert_eq!(get(&a, "/health").json()["status"], "ok");
    let page = get(&a, "/");
    assert_eq!(page.status, 200);
    assert!(String::from_utf8_lossy(&page.body).contains("Data cleaner"));
    assert_eq!(get(&a, "/clean.js").status, 200);
    assert_eq!(get(&a, "/style.css").header("content-type"), Some("text/css; charset=utf-8"));

    let items = get(&a, "/api/items?class=3&split=valid&per_page=2").json();
    assert_eq!(items["total"], 18);
    let first: Vec<&str> = items["items"].as_array().unwrap().iter().map(|i| i["file"].as_str().unwrap()).collect();
    assert!(PLANTED.iter().all(|p| first.contains(p)), "{items}");
    let top = &items["items"][0];
    assert_eq!(top["label"], "3");
    assert_eq!(top["predicted"], "7");
    assert!(top["loss"].as_f64().unwrap() > 0.69 && top["prob"].as_f64().unwrap() > 0.5, "{top}");
    // Losses never rise down the list, and pages follow on.
    let all = get(&a, "/api/items?class=3&split=valid&per_page=18").json();
    let losses: Vec<f64> = all["items"].as_array().unwrap().iter().map(|i| i["loss"].as_f64().unwrap()).collect();
    assert!(losses.windows(2).all(|w| w[0] >= w[1]), "{losses:?}");
    let second = get(&a, "/api/items?class=3&split=valid&per_page=2&page=1").json();
    assert_eq!(second["items"][0], all["items"][2]);

    let img = get(&a, &format!("/image?file={}", PLANTED[0]));
    assert_eq!((img.status, img.header("content-type")), (200, Some("image/png")));
    assert_eq!(img.body, std::fs::read(dir.join(PLANTED[0])).unwrap());

    // Bad requests: a 4xx with a JSON error that names the problem.
    let refused = |r: crate::http::Response, status: u16, needle: &str| {
        let body = r.json();
        assert_eq!(r.status, status, "{body}");
        assert!(body["error"].as_str().unwrap().contains(needle), "{needle} not in {body}");
    };
    refused(get(&a, "/api/items?class=9"), 400, "class '9'");
    refused(get(&a, "/api/items?split=test"), 400, "split 'test'");
    refused(get(&a, "/api/items?per_page=0"), 400, "per_page 0");
    refused(get(&a, "/api/items?page=abc"), 400, "bad query");
    refused(get(&a, "/image?file=../../etc/passwd"), 404, "not an image of this folder");
    refused(get(&a, "/image"), 400, "file");
    refused(get(&a, "/nowhere"), 404, "/nowhere");
    refused(request(&a, "POST", "/api/apply", Some("application/json"), b"{not json"), 400, "JSON");
    refused(request(&a, "POST", "/api/apply", Some("application/json"), b""), 400, "empty");
    refused(post_json(&a, "/api/apply", &json!({ "decisions": [] })), 400, "no decisions");
    refused(post_json(&a, "/api/apply", &json!({ "decisions": [{ "file": "x.png", "action": "delete" }] })), 400, "x.png");
    refused(post_json(&a, "/api/apply", &json!({ "decisions": [{ "file": PLANTED[0], "action": "burn" }] })), 400, "burn");
    refused(post_json(&a, "/api/apply", &json!({ "decisions": [{ "file": PLANTED[0], "action": "relabel", "new_label": "9" }] })), 400, "new_label '9'");
    refused(post_json(&a, "/api/apply", &json!({ "decisions": [{ "file": PLANTED[0], "action": "relabel" }] })), 409, "new_label");
    refused(post_json(&a, "/api/apply", &json!({ "edits": [] })), 400, "edits");
    let big = vec![b' '; (4 << 20) + 1];
    refused(request(&a, "POST", "/api/apply", Some("application/json"), &big), 413, "larger than");
    assert!(dir.join(PLANTED[0]).is_file() && !dir.join(".kindling").exists(), "nothing moved, no log");

    // A good one.
    let r = post_json(&a, "/api/apply", &json!({ "decisions": [
        { "file": PLANTED[0], "action": "delete" },
        { "file": PLANTED[1], "action": "relabel", "new_label": "7" },
        { "file": all["items"][2]["file"], "action": "keep" },
    ] }));
    let body = r.json();
    assert_eq!(r.status, 200, "{body}");
    assert_eq!(body["moved"], 2);
    let log: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(body["log"].as_str().unwrap()).unwrap()).unwrap();
    let ranked_loss = all["items"].as_array().unwrap().iter().find(|i| i["file"] == PLANTED[0]).unwrap()["loss"].as_f64().unwrap();
    assert_eq!((log["edits"][0]["file"].as_str(), log["edits"][0]["loss"].as_f64().map(|l| l as f32)), (Some(PLANTED[0]), Some(ranked_loss as f32)));
    assert_eq!(get(&a, "/api/items?class=3&split=valid").json()["total"], 16);
    // Moved files are no longer offered, nor served.
    refused(post_json(&a, "/api/apply", &json!({ "decisions": [{ "file": PLANTED[0], "action": "delete" }] })), 400, PLANTED[0]);
    refused(get(&a, &format!("/image?file={}", PLANTED[0])), 404, "not an image");
}

#[test]
fn clean_cli_undoes_and_replays_logs() {
    let dir = digits_copy("clean-cli");
    let edits = vec![
        kindling_web::clean::Edit::new(PLANTED[0], "3", kindling_web::clean::Action::Delete, None, None),
        kindling_web::clean::Edit::new(PLANTED[1], "3", kindling_web::clean::Action::Relabel, Some("7".into()), None),
    ];
    let applied = kindling_web::clean::apply(&dir, &kindling_web::clean::ModelStamp::default(), edits).unwrap();
    let run = |args: &[&str]| kindling_web::cli::run(<kindling_web::cli::Cli as clap::Parser>::parse_from(std::iter::once("kindling-web").chain(args.iter().copied())));
    let log = applied.log_path.to_str().unwrap();
    run(&["clean", "--undo", log]).unwrap();
    assert!(dir.join(PLANTED[0]).is_file() && dir.join(PLANTED[1]).is_file());
    let err = run(&["clean", "--undo", log]).unwrap_err().to_string();
    assert!(err.contains("undone already"), "{err}");
    // Replayed: the same moves, a new log.
    run(&["clean", "--apply", log]).unwrap();
    assert!(dir.join(".kindling/trash").join(PLANTED[0]).is_file() && dir.join("valid/7/planted_b.png").is_file());
    // A log outside a .kindling folder needs --images.
    let stray = dir.parent().unwrap().join("stray.json");
    std::fs::copy(log, &stray).unwrap();
    let err = run(&["clean", "--undo", stray.to_str().unwrap()]).unwrap_err().to_string();
    assert!(err.contains("--images"), "{err}");
}
