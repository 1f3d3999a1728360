//! Moving a file without ever replacing another, and a list of moves that is carried out
//! whole or put back.

use std::io;
use std::path::{Path, PathBuf};

/// Renames `from` to `to`, failing with `AlreadyExists` rather than replacing a file at `to`.
/// On Linux this is one `renameat2(RENAME_NOREPLACE)` call, so no other process can slip a file
/// in between the check and the move; where the filesystem lacks it, and elsewhere, the check
/// comes just before a plain rename. A move across filesystems fails (`EXDEV`): the file is
/// never copied and unlinked.
pub fn move_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir)?;
    }
    #[cfg(target_os = "linux")]
    {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a path holds a NUL byte"));
        let (f, t) = (c(from)?, c(to)?);
        // SAFETY: both are valid NUL-terminated strings that outlive the call.
        let r = unsafe { libc::renameat2(libc::AT_FDCWD, f.as_ptr(), libc::AT_FDCWD, t.as_ptr(), libc::RENAME_NOREPLACE) };
        if r == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if !matches!(e.raw_os_error(), Some(libc::EINVAL) | Some(libc::ENOSYS)) {
            return Err(e);
        }
    }
    if to.symlink_metadata().is_ok() {
        return Err(io::Error::new(io::ErrorKind::AlreadyExists, format!("{} exists", to.display())));
    }
    std::fs::rename(from, to)
}

/// One move, as absolute paths.
#[derive(Clone, Debug, PartialEq)]
pub struct Move {
    /// Where the file is.
    pub from: PathBuf,
    /// Where it goes.
    pub to: PathBuf,
}

/// A list of moves that could not be carried out whole.
#[derive(Debug)]
pub struct MovesFailed {
    /// The move that failed, and why.
    pub failed: (Move, io::Error),
    /// Moves done before it that could not be put back, and why (empty when all were).
    pub not_restored: Vec<(Move, io::Error)>,
}

/// Carries out `moves` in order; when one fails, the moves already done are put back in
/// reverse order, so the folder is as it was (as far as the filesystem lets us).
pub fn move_all(moves: &[Move]) -> Result<(), MovesFailed> {
    for (i, m) in moves.iter().enumerate() {
        if let Err(e) = move_no_replace(&m.from, &m.to) {
            let not_restored = moves[..i]
                .iter()
                .rev()
                .filter_map(|done| move_no_replace(&done.to, &done.from).err().map(|e| (done.clone(), e)))
                .collect();
            return Err(MovesFailed { failed: (m.clone(), e), not_restored });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("kindling-web-moves-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn never_replaces_a_file() {
        let d = tmp("noreplace");
        std::fs::write(d.join("a"), b"a").unwrap();
        std::fs::write(d.join("b"), b"b").unwrap();
        let e = move_no_replace(&d.join("a"), &d.join("b")).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read(d.join("b")).unwrap(), b"b");
        move_no_replace(&d.join("a"), &d.join("sub/c")).unwrap();
        assert_eq!(std::fs::read(d.join("sub/c")).unwrap(), b"a");
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn a_failed_move_puts_the_earlier_ones_back() {
        let d = tmp("rollback");
        std::fs::write(d.join("a"), b"a").unwrap();
        std::fs::write(d.join("b"), b"b").unwrap();
        std::fs::write(d.join("taken"), b"t").unwrap();
        let moves = vec![Move { from: d.join("a"), to: d.join("x/a") }, Move { from: d.join("b"), to: d.join("taken") }];
        let err = move_all(&moves).unwrap_err();
        assert_eq!(err.failed.0.from, d.join("b"));
        assert!(err.not_restored.is_empty());
        assert_eq!(std::fs::read(d.join("a")).unwrap(), b"a");
        assert!(!d.join("x/a").exists());
        assert_eq!(std::fs::read(d.join("taken")).unwrap(), b"t");
        std::fs::remove_dir_all(d).unwrap();
    }
}
