//! `cargo xtask fetch` and `list`: data sets into a cache, checked before they are unpacked.
//!
//! Layout of the cache (`$KINDLING_HOME`, default `~/.kindling`): `archive/<name>.<ext>` for
//! downloads (`.part` while incomplete), `data/<unpacks_to>/` for unpacked data sets.

pub mod checksum;
pub mod download;
pub mod extract;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::manifest::{Archive, Manifest, Source};
use download::Timeouts;

/// The cache root the task binaries read from (`$KINDLING_HOME`, or `~/.kindling`).
pub fn default_home() -> PathBuf {
    kindling_core::datasets::home()
}

/// Where a data set stands in the cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// Nothing downloaded.
    Missing,
    /// A partial download of this many bytes.
    Partial(u64),
    /// The archive is downloaded and checked, not unpacked.
    Verified,
    /// Unpacked and ready.
    Ready,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            State::Missing => write!(f, "missing"),
            State::Partial(n) => write!(f, "partial ({n} bytes)"),
            State::Verified => write!(f, "downloaded, verified"),
            State::Ready => write!(f, "ready"),
        }
    }
}

/// A cache root.
#[derive(Clone, Debug)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// A cache at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Where `m` is unpacked.
    pub fn data_dir(&self, m: &Manifest) -> PathBuf {
        self.root.join("data").join(&m.unpacks_to)
    }

    fn archive_path(&self, m: &Manifest) -> Option<PathBuf> {
        match &m.source {
            Source::Archive { kind, .. } => Some(self.root.join("archive").join(format!("{}.{}", m.name, if *kind == Archive::Zip { "zip" } else { "tgz" }))),
            Source::Files(_) => None,
        }
    }

    /// The state of `m`.
    pub fn state(&self, m: &Manifest) -> State {
        if self.data_dir(m).is_dir() {
            return State::Ready;
        }
        let Some(a) = self.archive_path(m) else {
            return State::Missing;
        };
        if a.exists() {
            return State::Verified;
        }
        match std::fs::metadata(part_of(&a)) {
            Ok(md) => State::Partial(md.len()),
            Err(_) => State::Missing,
        }
    }

    /// Fetches `m` (from its URL, or `from`: a URL, a local archive, or for plain-file data sets
    /// a local folder), checks it, and unpacks it. Returns the unpacked folder.
    pub fn fetch(&self, m: &Manifest, from: Option<&str>, timeouts: Timeouts) -> Result<PathBuf, String> {
        let dest = self.data_dir(m);
        if dest.is_dir() {
            return Ok(dest);
        }
        match &m.source {
            Source::Archive { url, check, kind } => {
                let archive = self.archive_path(m).expect("archive source");
                let dir = archive.parent().expect("in the cache");
                std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                if !archive.exists() {
                    let part = part_of(&archive);
                    match from {
                        Some(src) if !is_url(src) => {
                            std::fs::copy(src, &part).map_err(|e| format!("{src}: {e}"))?;
                        }
                        other => {
                            download::download(other.unwrap_or(url), &part, timeouts)?;
                        }
                    }
                    if let Err(e) = checksum::verify(&part, check) {
                        // A file that fails its check is never kept under a name that looks whole.
                        let _ = std::fs::remove_file(&part);
                        return Err(format!("{e}; the download was removed"));
                    }
                    std::fs::rename(&part, &archive).map_err(|e| e.to_string())?;
                }
                extract::extract(&archive, *kind, &dest)?;
                Ok(dest)
            }
            Source::Files(files) => {
                let parent = dest.parent().expect("in the cache");
                let tmp = parent.join(format!(".{}.partial", m.unpacks_to));
                for f in files {
                    let rel = extract::safe_relative(&f.path)?;
                    let target = tmp.join(&rel);
                    if let Some(p) = target.parent() {
                        std::fs::create_dir_all(p).map_err(|e| e.to_string())?;
                    }
                    let check = crate::manifest::Check::Sha256 { size: f.size, sha256: f.sha256.clone() };
                    if target.exists() && checksum::verify(&target, &check).is_ok() {
                        continue;
                    }
                    let part = part_of(&target);
                    match from {
                        Some(src) if !is_url(src) => {
                            let local = Path::new(src).join(&rel);
                            std::fs::copy(&local, &part).map_err(|e| format!("{}: {e}", local.display()))?;
                        }
                        Some(base) => {
                            download::download(&format!("{}/{}", base.trim_end_matches('/'), f.path), &part, timeouts)?;
                        }
                        None => {
                            download::download(&f.url, &part, timeouts)?;
                        }
                    }
                    if let Err(e) = checksum::verify(&part, &check) {
                        let _ = std::fs::remove_file(&part);
                        return Err(format!("{e}; the download was removed"));
                    }
                    std::fs::rename(&part, &target).map_err(|e| e.to_string())?;
                }
                std::fs::rename(&tmp, &dest).map_err(|e| format!("{}: {e}", dest.display()))?;
                Ok(dest)
            }
        }
    }
}

fn part_of(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".part");
    PathBuf::from(s)
}

fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

#[cfg(test)]
mod tests;
