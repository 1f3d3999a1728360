//! Fetching against a real HTTP server on 127.0.0.1, started inside each test, and unpacking
//! hostile archives. No address beyond 127.0.0.1 is contacted.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use md5::{Digest, Md5};

use super::download::{Timeouts, download};
use super::{Cache, State, extract};
use crate::manifest::{Archive, Manifest};

/// How the test server misbehaves.
#[derive(Clone, Copy)]
enum Mode {
    /// Serves the body, honouring Range.
    Good,
    /// The first response promises the whole body but the connection drops after this many bytes.
    CutAt(usize),
    /// 404 for everything.
    NotFound,
    /// Sends headers and a few bytes, then goes silent.
    Stall,
}

struct Server {
    url: String,
    requests: Arc<AtomicUsize>,
    /// The `Range: bytes=N-` start of each request, in arrival order (`None`: no Range header).
    ranges: Arc<Mutex<Vec<Option<usize>>>>,
}

fn serve(body: Vec<u8>, mode: Mode) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/data.tgz", listener.local_addr().unwrap());
    let requests = Arc::new(AtomicUsize::new(0));
    let ranges = Arc::new(Mutex::new(Vec::new()));
    let (counter, seen) = (requests.clone(), ranges.clone());
    std::thread::spawn(move || {
        // Bounded: a test makes a handful of requests.
        for stream in listener.incoming().take(8) {
            let Ok(stream) = stream else { break };
            let n = counter.fetch_add(1, Ordering::SeqCst);
            let body = body.clone();
            // Headers are read here, in arrival order, so `ranges` lines up with the requests.
            let range = read_range(&stream);
            seen.lock().unwrap().push(range);
            std::thread::spawn(move || handle(stream, &body, mode, n, range.unwrap_or(0)));
        }
    });
    Server { url, requests, ranges }
}

/// Reads a request's headers and returns its `Range: bytes=N-` start, if it sent one.
fn read_range(stream: &TcpStream) -> Option<usize> {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut range = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
            range = v.trim().trim_end_matches('-').parse().ok();
        }
    }
    range
}

