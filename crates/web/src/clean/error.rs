//! How applying or undoing a log fails: by file, and saying whether anything moved.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// What is wrong with one file of a log.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FileFault {
    /// The file, as the log names it.
    pub file: String,
    /// What is wrong.
    pub reason: String,
}

/// A log that could not be carried out.
#[derive(Debug)]
pub enum CleanError {
    /// Checked before any move: nothing was moved.
    Refused {
        /// What the check found, by file.
        faults: Vec<FileFault>,
    },
    /// A move failed part way; the moves done before it were put back, except `not_restored`.
    Failed {
        /// The log, marked rolled back.
        log: PathBuf,
        /// The move that failed.
        fault: FileFault,
        /// Moves that could not be put back (empty when the folder is as it was).
        not_restored: Vec<FileFault>,
    },
    /// Reading or writing the log itself failed, or the log cannot be used.
    Log(kindling_core::Error),
}

impl fmt::Display for CleanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |f: &mut fmt::Formatter<'_>, faults: &[FileFault]| faults.iter().try_for_each(|x| write!(f, "\n  {}: {}", x.file, x.reason));
        match self {
            CleanError::Refused { faults } => {
                write!(f, "{} edit(s) cannot be applied, so nothing was moved:", faults.len())?;
                list(f, faults)
            }
            CleanError::Failed { log, fault, not_restored } => {
                write!(f, "{}: {}; ", fault.file, fault.reason)?;
                if not_restored.is_empty() {
                    write!(f, "the files moved before it were put back (log {} marked rolled-back)", log.display())
                } else {
                    write!(f, "these files could not be put back (see {}):", log.display())?;
                    list(f, not_restored)
                }
            }
            CleanError::Log(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for CleanError {}

impl From<kindling_core::Error> for CleanError {
    fn from(e: kindling_core::Error) -> Self {
        CleanError::Log(e)
    }
}
