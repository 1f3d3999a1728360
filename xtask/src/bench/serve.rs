//! `kindling-web serve` under load: the server started in-process on `127.0.0.1:0` for an
//! ImageNet classifier (EfficientNet-Lite0 with its pretrained weights; resnet18 from the
//! torchvision random-init fixture, 1000 classes), 16 client threads each POSTing N 224×224
//! PNGs of `photos/chelsea.png` over plain HTTP/1.1 keep-alive connections. Once with batching
//! (max-batch 16, max-wait 5 ms), once with max-batch 1. N is 500, or `KINDLING_BENCH_SERVE_N`.
//! The peer (`xtask/peer/fastai_predict_latency.py`) times fastai's `learn.predict` on the same
//! image, one call at a time, no HTTP.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use burn::tensor::Device;
use kindling_web::http::background::Background;
use kindling_web::serve::load::{ModelSource, load};
use kindling_web::serve::worker::BatchOptions;
use kindling_web::serve::{ServeState, router};

use super::{Row, run_peer_script};

/// `learn.predict` calls the peer times.
const PEER_CALLS: usize = 100;

const CLIENTS: usize = 16;
const DEFAULT_N: usize = 500;

/// Latency and throughput rows: one per (architecture, batching on/off).
pub fn load_test(data: &Path, models: &Path, peer: Option<&Path>) -> Result<Vec<Row>, String> {
    let n = std::env::var("KINDLING_BENCH_SERVE_N").ok().and_then(|v| v.parse().ok()).filter(|&n: &usize| n > 0).unwrap_or(DEFAULT_N);
    let photo = data.join("photos/chelsea.png");
    let png = png_224(&photo)?;
    let list = models.join("efficientnet-lite0/imagenet_classes.txt");
    let classes: Vec<String> = std::fs::read_to_string(&list).map_err(|e| format!("{}: {e}", list.display()))?.lines().map(String::from).collect();
    let archs = [
        ("efficientnet-lite0", models.join("efficientnet-lite0/efficientnet_lite0.safetensors"), "ImageNet weights"),
        ("resnet18", models.join("resnet18-torchvision-random/resnet18.pth"), "torchvision random init"),
    ];
    let mut rows = Vec::new();
    for (arch, weights, init) in archs {
        for max_batch in [16, 1] {
            let source = ModelSource::Pretrained { arch: arch.into(), weights: weights.clone(), classes: classes.clone() };
            let opts = BatchOptions { max_batch, ..BatchOptions::default() };
            let (queue, info) = load(&source, &Device::flex(), opts).map_err(|e| e.to_string())?;
            let server = Background::start(router(ServeState::new(queue, info))).map_err(|e| e.to_string())?;
            // One request first, so the first timed ones do not pay for warm-up.
            Client::new(server.addr).predict(&png).and_then(|ok| if ok { Ok(()) } else { Err("the warm-up request failed".into()) })?;
            let t = Instant::now();
            let per_client: Vec<(Vec<f64>, usize)> = std::thread::scope(|s| {
                let handles: Vec<_> = (0..CLIENTS).map(|_| s.spawn(|| client_run(server.addr, &png, n))).collect();
                handles.into_iter().map(|h| h.join().unwrap_or_else(|_| (Vec::new(), n))).collect()
            });
            let secs = t.elapsed().as_secs_f64();
            drop(server);
            let failed: usize = per_client.iter().map(|c| c.1).sum();
            let mut ms: Vec<f64> = per_client.into_iter().flat_map(|c| c.0).collect();
            ms.sort_by(f64::total_cmp);
            let total = CLIENTS * n;
            let mut metric = format!("p50 {:.1} ms, p99 {:.1} ms", percentile(&ms, 50.0), percentile(&ms, 99.0));
            if failed > 0 {
                metric.push_str(&format!(", {failed} of {total} FAILED"));
            }
            let batching = if max_batch > 1 { "batching on (max-batch 16, max-wait 5 ms)" } else { "batching off (max-batch 1)" };
            rows.push(Row {
                name: format!("serve: {arch} ({init}), {batching}"),
                data: format!("{CLIENTS} clients × {n} POST /predict, 224² PNG"),
                metric,
                secs,
                throughput: format!("{:.1} req/s", (total - failed) as f64 / secs),
                peer: None,
            });
        }
    }
    // The peer is its own row: one in-process call at a time is not the same measure as
    // requests queued behind 16 clients, so no ratio is printed.
    if let Some(py) = peer {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("peer/fastai_predict_latency.py");
        let args = [data.join("photos").to_string_lossy().to_string(), photo.to_string_lossy().to_string(), PEER_CALLS.to_string()];
        let (metric, secs) = match run_peer_script(py, &script, &args, &["p50_ms", "p99_ms"]) {
            Ok((m, s)) => (m, s),
            Err(e) => (format!("peer failed: {e}"), f64::NAN),
        };
        rows.push(Row {
            name: "fastai (the peer): load_learner(resnet18).predict, one call at a time, no HTTP".into(),
            data: format!("{PEER_CALLS} calls, the same 224² image"),
            metric,
            secs,
            throughput: format!("{:.1} calls/s", PEER_CALLS as f64 / secs),
            peer: None,
        });
    }
    Ok(rows)
}