fn handle(mut stream: TcpStream, body: &[u8], mode: Mode, n: usize, range_start: usize) {
    let _ = match mode {
        Mode::NotFound => stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
        Mode::Stall => {
            let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            let _ = stream.write_all(&body[..10]);
            std::thread::sleep(Duration::from_secs(5));
            Ok(())
        }
        Mode::CutAt(at) if n == 0 => {
            let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            stream.write_all(&body[..at])
        }
        _ if range_start > 0 => {
            let rest = &body[range_start.min(body.len())..];
            let _ = write!(
                stream,
                "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {}-{}/{}\r\nConnection: close\r\n\r\n",
                rest.len(),
                range_start,
                body.len() - 1,
                body.len()
            );
            stream.write_all(rest)
        }
        _ => {
            let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
            stream.write_all(body)
        }
    };
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kindling-fetch-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A real gzipped tar with `sample/hello.txt` and enough incompressible bytes to be cut midway.
fn good_archive() -> Vec<u8> {
    let mut b = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    let mut add = |path: &str, data: &[u8]| {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, path, data).unwrap();
    };
    add("sample/hello.txt", b"hello");
    let noise: Vec<u8> = (0..200_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    add("sample/noise.bin", &noise);
    b.into_inner().unwrap().finish().unwrap()
}

fn manifest_for(url: &str, bytes: &[u8], md5: Option<String>) -> Manifest {
    let md5 = md5.unwrap_or_else(|| Md5::digest(&bytes[..bytes.len().min(1 << 20)]).iter().map(|b| format!("{b:02x}")).collect());
    let toml = format!(
        "name='sample'\ndescription='d'\ntask='t'\nurl='{url}'\nsize={}\nmd5_first_mib='{md5}'\narchive='tgz'\nunpacks_to='sample'\nlicence='l'\ncitation='c'\n",
        bytes.len()
    );
    Manifest::parse(&toml, Path::new("test.toml")).unwrap()
}

fn quick() -> Timeouts {
    Timeouts { connect: Duration::from_secs(2), idle: Duration::from_millis(500) }
}

#[test]
fn a_whole_download_verifies_and_unpacks() {
    let bytes = good_archive();
    let server = serve(bytes.clone(), Mode::Good);
    let dir = tmp("whole");
    let cache = Cache::new(&dir);
    let m = manifest_for(&server.url, &bytes, None);
    assert_eq!(cache.state(&m), State::Missing);
    let out = cache.fetch(&m, None, quick()).unwrap();
    assert_eq!(std::fs::read_to_string(out.join("hello.txt")).unwrap(), "hello");
    assert_eq!(cache.state(&m), State::Ready);
    // A second fetch finds it ready and asks nothing.
    cache.fetch(&m, None, quick()).unwrap();
    assert_eq!(server.requests.load(Ordering::SeqCst), 1);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_download_cut_midway_resumes_and_verifies() {
    let bytes = good_archive();
    let server = serve(bytes.clone(), Mode::CutAt(bytes.len() / 2));
    let dir = tmp("cut");
    let cache = Cache::new(&dir);
    let m = manifest_for(&server.url, &bytes, None);
    let err = cache.fetch(&m, None, quick()).unwrap_err();
    assert!(err.contains("resume"), "{err}");
    assert_eq!(cache.state(&m), State::Partial(bytes.len() as u64 / 2));
    let out = cache.fetch(&m, None, quick()).unwrap();
    assert_eq!(std::fs::read_to_string(out.join("hello.txt")).unwrap(), "hello");
    assert_eq!(server.requests.load(Ordering::SeqCst), 2);
    let half = bytes.len() / 2;
    assert_eq!(*server.ranges.lock().unwrap(), vec![None, Some(half)], "the second request asked for the rest only");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_wrong_checksum_is_rejected_and_nothing_looks_valid() {
    let bytes = good_archive();
    let server = serve(bytes.clone(), Mode::Good);
    let dir = tmp("checksum");
    let cache = Cache::new(&dir);
    let m = manifest_for(&server.url, &bytes, Some("0".repeat(32)));
    let err = cache.fetch(&m, None, quick()).unwrap_err();
    assert!(err.contains("checksum") && err.contains("removed"), "{err}");
    assert_eq!(cache.state(&m), State::Missing);
    assert!(!dir.join("data/sample").exists());
    let left: Vec<_> = std::fs::read_dir(dir.join("archive")).unwrap().flatten().collect();
    assert!(left.is_empty(), "{left:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn not_found_refused_and_stalled_servers_are_clear_errors() {
    let dir = tmp("errors");
    let part = dir.join("x.part");
    let server = serve(Vec::new(), Mode::NotFound);
    let err = download(&server.url, &part, quick()).unwrap_err();
    assert!(err.contains("404"), "{err}");

    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let err = download(&format!("http://127.0.0.1:{port}/x"), &part, quick()).unwrap_err();
    assert!(err.to_lowercase().contains("refused"), "{err}");

    let server = serve(vec![7u8; 1000], Mode::Stall);
    let started = std::time::Instant::now();
    let err = download(&server.url, &part, quick()).unwrap_err();
    assert!(err.contains("stalled") || err.contains("timed out") || err.contains("imeout"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(4), "gave up after the idle timeout, not the server's sleep");
    std::fs::remove_dir_all(dir).unwrap();
}

/// A tgz with one entry whose raw name (and link target) is written byte for byte, bypassing the
/// tar crate's own path checks, as a hostile archive would be.
fn hostile_tgz(name: &str, link: Option<&str>) -> Vec<u8> {
    let mut h = tar::Header::new_old();
    {
        let old = h.as_old_mut();
        old.name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(l) = link {
            old.linkname[..l.len()].copy_from_slice(l.as_bytes());
        }
    }
    h.set_entry_type(if link.is_some() { tar::EntryType::Symlink } else { tar::EntryType::Regular });
    h.set_size(if link.is_some() { 0 } else { 4 });
    h.set_mode(0o644);
    h.set_cksum();
    let mut raw = h.as_bytes().to_vec();
    if link.is_none() {
        let mut data = b"evil".to_vec();
        data.resize(512, 0);
        raw.extend(data);
    }
    raw.extend(vec![0u8; 1024]);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&raw).unwrap();
    gz.finish().unwrap()
}

#[test]
fn hostile_archives_are_refused_with_nothing_written_outside() {
    let dir = tmp("hostile");
    for (name, link, expect) in [
        ("../evil.txt", None, "'..'"),
        ("/tmp/kindling-evil-abs.txt", None, "absolute"),
        ("sample/link", Some("../../../etc"), "outside"),
        ("sample/link2", Some("/etc/passwd"), "outside"),
    ] {
        let archive = dir.join("a.tgz");
        std::fs::write(&archive, hostile_tgz(name, link)).unwrap();
        let dest = dir.join("out/sample");
        let err = extract::extract(&archive, Archive::Tgz, &dest).unwrap_err();
        assert!(err.contains(expect), "{name}: {err}");
        assert!(!dest.exists(), "{name}: nothing unpacked");
        assert!(!dir.join("evil.txt").exists() && !dir.join("out/evil.txt").exists());
        let leftovers: Vec<_> = std::fs::read_dir(dir.join("out")).unwrap().flatten().collect();
        assert!(leftovers.is_empty(), "{name}: {leftovers:?}");
    }
    assert!(!Path::new("/tmp/kindling-evil-abs.txt").exists());

    // A zip with a '..' entry too.
    let zpath = dir.join("a.zip");
    {
        let mut z = zip::ZipWriter::new(std::fs::File::create(&zpath).unwrap());
        z.start_file("../zip-evil.txt", zip::write::SimpleFileOptions::default()).unwrap();
        z.write_all(b"evil").unwrap();
        z.finish().unwrap();
    }
    let err = extract::extract(&zpath, Archive::Zip, &dir.join("out/z")).unwrap_err();
    assert!(err.contains("'..'"), "{err}");
    assert!(!dir.join("zip-evil.txt").exists());
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn import_from_a_local_archive_goes_through_the_same_checks() {
    let bytes = good_archive();
    let dir = tmp("import");
    let local = dir.join("copy.tgz");
    std::fs::write(&local, &bytes).unwrap();
    let cache = Cache::new(dir.join("cache"));
    let m = manifest_for("http://127.0.0.1:9/unused", &bytes, None);
    let out = cache.fetch(&m, Some(local.to_str().unwrap()), quick()).unwrap();
    assert!(out.join("noise.bin").exists());
    let bad = manifest_for("http://127.0.0.1:9/unused", &bytes, Some("f".repeat(32)));
    let other = Cache::new(dir.join("cache2"));
    assert!(other.fetch(&bad, Some(local.to_str().unwrap()), quick()).unwrap_err().contains("checksum"));
    let mut r = std::fs::File::open(&local).unwrap();
    let mut b = Vec::new();
    r.read_to_end(&mut b).unwrap();
    assert_eq!(b, bytes, "the user's file is untouched");
    std::fs::remove_dir_all(dir).unwrap();
}
