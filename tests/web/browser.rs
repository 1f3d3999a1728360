//! The pages in a real browser, as a person uses them: headless Chromium through chromedriver.

use serde_json::json;

use crate::fixtures::{PLANTED, cleaner, digits_copy, efficientnet, output_dir, server, tmp};
use crate::webdriver::{Browser, available};

#[test]
fn cleaner_page_lists_the_planted_images_first_and_applies_a_delete_and_a_relabel() {
    if !available("cleaner_page_lists_the_planted_images_first_and_applies_a_delete_and_a_relabel") {
        return;
    }
    let dir = digits_copy("browser-clean");
    let server = cleaner(&dir);
    let b = Browser::start(tmp("chrome-clean"));
    b.goto(&server.url("/"));
    b.wait_for("the page", "return document.body.dataset.ready");
    b.click("#class option[value='3']");
    b.click("#split option[value='valid']");
    b.wait_for("valid threes", "return document.getElementById('page-info').textContent.includes('(18 images)')");
    let shown = b.eval("return [...document.querySelectorAll('.card')].map(c => c.dataset.file)", json!([]));
    let first: Vec<&str> = shown.as_array().unwrap().iter().take(2).map(|v| v.as_str().unwrap()).collect();
    assert!(PLANTED.iter().all(|p| first.contains(p)), "the planted sevens should lead the valid threes: {shown}");
    let card = |f: &str| format!(".card[data-file='{f}']");
    b.click(&format!("{} select.choice option[value='delete']", card(PLANTED[0])));
    b.click(&format!("{} select.choice option[value='move:7']", card(PLANTED[1])));
    b.wait_for("the pending count", "return document.getElementById('pending').textContent.includes('2 change')");
    b.screenshot(&output_dir().join("cleaner.png"));
    b.click("#apply");
    let status = b.wait_for("Apply's answer", "const s = document.getElementById('status').textContent; return s.includes('Applied') || s.includes('rror') ? s : ''");
    assert!(status.as_str().unwrap().contains("Applied: 2 file(s) moved"), "{status}");

    assert!(dir.join(".kindling/trash").join(PLANTED[0]).is_file(), "deleted into the trash");
    assert!(dir.join("valid/7/planted_b.png").is_file(), "relabelled into valid/7");
    assert!(!dir.join(PLANTED[0]).exists() && !dir.join(PLANTED[1]).exists());
    let logs: Vec<_> = std::fs::read_dir(dir.join(".kindling")).unwrap().flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "json")).collect();
    assert_eq!(logs.len(), 1, "{logs:?}");
    let log: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&logs[0]).unwrap()).unwrap();
    let edits = log["edits"].as_array().unwrap();
    assert_eq!(edits.len(), 2, "{log}");
    assert_eq!(log["status"], "applied");
    assert_eq!(log["model_sha256"].as_str().unwrap().len(), 64);
    // The page shows the valid threes less the two moved.
    b.wait_for("the new page", "return document.getElementById('page-info').textContent.includes('(16 images)')");

    // `clean --undo` puts both back.
    let cli = <kindling_web::cli::Cli as clap::Parser>::parse_from(["kindling-web", "clean", "--undo", logs[0].to_str().unwrap()]);
    kindling_web::cli::run(cli).unwrap();
    assert!(dir.join(PLANTED[0]).is_file() && dir.join(PLANTED[1]).is_file());
    assert!(!dir.join("valid/7/planted_b.png").exists());
}

#[test]
fn serve_page_shows_a_cat_class_first_for_chelsea() {
    if !available("serve_page_shows_a_cat_class_first_for_chelsea") {
        return;
    }
    let server = server(efficientnet(), kindling_web::serve::worker::BatchOptions::default());
    let b = Browser::start(tmp("chrome-serve"));
    b.goto(&server.url("/"));
    b.wait_for("the page", "return document.body.dataset.ready");
    let photo = kindling_tests::shared().join("data/photos/chelsea.png").canonicalize().unwrap();
    b.type_into("#file", photo.to_str().unwrap());
    let top = b.wait_for("the top class", "const c = document.querySelector('#result .bar .cls'); return c ? c.textContent : ''");
    let top = top.as_str().unwrap().to_string();
    assert!(["tabby", "tiger cat", "Egyptian cat"].iter().any(|c| top.contains(c)), "top class {top}");
    b.wait_for("the preview", "return document.getElementById('preview').complete && !document.getElementById('preview').hidden");
    b.screenshot(&output_dir().join("serve.png"));
}
