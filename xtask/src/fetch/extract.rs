//! Unpacking archives safely and atomically: every entry must stay inside the target (no `..`,
//! no absolute path, no link pointing out), everything is written into a temporary folder next
//! to the target, and only a complete unpack is renamed into place.

use std::fs;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use crate::manifest::Archive;

/// The relative path an entry may be written to, or why it may not.
pub fn safe_relative(name: &str) -> Result<PathBuf, String> {
    let p = Path::new(name);
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(s) => out.push(s),
            Component::CurDir => {}
            Component::ParentDir => return Err(format!("entry '{name}' climbs out of the target with '..'")),
            Component::RootDir | Component::Prefix(_) => return Err(format!("entry '{name}' is an absolute path")),
        }
    }
    Ok(out)
}

/// Whether a link at `entry` (relative) pointing to `target` stays inside the archive's root.
fn link_stays_inside(entry: &Path, target: &Path) -> bool {
    if target.is_absolute() {
        return false;
    }
    let mut depth: i64 = entry.parent().map_or(0, |p| p.components().count() as i64);
    for c in target.components() {
        match c {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            _ => return false,
        }
        if depth < 0 {
            return false;
        }
    }
    true
}

/// Unpacks `archive` so that its contents end up in `dest` (which must not exist yet). On any
/// refused entry or error, nothing is left behind.
pub fn extract(archive: &Path, kind: Archive, dest: &Path) -> Result<(), String> {
    let parent = dest.parent().ok_or("no parent folder")?;
    fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    let name = dest.file_name().ok_or("no folder name")?.to_string_lossy().to_string();
    let tmp = parent.join(format!(".{name}.partial-{}", std::process::id()));
    let _ = fs::remove_dir_all(&tmp);
    fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let result = match kind {
        Archive::Tgz => untar(archive, &tmp),
        Archive::Zip => unzip(archive, &tmp),
        Archive::None => Err("not an archive".to_string()),
    };
    if let Err(e) = result {
        let _ = fs::remove_dir_all(&tmp);
        return Err(format!("{}: {e}", archive.display()));
    }
    // Archives usually hold one folder named like the data set: that folder becomes `dest`.
    let entries: Vec<_> = fs::read_dir(&tmp).map_err(|e| e.to_string())?.flatten().collect();
    let source = if entries.len() == 1 && entries[0].path().is_dir() && entries[0].file_name().to_string_lossy() == name { entries[0].path() } else { tmp.clone() };
    fs::rename(&source, dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    let _ = fs::remove_dir_all(&tmp);
    Ok(())
}

fn untar(archive: &Path, into: &Path) -> Result<(), String> {
    let f = fs::File::open(archive).map_err(|e| e.to_string())?;
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(f));
    for entry in ar.entries().map_err(|e| e.to_string())? {
        let mut entry = entry.map_err(|e| format!("corrupt archive: {e}"))?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).to_string();
        let rel = safe_relative(&raw)?;
        let kind = entry.header().entry_type();
        let out = into.join(&rel);
        if kind.is_symlink() || kind.is_hard_link() {
            let target = entry.link_name().map_err(|e| e.to_string())?.ok_or_else(|| format!("link '{raw}' has no target"))?.to_path_buf();
            let ok = if kind.is_hard_link() { safe_relative(&target.to_string_lossy()).is_ok() } else { link_stays_inside(&rel, &target) };
            if !ok {
                return Err(format!("link '{raw}' points outside the target ({})", target.display()));
            }
        }
        if let Some(p) = out.parent() {
            fs::create_dir_all(p).map_err(|e| e.to_string())?;
        }
        if kind.is_dir() {
            fs::create_dir_all(&out).map_err(|e| e.to_string())?;
        } else if kind.is_symlink() {
            let target = entry.link_name().map_err(|e| e.to_string())?.expect("checked above").to_path_buf();
            #[cfg(unix)]
            std::os::unix::fs::symlink(&target, &out).map_err(|e| e.to_string())?;
        } else if kind.is_hard_link() {
            let target = into.join(safe_relative(&entry.link_name().map_err(|e| e.to_string())?.expect("checked").to_string_lossy())?);
            fs::hard_link(&target, &out).map_err(|e| e.to_string())?;
        } else if kind.is_file() {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(|e| format!("corrupt entry '{raw}': {e}"))?;
            fs::write(&out, bytes).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

fn unzip(archive: &Path, into: &Path) -> Result<(), String> {
    let f = fs::File::open(archive).map_err(|e| e.to_string())?;
    let mut z = zip::ZipArchive::new(f).map_err(|e| format!("corrupt archive: {e}"))?;
    for i in 0..z.len() {
        let mut file = z.by_index(i).map_err(|e| format!("corrupt archive: {e}"))?;
        let raw = file.name().to_string();
        let rel = safe_relative(&raw)?;
        if file.is_symlink() {
            return Err(format!("entry '{raw}' is a link; zip links are refused"));
        }
        let out = into.join(&rel);
        if file.is_dir() {
            fs::create_dir_all(&out).map_err(|e| e.to_string())?;
            continue;
        }
        if let Some(p) = out.parent() {
            fs::create_dir_all(p).map_err(|e| e.to_string())?;
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(|e| format!("corrupt entry '{raw}': {e}"))?;
        fs::write(&out, bytes).map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_links() {
        assert_eq!(safe_relative("a/./b").unwrap(), PathBuf::from("a/b"));
        assert!(safe_relative("../x").is_err());
        assert!(safe_relative("a/../../x").is_err());
        assert!(safe_relative("/etc/passwd").is_err());
        assert!(link_stays_inside(Path::new("a/b/link"), Path::new("../c")));
        assert!(!link_stays_inside(Path::new("a/link"), Path::new("../../etc")));
        assert!(!link_stays_inside(Path::new("link"), Path::new("/etc/passwd")));
    }
}
