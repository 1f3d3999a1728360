//! Carrying out decisions: plan every destination and check every file first, write the log,
//! move, write the log again. `undo` moves every file back; `replay` plans an old log's
//! decisions anew on the folder as it is now. For the labels-CSV layout ([`apply_csv`]) nothing
//! moves: the decisions become a new CSV beside the old one, and `undo` moves that new CSV into
//! the trash.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::clean::error::{CleanError, FileFault};
use crate::clean::labels_csv::{LabelsCsv, new_csv_path};
use crate::clean::log::{Action, CsvEdit, Edit, EditLog, LogStatus, ModelStamp, new_log_path};
use crate::clean::moves::{Move, move_all, move_no_replace};
use crate::clean::paths::{TRASH, free_name, relative, slash, wanted_destination};

/// A log carried out.
#[derive(Clone, Debug, PartialEq)]
pub struct Applied {
    /// Where the log was written.
    pub log_path: PathBuf,
    /// The log, as written.
    pub log: EditLog,
}

impl Applied {
    /// How many files were moved (relabelled or deleted).
    pub fn moved(&self) -> usize {
        self.log.edits.iter().filter(|e| e.to.is_some()).count()
    }

    /// How many decisions changed something (relabel or delete): the files moved, or for the
    /// labels-CSV layout the rows changed or left out of the new CSV.
    pub fn changed(&self) -> usize {
        self.log.edits.iter().filter(|e| e.action != Action::Keep).count()
    }

    /// The new CSV written, for the labels-CSV layout.
    pub fn new_csv(&self) -> Option<&Path> {
        self.log.csv.as_ref().map(|c| c.written.as_path())
    }
}

/// Each edit's destination (`to`), checked against the folder and against each other: a file
/// that is missing, named twice, or cannot go where its action sends it is a fault.
fn plan(images: &Path, mut edits: Vec<Edit>) -> Result<Vec<Edit>, Vec<FileFault>> {
    let mut faults = Vec::new();
    let mut claimed: HashSet<PathBuf> = HashSet::new();
    let mut seen: HashSet<String> = HashSet::new();
    for e in &mut edits {
        let fault = |reason: String| FileFault { file: e.file.clone(), reason };
        if !seen.insert(e.file.clone()) {
            faults.push(fault("named by more than one edit".into()));
            continue;
        }
        let want = match wanted_destination(e) {
            Ok(w) => w,
            Err(why) => {
                faults.push(fault(why));
                continue;
            }
        };
        match images.join(&e.file).symlink_metadata() {
            Ok(m) if m.is_file() => {}
            Ok(_) => {
                faults.push(fault("not a plain file".into()));
                continue;
            }
            Err(err) => {
                faults.push(fault(format!("cannot be read: {err}")));
                continue;
            }
        }
        e.to = want.map(|w| {
            let to = free_name(images, &w, &claimed);
            claimed.insert(to.clone());
            slash(&to)
        });
    }
    if faults.is_empty() { Ok(edits) } else { Err(faults) }
}

/// The moves of a log, forwards (`back` false) or backwards.
fn moves_of(images: &Path, edits: &[Edit], back: bool) -> Vec<Move> {
    let mut moves: Vec<Move> = edits
        .iter()
        .filter_map(|e| {
            let (file, to) = (images.join(&e.file), images.join(e.to.as_ref()?));
            Some(if back { Move { from: to, to: file } } else { Move { from: file, to } })
        })
        .collect();
    if back {
        moves.reverse();
    }
    moves
}

/// Moves `moves`; on failure marks the log rolled back (or leaves it as is when some files
/// could not be put back) and says which file failed.
fn carry_out(images: &Path, log_path: &Path, log: &mut EditLog, moves: &[Move], done: LogStatus) -> Result<(), CleanError> {
    let rel = |p: &Path| slash(p.strip_prefix(images).unwrap_or(p));
    if let Err(f) = move_all(moves) {
        let fault = FileFault { file: rel(&f.failed.0.from), reason: format!("cannot be moved to {}: {}", rel(&f.failed.0.to), f.failed.1) };
        let not_restored: Vec<FileFault> = f.not_restored.iter().map(|(m, e)| FileFault { file: rel(&m.to), reason: format!("could not be put back at {}: {e}", rel(&m.from)) }).collect();
        if not_restored.is_empty() && log.status == LogStatus::Applying {
            log.status = LogStatus::RolledBack;
            log.write(log_path)?;
        }
        return Err(CleanError::Failed { log: log_path.to_path_buf(), fault, not_restored });
    }
    log.status = done;
    log.write(log_path)?;
    Ok(())
}

