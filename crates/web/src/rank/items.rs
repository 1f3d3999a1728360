//! The images of a folder as the cleaner sees them: every image file below it (hidden folders,
//! `.kindling` among them, left out by kindling-vision's walk), labelled by its parent folder,
//! in the split its grandparent folder names.

use std::path::Path;

use kindling_core::Result;
use kindling_vision::data::sources::image_files;

use crate::clean::paths::slash;

/// The split of an image outside `train/` and `valid/` folders.
pub const ALL: &str = "all";

/// One image of the folder (or of a labels CSV, see [`crate::clean::LabelsCsv::items`]).
#[derive(Clone, Debug, PartialEq)]
pub struct FolderItem {
    /// Its path below the folder, `/`-separated (for a labels CSV: as the CSV names it).
    pub file: String,
    /// Its parent folder's name (for a labels CSV: its label there).
    pub label: String,
    /// `train` or `valid` when its grandparent folder is so named, else [`ALL`].
    pub split: String,
}

/// The images below `dir`, sorted by path. kindling-vision's `image_files` skips hidden folders,
/// so `dir/.kindling` (the cleaner's logs and trash) is never ranked, as it is never trained on.
pub fn folder_items(dir: &Path) -> Result<Vec<FolderItem>> {
    Ok(image_files(dir)?
        .into_iter()
        .filter_map(|f| {
            let rel = f.strip_prefix(dir).ok()?.to_path_buf();
            let name = |p: Option<&Path>| p.and_then(Path::file_name).map(|n| n.to_string_lossy().into_owned());
            let label = name(rel.parent()).unwrap_or_default();
            let split = name(rel.parent().and_then(Path::parent)).filter(|s| s == "train" || s == "valid").unwrap_or_else(|| ALL.into());
            Some(FolderItem { file: slash(&rel), label, split })
        })
        .filter(|i| !i.label.is_empty())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_trash_and_other_hidden_folders_are_not_items() {
        let dir = std::env::temp_dir().join(format!("kindling-web-items-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for f in ["train/3/a.png", "valid/7/b.png", "extra/c.png", "loose.png", ".kindling/trash/train/3/d.png", "train/.cache/e.png"] {
            let p = dir.join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, b"").unwrap();
        }
        let items = folder_items(&dir).unwrap();
        let got: Vec<(&str, &str, &str)> = items.iter().map(|i| (i.file.as_str(), i.label.as_str(), i.split.as_str())).collect();
        assert_eq!(got, [("extra/c.png", "extra", ALL), ("train/3/a.png", "3", "train"), ("valid/7/b.png", "7", "valid")]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
