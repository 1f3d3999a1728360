//! The model server's endpoints over HTTP: answers, refusals, and batching under load.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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

/// The environment variable that turns [`serve_process`] on: the model file to serve.
const SERVE_PROCESS_MODEL: &str = "KINDLING_WEB_TEST_SERVE_MODEL";

/// The server process of [`malformed_requests_interleaved_with_good_ones_never_stop_the_server`]:
/// this test binary, run again by that test with only this test selected, serves the model as
/// `kindling-web serve` does (its command line, mimalloc keeping freed memory as the binary's
/// `main` does), so the server's memory is a process of its own to measure. Run by hand, it
/// returns at once.
#[test]
#[ignore = "the server process that malformed_requests_interleaved_with_good_ones_never_stop_the_server starts"]
fn serve_process() {
    let Some(model) = std::env::var_os(SERVE_PROCESS_MODEL) else { return };
    crate::keep_freed_memory();
    let args: Vec<OsString> = ["kindling-web", "serve", "--model"].into_iter().map(OsString::from).chain([model]).chain(["--port", "0", "--max-batch", "8", "--max-wait-ms", "5", "--queue", "256"].map(OsString::from)).collect();
    kindling_web::cli::run(<kindling_web::cli::Cli as clap::Parser>::parse_from(args)).unwrap();
}

/// A `kindling-web serve` process ([`serve_process`]); killed if the test fails before it
/// stops it.
struct ServerProcess {
    child: Child,
    addr: String,
    /// The rest of its standard output, once it has exited.
    rest: Option<std::thread::JoinHandle<String>>,
}

impl ServerProcess {
    fn start(model: &std::path::Path) -> Self {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["serve_http::serve_process", "--exact", "--ignored", "--nocapture", "--test-threads", "1"])
            .env(SERVE_PROCESS_MODEL, model)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut seen = String::new();
        let addr = loop {
            let mut line = String::new();
            if out.read_line(&mut line).unwrap() == 0 {
                let _ = child.kill();
                panic!("the server process ended before listening: {seen}");
            }
            seen += &line;
            if let Some(a) = line.trim().strip_prefix("listening on http://") {
                break a.trim_end_matches('/').to_string();
            }
        };
        let rest = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = out.read_to_string(&mut s);
            s
        });
        Self { child, addr, rest: Some(rest) }
    }

    /// Its resident memory (`VmRSS` of `/proc/PID/status`), in bytes.
    fn rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let kib: u64 = status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok()).unwrap_or_else(|| panic!("no VmRSS in {status}"));
        kib << 10
    }

    /// Stops it with SIGTERM and returns the rest of its output; it must exit cleanly.
    fn stop(mut self) -> String {
        let pid = self.child.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "the server did not stop within a minute of SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        };
        let out = self.rest.take().unwrap().join().unwrap();
        assert!(status.success(), "{status}: {out}");
        out
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// One round against the server at `a`: 8 threads × 30 requests, 25 malformed and 5 good per
/// thread, so 200 malformed requests among 40 good ones. Every bad one must be a 4xx with a
/// JSON error, every good one the class and probability the image gets alone (`want`).
fn round(a: &str, bad: &[(&str, Vec<u8>)], good: &[(Vec<u8>, serde_json::Value); 2]) {
    std::thread::scope(|scope| {
        for t in 0..8 {
            scope.spawn(move || {
                for i in 0..30 {
                    if i % 6 == 5 {
                        let (img, want) = &good[(t + i) % 2];
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
}

#[test]
fn malformed_requests_interleaved_with_good_ones_never_stop_the_server() {
    let server = ServerProcess::start(&trained().model);
    let a = server.addr.clone();
    let (three, seven) = (digit("3"), digit("7"));
    let want3 = request(&a, "POST", "/predict", Some("image/png"), &three).json();
    let want7 = request(&a, "POST", "/predict", Some("image/png"), &seven).json();
    assert_eq!((want3["predictions"][0]["class"].as_str(), want7["predictions"][0]["class"].as_str()), (Some("3"), Some("7")));
    // Among them 2 MiB bodies that are not images: 40 of them a round, 80 MiB, so a server
    // that kept each request's body would grow by about that much a round.
    let bad: Vec<(&str, Vec<u8>)> = vec![
        ("image/png", b"GIF89a nonsense".to_vec()),
        ("image/png", seven[..seven.len() / 3].to_vec()),
        ("application/json", b"{\"text\": 1}".to_vec()),
        ("image/png", Vec::new()),
        ("image/png", vec![0x5a; 2 << 20]),
    ];
    let good = [(three, want3), (seven, want7)];
    // Memory flat: the resident memory after two warm-up rounds (the allocator's pools, the
    // model's buffers for each batch size, the runtime's threads all in place), after a round of
    // the 200 malformed among 40 good requests, and after a second such round.
    round(&a, &bad, &good);
    round(&a, &bad, &good);
    let warm = server.rss();
    round(&a, &bad, &good);
    let first = server.rss();
    round(&a, &bad, &good);
    let second = server.rss();
    let mib = |b: u64| b as f64 / f64::from(1 << 20);
    let (grew1, grew2) = (first.saturating_sub(warm), second.saturating_sub(first));
    eprintln!("server RSS: {:.1} MiB after warm-up, {:.1} MiB after round 1 (+{:.1} MiB), {:.1} MiB after round 2 (+{:.1} MiB)", mib(warm), mib(first), mib(grew1), mib(second), mib(grew2));
    // Figures measured on a 2-core machine: 288.7 MiB after the warm-up, then +2.0 MiB after
    // round 1 and +0.0 MiB after round 2. With each request's body kept (a deliberate leak in
    // `read_body`, tried once) the same rounds grew by +98.0 and +96.0 MiB, failing both bounds,
    // which leave the allocator room on a machine with more runtime threads.
    assert!(grew1 < 64 << 20, "the server grew by {:.1} MiB over 240 requests after warm-up", mib(grew1));
    assert!(grew2 < 32 << 20, "the server grew by {:.1} MiB over a second round of 240 requests", mib(grew2));
    // No restart: the same process answers, and stops cleanly on SIGTERM.
    assert_eq!(get(&a, "/health").json()["status"], "ok");
    let out = server.stop();
    assert!(out.contains("stopped"), "{out}");
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
