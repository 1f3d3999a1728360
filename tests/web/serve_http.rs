//! The model server's endpoints over HTTP: answers, refusals, and batching under load.

use std::time::Duration;

use kindling_web::serve::load::ModelSource;
use kindling_web::serve::worker::BatchOptions;

use crate::fixtures::{efficientnet, server, trained};
use crate::http::{get, post_json, refused, request};

/// The PNG bytes of the validation digits of `label` (the planted ones left out).
fn digits(label: &str) -> Vec<Vec<u8>> {
    let dir = trained().digits.join("valid").join(label);
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().map(|e| e.path()).filter(|p| !p.to_string_lossy().contains("planted")).collect();
    files.sort();
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

/// The first validation digit of `label`.
fn digit(label: &str) -> Vec<u8> {
    digits(label).swap_remove(0)
}

#[test]
fn vision_server_answers_and_refuses_bad_requests() {
    let s = server(ModelSource::File(trained().model.clone()), BatchOptions::default());
    let a = s.addr.to_string();
    assert_eq!(get(&a, "/health").json()["task"], "vision");
    let m = get(&a, "/model").json();
    assert_eq!(m["task"], "vision");
    assert_eq!(m["classes"], serde_json::json!(["3", "7"]));
    assert!(m["metrics"]["accuracy"].as_f64().is_some(), "training metrics from metrics.json: {m}");
    assert_eq!(m["batching"]["max_batch"], 16);
    assert!(String::from_utf8_lossy(&get(&a, "/").body).contains("serve.js"));

    // A small model: most validation digits of each class come back as that class.
    for label in ["3", "7"] {
        let mut right = 0;
        let all = digits(label);
        for png in &all {
            let r = request(&a, "POST", "/predict?k=2", Some("image/png"), png);
            let body = r.json();
            assert_eq!(r.status, 200, "{body}");
            right += usize::from(body["predictions"][0]["class"] == label);
            let p: f64 = body["predictions"].as_array().unwrap().iter().map(|p| p["prob"].as_f64().unwrap()).sum();
            assert!((p - 1.0).abs() < 1e-4, "{body}");
        }
        assert!(right * 4 >= all.len() * 3, "{right} of {} {label}s recognised", all.len());
    }
    let png = digit("7");
    // The same image as a form's file (`curl -F file=@seven.png`) gets the same answer.
    let raw = request(&a, "POST", "/predict?k=2", Some("image/png"), &png).json();
    let mut form = b"--b0undary\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhi\r\n--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"seven.png\"\r\nContent-Type: image/png\r\n\r\n".to_vec();
    form.extend_from_slice(&png);
    form.extend_from_slice(b"\r\n--b0undary--\r\n");
    let r = request(&a, "POST", "/predict?k=2", Some("multipart/form-data; boundary=b0undary"), &form);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json(), raw);
    refused(request(&a, "POST", "/predict", Some("multipart/form-data"), &form), 400, "no boundary");
    refused(request(&a, "POST", "/predict", Some("multipart/form-data; boundary=b0undary"), &form[..form.len() / 2]), 400, "truncated");
    refused(request(&a, "POST", "/predict", Some("multipart/mixed; boundary=b0undary"), &form), 415, "multipart/mixed");
    refused(request(&a, "POST", "/predict", Some("image/png"), b"these are not pixels"), 400, "not an image");
    refused(request(&a, "POST", "/predict", Some("image/png"), &png[..png.len() / 2]), 400, "not an image");
    refused(request(&a, "POST", "/predict", Some("image/png"), b""), 400, "empty");
    refused(request(&a, "POST", "/predict", Some("application/json"), b"{}"), 415, "image");
    refused(request(&a, "POST", "/predict?k=0", Some("image/png"), &png), 400, "k 0");
    refused(request(&a, "POST", "/predict?k=3", Some("image/png"), &png), 400, "k 3");
    refused(request(&a, "POST", "/predict?k=x", Some("image/png"), &png), 400, "bad query");
    refused(request(&a, "POST", "/predict?colour=red", Some("image/png"), &png), 400, "colour");
    refused(request(&a, "GET", "/predict", None, b""), 405, "does not take GET");
    refused(get(&a, "/nowhere"), 404, "/nowhere");
    let huge = vec![0u8; (20 << 20) + 1];
    refused(request(&a, "POST", "/predict", Some("image/png"), &huge), 413, "larger than");
}

#[test]
fn malformed_requests_interleaved_with_good_ones_never_stop_the_server() {
    let s = server(ModelSource::File(trained().model.clone()), BatchOptions { max_batch: 8, max_wait: Duration::from_millis(5), queue: 256 });
    let a = s.addr.to_string();
    let (three, seven) = (digit("3"), digit("7"));
    let want3 = request(&a, "POST", "/predict", Some("image/png"), &three).json();
    let want7 = request(&a, "POST", "/predict", Some("image/png"), &seven).json();
    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("image/png", b"GIF89a nonsense".to_vec()),
        ("image/png", seven[..seven.len() / 3].to_vec()),
        ("application/json", b"{\"text\": 1}".to_vec()),
        ("image/png", Vec::new()),
    ];
    std::thread::scope(|scope| {
        for t in 0..8 {
            let (a, bad, three, seven, want3, want7) = (&a, &bad, &three, &seven, &want3, &want7);
            scope.spawn(move || {
                for i in 0..30 {
                    // 25 bad and 5 good per thread: 200 malformed requests among 40 good ones.
                    if i % 6 == 5 {
                        let (img, want) = if (t + i) % 2 == 0 { (three, want3) } else { (seven, want7) };
                        let r = request(a, "POST", "/predict", Some("image/png"), img);
                        let got = r.json();
                        assert_eq!(r.status, 200, "a good image: {got}");
                        assert_eq!(got["predictions"][0]["class"], want["predictions"][0]["class"]);
                        let (p, q) = (got["predictions"][0]["prob"].as_f64().unwrap(), want["predictions"][0]["prob"].as_f64().unwrap());
                        assert!((p - q).abs() < 1e-4, "batched {p} vs alone {q}");
                    } else {
                        let (ct, body) = &bad[(t + i) % bad.len()];
                        let r = request(a, "POST", "/predict", Some(ct), body);
                        assert!((400..500).contains(&r.status), "{} {}", r.status, String::from_utf8_lossy(&r.body));
                        assert!(r.json()["error"].is_string());
                    }
                }
            });
        }
    });
    assert_eq!(get(&a, "/health").json()["status"], "ok");
}

#[test]
fn pretrained_efficientnet_sees_a_cat_in_chelsea() {
    let s = server(efficientnet(), BatchOptions::default());
    let a = s.addr.to_string();
    let photo = std::fs::read(kindling_tests::shared().join("data/photos/chelsea.png")).unwrap();
    let r = request(&a, "POST", "/predict?k=3", Some("image/png"), &photo);
    let body = r.json();
    assert_eq!(r.status, 200, "{body}");
    let top = body["predictions"][0]["class"].as_str().unwrap();
    assert!(["tabby", "tiger cat", "Egyptian cat"].iter().any(|c| top.contains(c)), "{body}");
    assert_eq!(get(&a, "/model").json()["classes"].as_array().unwrap().len(), 1000);
    // JSON endpoints refuse an image model's JSON.
    refused(post_json(&a, "/predict", &serde_json::json!({ "text": "a cat" })), 415, "image");
}
