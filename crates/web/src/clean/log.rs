//! The cleaner's edit log: every decision made on the page (or in a replayed log), where each
//! file went, and what state the log is in. It is the record that `--undo` reads back, so it
//! is written before anything moves and again after.

use std::path::{Path, PathBuf};

use kindling_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// The `format` field of every edit log.
pub const LOG_FORMAT: &str = "kindling-cleaning";
/// The version of the log's layout.
pub const LOG_VERSION: u32 = 1;
/// The folder under the image folder that holds logs and the trash.
pub const KINDLING_DIR: &str = ".kindling";

/// What to do with one file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Leave it where it is.
    Keep,
    /// Move it into `DIR/.kindling/trash/`, keeping its path below `DIR`.
    Delete,
    /// Move it into the folder of another class.
    Relabel,
}

/// One decision about one file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Edit {
    /// The file, relative to the image folder, with `/` separators.
    pub file: String,
    /// Its label when the decision was made (its parent folder's name).
    pub old_label: String,
    /// The decision.
    pub action: Action,
    /// The class it moves to (`relabel` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_label: Option<String>,
    /// Its loss under the model the page ranked it with, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<f32>,
    /// Where the file went, relative to the image folder (set when the edit is planned; `None`
    /// for `keep`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

impl Edit {
    /// A decision, before it is planned.
    pub fn new(file: impl Into<String>, old_label: impl Into<String>, action: Action, new_label: Option<String>, loss: Option<f32>) -> Self {
        Self { file: file.into(), old_label: old_label.into(), action, new_label, loss, to: None }
    }
}

/// Where a log stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LogStatus {
    /// Written, moves under way (a log left in this state was interrupted).
    Applying,
    /// Every move done.
    Applied,
    /// A move failed and the moves already done were put back.
    RolledBack,
    /// Undone by `clean --undo`: every file is back where it was.
    Undone,
}

/// One cleaning session's log: `DIR/.kindling/cleaning-YYYYmmdd-HHMMSS.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EditLog {
    /// Always [`LOG_FORMAT`].
    pub format: String,
    /// Always [`LOG_VERSION`] for this layout.
    pub version: u32,
    /// When it was made, UTC, `YYYYmmdd-HHMMSS`.
    pub created: String,
    /// The image folder the paths are relative to, as it was given.
    pub images: PathBuf,
    /// The model file that ranked the images, when there was one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<PathBuf>,
    /// SHA-256 of that model file, in hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_sha256: Option<String>,
    /// The log this one replays (`clean --apply`), when it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_of: Option<PathBuf>,
    /// Where the log stands.
    pub status: LogStatus,
    /// For the labels-CSV layout, the CSV edited and the new one written (`None`: the images
    /// are labelled by class folders, and the edits move files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv: Option<CsvEdit>,
    /// The decisions, in the order they are carried out.
    pub edits: Vec<Edit>,
}

/// What a log of the labels-CSV layout did: no image moves; the decisions are written as a new
/// CSV beside the one they were made on, which is never changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CsvEdit {
    /// The labels CSV the decisions were made on (an absolute path).
    pub source: PathBuf,
    /// The new CSV, beside it (an absolute path): relabelled rows with their new labels,
    /// deleted rows left out.
    pub written: PathBuf,
    /// Where `clean --undo` moved the new CSV, relative to the image folder (inside
    /// `.kindling/trash/`), once undone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trashed: Option<String>,
}

/// The model a log's decisions were made with: its path and its SHA-256.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelStamp {
    /// The model file.
    pub path: Option<PathBuf>,
    /// SHA-256 of its bytes, in hex.
    pub sha256: Option<String>,
}

impl ModelStamp {
    /// The stamp of `path`, hashing the file.
    pub fn of(path: &Path) -> Result<Self> {
        Ok(Self { path: Some(path.to_path_buf()), sha256: Some(kindling_core::hash::sha256_file(path)?) })
    }
}

impl EditLog {
    /// A new log of `edits` over `images`, created now.
    pub fn new(images: &Path, model: &ModelStamp, edits: Vec<Edit>) -> Self {
        Self {
            format: LOG_FORMAT.into(),
            version: LOG_VERSION,
            created: kindling_core::stamp::utc_stamp(std::time::SystemTime::now()),
            images: images.to_path_buf(),
            model: model.path.clone(),
            model_sha256: model.sha256.clone(),
            replay_of: None,
            status: LogStatus::Applying,
            csv: None,
            edits,
        }
    }

    /// Reads and checks a log file: the format, the version and every path in it.
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let log: EditLog = serde_json::from_str(&text).map_err(|e| Error::bad_file(path, format!("not a cleaning log: {e}")))?;
        if log.format != LOG_FORMAT || log.version != LOG_VERSION {
            return Err(Error::bad_file(path, format!("format '{}' version {} is not {LOG_FORMAT} version {LOG_VERSION}", log.format, log.version)));
        }
        // A labels CSV may name its files as it likes (they are never moved); a folder log's
        // files, and every destination, must stay below the image folder.
        let folder = log.csv.is_none();
        for e in &log.edits {
            for p in std::iter::once(&e.file).filter(|_| folder).chain(&e.to) {
                crate::clean::paths::relative(p).map_err(|why| Error::bad_file(path, format!("edit of '{}': {why}", e.file)))?;
            }
        }
        if let Some(t) = log.csv.as_ref().and_then(|c| c.trashed.as_ref()) {
            crate::clean::paths::relative(t).map_err(|why| Error::bad_file(path, format!("csv.trashed: {why}")))?;
        }
        Ok(log)
    }

    /// Writes the log to `path` atomically.
    pub fn write(&self, path: &Path) -> Result<()> {
        kindling_core::io::write_json_atomic(path, self)
    }
}

/// A free path for a new log in `images`: `.kindling/cleaning-<created>.json`, with `-1`, `-2`
/// … added when a log of the same second exists.
pub fn new_log_path(images: &Path, created: &str) -> PathBuf {
    let dir = images.join(KINDLING_DIR);
    let mut path = dir.join(format!("cleaning-{created}.json"));
    let mut n = 1;
    while path.exists() {
        path = dir.join(format!("cleaning-{created}-{n}.json"));
        n += 1;
    }
    path
}
