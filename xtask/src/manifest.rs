//! Dataset manifests (`datasets/manifests/*.toml`): where a data set or model comes from, how to
//! check it, how it unpacks, its licence and citation, and which task reads it.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// How a download is checked before anything is unpacked.
#[derive(Clone, Debug, PartialEq)]
pub enum Check {
    /// fastai's `download_checks.py`: the size and the MD5 of the first MiB.
    FastaiMd5FirstMib { size: u64, md5: String },
    /// The MD5 of the whole file, and its size.
    Md5 { size: u64, md5: String },
    /// The SHA-256 of the whole file, and its size.
    Sha256 { size: u64, sha256: String },
}

/// How the download is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Archive {
    /// A gzipped tar.
    Tgz,
    /// A zip.
    Zip,
    /// Plain files.
    None,
}

/// One file of a data set that is not an archive.
#[derive(Clone, Debug, Deserialize)]
pub struct FileEntry {
    /// Where it goes inside the data set's folder.
    pub path: String,
    /// Where it comes from.
    pub url: String,
    /// Its size.
    pub size: u64,
    /// Its SHA-256.
    pub sha256: String,
}

#[derive(Deserialize)]
struct Raw {
    name: String,
    #[serde(default)]
    fastai: Option<String>,
    description: String,
    task: String,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    size: Option<u64>,
    #[serde(default)]
    md5_first_mib: Option<String>,
    #[serde(default)]
    md5: Option<String>,
    #[serde(default)]
    sha256: Option<String>,
    archive: Archive,
    unpacks_to: String,
    #[serde(default)]
    reads: Option<String>,
    licence: String,
    citation: String,
    #[serde(default)]
    files: Vec<FileEntry>,
}

/// A parsed manifest.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// The name `cargo xtask fetch NAME` takes.
    pub name: String,
    /// fastai's `URLs` constant, if it has one.
    pub fastai: Option<String>,
    /// What it is.
    pub description: String,
    /// Which task crate reads it.
    pub task: String,
    /// The archive's URL and check (archives), or the files (plain files).
    pub source: Source,
    /// The folder it unpacks to, inside the data cache.
    pub unpacks_to: String,
    /// What the task reads inside it.
    pub reads: Option<String>,
    /// Licence.
    pub licence: String,
    /// Citation.
    pub citation: String,
}

/// Where the bytes come from.
#[derive(Clone, Debug)]
pub enum Source {
    /// One archive.
    Archive { url: String, check: Check, kind: Archive },
    /// Several plain files.
    Files(Vec<FileEntry>),
}

impl Manifest {
    /// Parses one manifest; `origin` names it in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<Self, String> {
        let raw: Raw = toml::from_str(text).map_err(|e| format!("{}: {e}", origin.display()))?;
        let bad = |r: &str| format!("{}: {r}", origin.display());
        let source = match raw.archive {
            Archive::None => {
                if raw.files.is_empty() {
                    return Err(bad("archive = \"none\" needs [[files]]"));
                }
                Source::Files(raw.files)
            }
            kind => {
                let url = raw.url.ok_or_else(|| bad("an archive needs a url"))?;
                let size = raw.size.ok_or_else(|| bad("an archive needs its size"))?;
                let check = match (raw.md5_first_mib, raw.md5, raw.sha256) {
                    (Some(md5), None, None) => Check::FastaiMd5FirstMib { size, md5 },
                    (None, Some(md5), None) => Check::Md5 { size, md5 },
                    (None, None, Some(sha256)) => Check::Sha256 { size, sha256 },
                    _ => return Err(bad("give exactly one of md5_first_mib, md5, sha256")),
                };
                Source::Archive { url, check, kind }
            }
        };
        if raw.unpacks_to.contains("..") || Path::new(&raw.unpacks_to).is_absolute() {
            return Err(bad("unpacks_to must be a plain folder name"));
        }
        Ok(Self {
            name: raw.name,
            fastai: raw.fastai,
            description: raw.description,
            task: raw.task,
            source,
            unpacks_to: raw.unpacks_to,
            reads: raw.reads,
            licence: raw.licence,
            citation: raw.citation,
        })
    }

    /// Every manifest in `dir`, sorted by name.
    pub fn load_all(dir: &Path) -> Result<Vec<Self>, String> {
        let mut out = Vec::new();
        let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for e in entries.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "toml") {
                let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
                out.push(Self::parse(&text, &p)?);
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The manifest called `name` (or with fastai's constant `name`).
    pub fn find(dir: &Path, name: &str) -> Result<Self, String> {
        let all = Self::load_all(dir)?;
        let names: Vec<String> = all.iter().map(|m| m.name.clone()).collect();
        all.into_iter()
            .find(|m| m.name.eq_ignore_ascii_case(name) || m.fastai.as_deref().is_some_and(|f| f.eq_ignore_ascii_case(name)))
            .ok_or_else(|| format!("no data set '{name}'; there are: {}", names.join(", ")))
    }
}

/// The repository's manifests folder.
pub fn manifests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../datasets/manifests")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_committed_manifest_parses() {
        let all = Manifest::load_all(&manifests_dir()).unwrap();
        let fastai: Vec<&str> = all.iter().filter_map(|m| m.fastai.as_deref()).collect();
        for want in ["PETS", "CAMVID_TINY", "ADULT_SAMPLE", "ML_SAMPLE", "ML_100k", "IMDB", "IMDB_SAMPLE", "MNIST_SAMPLE"] {
            assert!(fastai.contains(&want), "{want} missing");
        }
        assert!(Manifest::find(&manifests_dir(), "adult_sample").is_ok());
        assert!(Manifest::find(&manifests_dir(), "ADULT_SAMPLE").is_ok());
        assert!(Manifest::find(&manifests_dir(), "nope").unwrap_err().contains("adult_sample"));
    }

    #[test]
    fn rejects_ambiguous_checks_and_escaping_folders() {
        let base = "name='x'\ndescription='d'\ntask='t'\nurl='u'\nsize=1\narchive='tgz'\nlicence='l'\ncitation='c'\n";
        assert!(Manifest::parse(&format!("{base}unpacks_to='x'\nmd5='a'\nsha256='b'\n"), Path::new("m")).unwrap_err().contains("exactly one"));
        assert!(Manifest::parse(&format!("{base}unpacks_to='../x'\nmd5='a'\n"), Path::new("m")).unwrap_err().contains("plain folder"));
    }
}
