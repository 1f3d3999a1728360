//! The paths an edit names: relative to the image folder, never leaving it, never inside
//! `.kindling` (except a destination in its trash), and where a relabel or delete sends them.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use crate::clean::log::{Action, Edit, KINDLING_DIR};

/// The trash folder, relative to the image folder.
pub const TRASH: &str = ".kindling/trash";

/// `rel` as a path below the image folder, or why it is not one (absolute, `..`, empty).
pub fn relative(rel: &str) -> Result<PathBuf, String> {
    let p = Path::new(rel);
    if rel.is_empty() {
        return Err("the path is empty".into());
    }
    for c in p.components() {
        match c {
            Component::Normal(_) => {}
            _ => return Err(format!("'{rel}' is not a plain path below the image folder")),
        }
    }
    Ok(p.to_path_buf())
}

/// Whether `rel` lies inside `.kindling` (logs and trash: not images to clean).
pub fn in_kindling_dir(rel: &Path) -> bool {
    rel.components().next().is_some_and(|c| c.as_os_str() == KINDLING_DIR)
}

/// `rel` written with `/` separators, as logs and the page name files.
pub fn slash(rel: &Path) -> String {
    rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// Whether `label` can be a class folder's name.
pub fn valid_label(label: &str) -> Result<(), String> {
    if label.is_empty() || label.starts_with('.') || label.contains(['/', '\\', '\0']) {
        return Err(format!("'{label}' cannot be a class folder's name"));
    }
    Ok(())
}

/// Where `edit` would put its file, before any name clash is settled (`None` for keep).
pub fn wanted_destination(edit: &Edit) -> Result<Option<PathBuf>, String> {
    let file = relative(&edit.file)?;
    if in_kindling_dir(&file) {
        return Err(format!("'{}' is inside {KINDLING_DIR}, not an image to clean", edit.file));
    }
    match edit.action {
        Action::Keep => Ok(None),
        Action::Delete => Ok(Some(Path::new(TRASH).join(&file))),
        Action::Relabel => {
            let new = edit.new_label.as_deref().ok_or("a relabel needs new_label")?;
            valid_label(new)?;
            if new == edit.old_label {
                return Err(format!("the new label '{new}' is the old one"));
            }
            let parent = file.parent().filter(|p| !p.as_os_str().is_empty()).ok_or("the file is not in a class folder")?;
            if parent.file_name().is_none_or(|n| n.to_string_lossy() != edit.old_label) {
                return Err(format!("its folder is '{}', not its label '{}'", parent.display(), edit.old_label));
            }
            let name = file.file_name().ok_or("the path names no file")?;
            Ok(Some(parent.with_file_name(new).join(name)))
        }
    }
}

/// The first of `want`, `stem-1.ext`, `stem-2.ext` … that is neither on disk below `root` nor
/// already `claimed` by another edit of the same apply.
pub fn free_name(root: &Path, want: &Path, claimed: &HashSet<PathBuf>) -> PathBuf {
    let taken = |p: &Path| claimed.contains(p) || root.join(p).symlink_metadata().is_ok();
    if !taken(want) {
        return want.to_path_buf();
    }
    let stem = want.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let ext = want.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
    (1..)
        .map(|n| want.with_file_name(format!("{stem}-{n}{ext}")))
        .find(|p| !taken(p))
        .expect("an unbounded range always has a free name")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_stay_below_the_folder() {
        assert!(relative("train/cat/a.png").is_ok());
        for bad in ["", "/etc/passwd", "../x.png", "train/../../x.png", "./a.png"] {
            assert!(relative(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn destinations_of_relabel_and_delete() {
        let e = Edit::new("train/cat/a.png", "cat", Action::Relabel, Some("dog".into()), None);
        assert_eq!(wanted_destination(&e).unwrap(), Some(PathBuf::from("train/dog/a.png")));
        let e = Edit::new("train/cat/a.png", "cat", Action::Delete, None, None);
        assert_eq!(wanted_destination(&e).unwrap(), Some(PathBuf::from(".kindling/trash/train/cat/a.png")));
        let e = Edit::new("train/cat/a.png", "dog", Action::Relabel, Some("bird".into()), None);
        assert!(wanted_destination(&e).unwrap_err().contains("not its label"));
        let e = Edit::new("train/cat/a.png", "cat", Action::Relabel, Some("../x".into()), None);
        assert!(wanted_destination(&e).is_err());
        let e = Edit::new(".kindling/trash/cat/a.png", "cat", Action::Delete, None, None);
        assert!(wanted_destination(&e).unwrap_err().contains(".kindling"));
    }

    #[test]
    fn clashing_names_get_a_suffix() {
        let root = std::env::temp_dir().join(format!("kindling-web-free-{}", std::process::id()));
        std::fs::create_dir_all(root.join("dog")).unwrap();
        std::fs::write(root.join("dog/a.png"), b"x").unwrap();
        let mut claimed = HashSet::new();
        claimed.insert(PathBuf::from("dog/a-1.png"));
        assert_eq!(free_name(&root, Path::new("dog/a.png"), &claimed), PathBuf::from("dog/a-2.png"));
        assert_eq!(free_name(&root, Path::new("dog/b.png"), &claimed), PathBuf::from("dog/b.png"));
        std::fs::remove_dir_all(root).unwrap();
    }
}
