//! Carrying out decisions: plan every destination and check every file first, write the log,
//! move, write the log again. `undo` moves every file back; `replay` plans an old log's
//! decisions anew on the folder as it is now.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::clean::error::{CleanError, FileFault};
use crate::clean::log::{Action, Edit, EditLog, LogStatus, ModelStamp, new_log_path};
use crate::clean::moves::{Move, move_all};
use crate::clean::paths::{free_name, relative, slash, wanted_destination};

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

/// Replays the decisions of the log at `log_path` on `images` as it is now (for scripts):
/// destinations are planned anew, and a new log, naming the old one, is written.
pub fn replay(images: &Path, log_path: &Path) -> Result<Applied, CleanError> {
    let old = EditLog::read(log_path)?;
    let stamp = ModelStamp { path: old.model.clone(), sha256: old.model_sha256.clone() };
    let edits = old.edits.iter().map(|e| Edit { to: None, ..e.clone() }).collect();
    let mut log = EditLog::new(images, &stamp, edits);
    log.replay_of = Some(log_path.to_path_buf());
    apply_log(images, log)
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