/// `path` resized to 224×224 and encoded as a PNG.
fn png_224(path: &Path) -> Result<Vec<u8>, String> {
    let img = image::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let img = img.resize_exact(224, 224, image::imageops::FilterType::Triangle).to_rgb8();
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).map_err(|e| e.to_string())?;
    Ok(png)
}

/// `n` requests in a row on one connection: (the latencies in ms, the failures).
fn client_run(addr: SocketAddr, png: &[u8], n: usize) -> (Vec<f64>, usize) {
    let mut client = Client::new(addr);
    let mut ms = Vec::with_capacity(n);
    let mut failed = 0;
    for _ in 0..n {
        let t = Instant::now();
        let ok = client.predict(png).unwrap_or(false);
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        failed += usize::from(!ok);
    }
    (ms, failed)
}

/// A plain HTTP/1.1 client on one keep-alive connection, reopened after an error.
struct Client {
    addr: SocketAddr,
    conn: Option<BufReader<TcpStream>>,
}

impl Client {
    fn new(addr: SocketAddr) -> Self {
        Self { addr, conn: None }
    }

    /// POSTs `png` to `/predict`: whether the answer is a 200 with a `predictions` field.
    fn predict(&mut self, png: &[u8]) -> Result<bool, String> {
        let r = self.exchange(png);
        if r.is_err() {
            self.conn = None;
        }
        r
    }

    fn exchange(&mut self, png: &[u8]) -> Result<bool, String> {
        let e = |e: std::io::Error| e.to_string();
        if self.conn.is_none() {
            let s = TcpStream::connect(self.addr).map_err(e)?;
            s.set_nodelay(true).map_err(e)?;
            s.set_read_timeout(Some(Duration::from_secs(120))).map_err(e)?;
            self.conn = Some(BufReader::new(s));
        }
        let c = self.conn.as_mut().ok_or("no connection")?;
        let mut req = format!("POST /predict HTTP/1.1\r\nHost: {}\r\nContent-Type: image/png\r\nContent-Length: {}\r\n\r\n", self.addr, png.len()).into_bytes();
        req.extend_from_slice(png);
        c.get_mut().write_all(&req).map_err(e)?;
        let mut status = String::new();
        c.read_line(&mut status).map_err(e)?;
        let mut len = None;
        loop {
            let mut line = String::new();
            if c.read_line(&mut line).map_err(e)? == 0 {
                return Err("the connection closed mid-answer".into());
            }
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((_, v)) = line.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")) {
                len = v.trim().parse::<usize>().ok();
            }
        }
        let mut body = vec![0; len.ok_or("the answer has no Content-Length")?];
        c.read_exact(&mut body).map_err(e)?;
        Ok(status.split_whitespace().nth(1) == Some("200") && String::from_utf8_lossy(&body).contains("\"predictions\""))
    }
}

/// The nearest-rank `p`th percentile of `sorted` (ascending); NaN when empty.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentile_is_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(percentile(&v, 0.0), 1.0);
        assert_eq!(percentile(&[3.0, 7.0], 50.0), 3.0);
        assert_eq!(percentile(&[3.0, 7.0], 99.0), 7.0);
        assert_eq!(percentile(&[5.0], 99.0), 5.0);
        assert!(percentile(&[], 50.0).is_nan());
    }
}