/// Plans `edits` on `images`, writes the log (`.kindling/cleaning-<now>.json`) and carries it
/// out. Nothing moves when any edit is at fault; a move that fails part way puts the others
/// back. Keep decisions are logged and move nothing.
pub fn apply(images: &Path, model: &ModelStamp, edits: Vec<Edit>) -> Result<Applied, CleanError> {
    apply_log(images, EditLog::new(images, model, edits))
}

fn apply_log(images: &Path, mut log: EditLog) -> Result<Applied, CleanError> {
    log.edits = plan(images, std::mem::take(&mut log.edits)).map_err(|faults| CleanError::Refused { faults })?;
    let log_path = new_log_path(images, &log.created);
    log.status = LogStatus::Applying;
    log.write(&log_path)?;
    let moves = moves_of(images, &log.edits, false);
    carry_out(images, &log_path, &mut log, &moves, LogStatus::Applied)?;
    Ok(Applied { log_path, log })
}

/// Writes the decisions about the images below `images` labelled by `labels_csv` as a new CSV
/// beside it ([`new_csv_path`]: `STEM.cleaned-<now>.csv`, never an existing file): relabelled
/// rows get their new labels, deleted rows are left out, every other row is kept as it was. The
/// images are not moved and `labels_csv` is not changed. The log
/// (`images/.kindling/cleaning-<now>.json`) names both CSVs. Nothing is written when any edit
/// is at fault (a file the CSV does not name, a label that is not the CSV's).
pub fn apply_csv(images: &Path, labels_csv: &Path, model: &ModelStamp, edits: Vec<Edit>) -> Result<Applied, CleanError> {
    apply_csv_log(images, labels_csv, EditLog::new(images, model, edits))
}

fn apply_csv_log(images: &Path, labels_csv: &Path, mut log: EditLog) -> Result<Applied, CleanError> {
    let source = std::path::absolute(labels_csv).map_err(|e| kindling_core::Error::io(labels_csv, e))?;
    let table = LabelsCsv::read(&source)?;
    let bytes = table.edited(&log.edits).map_err(|faults| CleanError::Refused { faults })?;
    let written = new_csv_path(&source, &log.created);
    log.csv = Some(CsvEdit { source, written: written.clone(), trashed: None });
    let log_path = new_log_path(images, &log.created);
    log.status = LogStatus::Applying;
    log.write(&log_path)?;
    if let Err(e) = write_new(&written, &bytes) {
        log.status = LogStatus::RolledBack;
        log.write(&log_path)?;
        let fault = FileFault { file: written.display().to_string(), reason: format!("cannot be written: {e}") };
        return Err(CleanError::Failed { log: log_path, fault, not_restored: Vec::new() });
    }
    log.status = LogStatus::Applied;
    log.write(&log_path)?;
    Ok(Applied { log_path, log })
}

/// Writes `bytes` to `path` atomically ([`kindling_core::io::write_atomic`] to a staging name
/// beside it, then a rename that never replaces a file), failing rather than replacing a file
/// that appeared at `path` meanwhile. The staging file, the cleaner's own, is removed when the
/// rename fails.
fn write_new(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let staged = path.with_file_name(format!(".{name}.staged-{}", std::process::id()));
    kindling_core::io::write_atomic(&staged, bytes).map_err(|e| e.to_string())?;
    move_no_replace(&staged, path).map_err(|e| {
        let _ = std::fs::remove_file(&staged);
        e.to_string()
    })
}

