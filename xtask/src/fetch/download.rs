//! Streaming HTTP download into a `.part` file, resuming a partial one with a Range request.

use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Timeouts of a download.
#[derive(Clone, Copy, Debug)]
pub struct Timeouts {
    /// To open the connection.
    pub connect: Duration,
    /// Longest wait for the next bytes: a server silent for longer has stalled.
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self { connect: Duration::from_secs(15), idle: Duration::from_secs(30) }
    }
}

/// Downloads `url` into `part`, continuing from its current length when the server honours
/// ranges. Returns the file's final length.
pub fn download(url: &str, part: &Path, timeouts: Timeouts) -> Result<u64, String> {
    let have = std::fs::metadata(part).map(|m| m.len()).unwrap_or(0);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_connect(Some(timeouts.connect))
        .timeout_per_read(Some(timeouts.idle))
        .timeout_recv_response(Some(timeouts.idle))
        .build()
        .into();
    let mut req = agent.get(url);
    if have > 0 {
        req = req.header("Range", format!("bytes={have}-"));
    }
    let resp = match req.call() {
        Ok(r) => r,
        // A partial file that is already whole: the server has nothing past its end.
        Err(ureq::Error::StatusCode(416)) if have > 0 => return Ok(have),
        Err(e) => return Err(describe(url, e)),
    };
    let status = resp.status().as_u16();
    let resumed = status == 206;
    let total = resp.headers().get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok()).map(|n| if resumed { n + have } else { n });
    let mut file = OpenOptions::new()
        .create(true)
        .write(true)
        .append(resumed)
        .truncate(!resumed)
        .open(part)
        .map_err(|e| format!("{}: {e}", part.display()))?;
    let start = if resumed { have } else { 0 };
    let bar = progress(total, start, url);
    let mut reader = resp.into_body().into_reader();
    let mut buf = vec![0u8; 1 << 16];
    let mut written = start;
    loop {
        let n = reader.read(&mut buf).map_err(|e| {
            let _ = file.flush();
            if e.kind() == std::io::ErrorKind::TimedOut || e.to_string().to_lowercase().contains("timeout") {
                format!("{url}: no data for {} s: the server stalled ({written} bytes kept; run again to resume)", timeouts.idle.as_secs())
            } else {
                format!("{url}: download interrupted after {written} bytes ({e}); run again to resume")
            }
        })?;
        if n == 0 {
            break;
        }
        file.write_all(&buf[..n]).map_err(|e| format!("{}: {e}", part.display()))?;
        written += n as u64;
        bar.set_position(written);
    }
    file.sync_all().map_err(|e| format!("{}: {e}", part.display()))?;
    bar.finish_and_clear();
    if let Some(t) = total.filter(|&t| t != written) {
        return Err(format!("{url}: the connection closed after {written} of {t} bytes; run again to resume"));
    }
    Ok(written)
}

fn describe(url: &str, e: ureq::Error) -> String {
    match e {
        ureq::Error::StatusCode(code) => format!("{url}: the server answered HTTP {code}"),
        ureq::Error::Timeout(t) => format!("{url}: timed out ({t:?})"),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => format!("{url}: connection refused"),
        other => {
            let s = other.to_string();
            if s.to_lowercase().contains("refused") { format!("{url}: connection refused") } else { format!("{url}: {s}") }
        }
    }
}

fn progress(total: Option<u64>, start: u64, url: &str) -> ProgressBar {
    use std::io::IsTerminal;
    let target = if std::io::stderr().is_terminal() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
    let bar = ProgressBar::with_draw_target(total, target);
    bar.set_style(ProgressStyle::with_template("{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} {eta}").expect("template").progress_chars("=> "));
    bar.set_message(url.rsplit('/').next().unwrap_or(url).to_string());
    bar.set_position(start);
    bar
}