/// Replays the decisions of the log at `log_path` on `images` as it is now (for scripts):
/// destinations are planned anew, and a new log, naming the old one, is written. A labels-CSV
/// log is replayed on the CSV it was made on, as that CSV is now (see [`replay_onto`]).
pub fn replay(images: &Path, log_path: &Path) -> Result<Applied, CleanError> {
    replay_onto(images, log_path, None)
}

/// [`replay`], with the labels CSV a labels-CSV log's decisions are written from given
/// (`labels_csv`; by default the CSV the log was made on). A folder log with a CSV is refused.
pub fn replay_onto(images: &Path, log_path: &Path, labels_csv: Option<&Path>) -> Result<Applied, CleanError> {
    let old = EditLog::read(log_path)?;
    let stamp = ModelStamp { path: old.model.clone(), sha256: old.model_sha256.clone() };
    let edits = old.edits.iter().map(|e| Edit { to: None, ..e.clone() }).collect();
    let mut log = EditLog::new(images, &stamp, edits);
    log.replay_of = Some(log_path.to_path_buf());
    match (&old.csv, labels_csv) {
        (None, None) => apply_log(images, log),
        (None, Some(csv)) => Err(CleanError::Log(kindling_core::Error::bad_file(
            log_path,
            format!("its edits move files between class folders; it cannot be replayed on the labels CSV {}", csv.display()),
        ))),
        (Some(c), csv) => apply_csv_log(images, csv.unwrap_or(&c.source), log),
    }
}

/// Puts every file of an applied log back where it was, and marks the log undone. Nothing moves
/// when any file is not where the log put it, or its old place is taken.
pub fn undo(images: &Path, log_path: &Path) -> Result<EditLog, CleanError> {
    let mut log = EditLog::read(log_path)?;
    if log.status != LogStatus::Applied {
        let why = match log.status {
            LogStatus::Undone => "it was undone already",
            LogStatus::RolledBack => "it was rolled back when applied: nothing of it is in place",
            _ => "it was interrupted while being applied; move its files by hand",
        };
        return Err(CleanError::Log(kindling_core::Error::bad_file(log_path, format!("cannot undo: {why}"))));
    }
    if log.csv.is_some() {
        return undo_csv(images, log_path, log);
    }
    let mut faults = Vec::new();
    for e in log.edits.iter().filter(|e| e.action != Action::Keep) {
        let Some(to) = &e.to else {
            faults.push(FileFault { file: e.file.clone(), reason: "the log does not say where it went".into() });
            continue;
        };
        if relative(to).is_err() || !images.join(to).is_file() {
            faults.push(FileFault { file: e.file.clone(), reason: format!("is no longer at {to}") });
        } else if images.join(&e.file).symlink_metadata().is_ok() {
            faults.push(FileFault { file: e.file.clone(), reason: "its old place is taken by another file".into() });
        }
    }
    if !faults.is_empty() {
        return Err(CleanError::Refused { faults });
    }
    let moves = moves_of(images, &log.edits, true);
    carry_out(images, log_path, &mut log, &moves, LogStatus::Undone)?;
    Ok(log)
}

/// Undoes a labels-CSV log: the new CSV it wrote moves into `images/.kindling/trash/` (a name
/// clash there gets a suffix), and the log, marked undone, records where. The old CSV and the
/// images were never changed.
fn undo_csv(images: &Path, log_path: &Path, mut log: EditLog) -> Result<EditLog, CleanError> {
    let Some(c) = log.csv.as_mut() else { return Ok(log) };
    let shown = c.written.display().to_string();
    if !c.written.is_file() {
        return Err(CleanError::Refused { faults: vec![FileFault { file: shown, reason: "is no longer there".into() }] });
    }
    let name = c.written.file_name().map(Path::new).unwrap_or(Path::new("cleaned.csv"));
    let to = free_name(images, &Path::new(TRASH).join(name), &HashSet::new());
    move_no_replace(&c.written, &images.join(&to))
        .map_err(|e| CleanError::Refused { faults: vec![FileFault { file: shown, reason: format!("cannot be moved to {}: {e}", images.join(&to).display()) }] })?;
    c.trashed = Some(slash(&to));
    log.status = LogStatus::Undone;
    log.write(log_path)?;
    Ok(log)
}
