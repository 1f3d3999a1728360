//! Where images and their masks come from: fastai's CamVid layout (`images/NAME.png`,
//! `labels/NAME_P.png`, `codes.txt`, `valid.txt`) or the common same-stem layout (a folder of
//! images and a folder of masks named after them, with an optional suffix), and the split.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use kindling_core::data::{SplitKind, Splits};
use kindling_core::data::split::{FuncSplitter, RandomSplitter, Splitter};
use kindling_core::{Error, Result};
use kindling_vision::data::sources::{EXTENSIONS, image_files};

/// One image and its mask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SegItem {
    /// The image file.
    pub image: PathBuf,
    /// The mask file.
    pub mask: PathBuf,
}

impl SegItem {
    /// The image's file name (the key `valid.txt` lists and split records hash).
    pub fn name(&self) -> String {
        self.image.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default()
    }
}

/// Where the masks of a folder of images are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MaskLayout {
    /// The folder of images (searched recursively).
    pub images: PathBuf,
    /// The folder of masks (with the images' sub-folders mirrored).
    pub masks: PathBuf,
    /// Added to an image's stem to name its mask (`_P` for CamVid, empty for same-stem).
    pub suffix: String,
}

impl MaskLayout {
    /// fastai's CamVid layout under `path`: `path/images`, `path/labels`, suffix `_P`.
    pub fn camvid(path: &Path) -> Self {
        Self { images: path.join("images"), masks: path.join("labels"), suffix: "_P".into() }
    }

    /// The files the mask of `image` may be: `STEM{suffix}` with the image's own extension
    /// first (CamVid's `NAME_P.png` for `NAME.png`), then `.png`, then the other image
    /// extensions.
    pub fn mask_candidates(&self, image: &Path) -> Vec<PathBuf> {
        let rel_dir = image.parent().and_then(|p| p.strip_prefix(&self.images).ok()).unwrap_or(Path::new(""));
        let stem = image.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
        let own = image.extension().map(|e| e.to_string_lossy().to_string());
        let mut exts: Vec<String> = own.into_iter().collect();
        for e in std::iter::once("png").chain(EXTENSIONS) {
            if !exts.iter().any(|x| x.eq_ignore_ascii_case(e)) {
                exts.push(e.to_string());
            }
        }
        exts.iter().map(|e| self.masks.join(rel_dir).join(format!("{stem}{}.{e}", self.suffix))).collect()
    }

    /// Every image under `images` paired with its mask. Images without a mask are an error
    /// that lists them (all of them, up to 30) and says which name was looked for.
    pub fn items(&self) -> Result<Vec<SegItem>> {
        if !self.images.is_dir() {
            return Err(Error::invalid("--images", format!("{} is not a folder", self.images.display())));
        }
        if !self.masks.is_dir() {
            return Err(Error::invalid("--masks", format!("{} is not a folder", self.masks.display())));
        }
        let images = image_files(&self.images)?;
        if images.is_empty() {
            return Err(Error::Data(format!("{}: no images found ({})", self.images.display(), EXTENSIONS.join(", "))));
        }
        let (mut items, mut missing) = (Vec::new(), Vec::new());
        for image in images {
            let candidates = self.mask_candidates(&image);
            match candidates.iter().find(|p| p.is_file()) {
                Some(mask) => items.push(SegItem { image, mask: mask.clone() }),
                None => missing.push(format!("{} (no {})", image.display(), candidates[0].display())),
            }
        }
        if !missing.is_empty() {
            let n = missing.len();
            missing.truncate(30);
            return Err(Error::Data(format!(
                "{n} of {} images have no mask in {} (mask suffix '{}'; set --mask-suffix for another naming):\n  {}{}",
                n + items.len(),
                self.masks.display(),
                self.suffix,
                missing.join("\n  "),
                if n > 30 { format!("\n  … and {} more", n - 30) } else { String::new() }
            )));
        }
        Ok(items)
    }
}

/// How the validation items are chosen.
#[derive(Clone, Debug, PartialEq)]
pub enum SplitChoice {
    /// The images named in this file (one name a line, fastai's CamVid `valid.txt`).
    ValidList(PathBuf),
    /// A seeded random share.
    Random {
        /// Share of items to validate on.
        valid_pct: f64,
        /// Seed.
        seed: u64,
    },
    /// By the folder each image is in (its parent, fastai's `ParentSplitter` idea for images
    /// without class folders): `train/` trains, `valid/` validates, `test/` is held out; an
    /// image in any other folder is an error naming it.
    Folders,
    /// Images whose file name contains this text validate, the others train (fastai's
    /// `FuncSplitter` on the name, e.g. a camera, a patient or a slide id).
    NameContains(String),
}

impl SplitChoice {
    /// The split of `items`, and what made it in words (for the model file's split record).
    /// Every name in a validation list must be one of the images: a name that is not is an
    /// error that lists it.
    pub fn split(&self, items: &[SegItem]) -> Result<(Splits, String)> {
        match self {
            SplitChoice::Random { valid_pct, seed } => Ok((RandomSplitter::new(*valid_pct, *seed).split(&items.len())?, format!("random, valid_pct {valid_pct}"))),
            SplitChoice::Folders => {
                let folder = |it: &SegItem| it.image.parent().and_then(Path::file_name).map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
                if let Some(it) = items.iter().find(|it| !["train", "valid", "test"].contains(&folder(it).as_str())) {
                    return Err(Error::bad_file(&it.image, format!("its folder '{}' is not train, valid or test: with a split by folders, every image is in one of these", folder(it))));
                }
                let kind = |it: &SegItem| match folder(it).as_str() {
                    "valid" => SplitKind::Valid,
                    "test" => SplitKind::Test,
                    _ => SplitKind::Train,
                };
                Ok((FuncSplitter::new(kind).split(items)?, "folders train/valid/test".into()))
            }
            SplitChoice::NameContains(text) => {
                let kind = |it: &SegItem| if it.name().contains(text.as_str()) { SplitKind::Valid } else { SplitKind::Train };
                Ok((FuncSplitter::new(kind).split(items)?, format!("names containing '{text}' validate")))
            }
            SplitChoice::ValidList(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
                let names: BTreeSet<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
                let mut by_name: BTreeMap<String, Vec<usize>> = BTreeMap::new();
                for (i, it) in items.iter().enumerate() {
                    by_name.entry(it.name()).or_default().push(i);
                }
                let unknown: Vec<&str> = names.iter().copied().filter(|n| !by_name.contains_key(*n)).collect();
                if !unknown.is_empty() {
                    let shown: Vec<&str> = unknown.iter().take(10).copied().collect();
                    return Err(Error::bad_file(
                        path,
                        format!("{} listed name(s) are not among the images: {}{}", unknown.len(), shown.join(", "), if unknown.len() > 10 { ", …" } else { "" }),
                    ));
                }
                let (mut train, mut valid) = (Vec::new(), Vec::new());
                for (i, it) in items.iter().enumerate() {
                    if names.contains(it.name().as_str()) { valid.push(i) } else { train.push(i) }
                }
                let what = format!("valid list {}", path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default());
                Ok((Splits::new(items.len(), train, valid, vec![], true).map_err(|e| Error::bad_file(path, e.to_string()))?, what))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(p: &Path) {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b"x").unwrap();
    }

    #[test]
    fn camvid_and_same_stem_layouts_pair_images_with_masks() {
        let d = std::env::temp_dir().join(format!("kindling-seg-sources-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        touch(&d.join("images/a.png"));
        touch(&d.join("images/b.png"));
        touch(&d.join("labels/a_P.png"));
        touch(&d.join("labels/b_P.png"));
        let items = MaskLayout::camvid(&d).items().unwrap();
        assert_eq!(items[1], SegItem { image: d.join("images/b.png"), mask: d.join("labels/b_P.png") });
        // Same stem: a JPEG image and a PNG mask.
        touch(&d.join("imgs/x.jpg"));
        touch(&d.join("masks/x.png"));
        touch(&d.join("imgs/y.jpg"));
        let layout = MaskLayout { images: d.join("imgs"), masks: d.join("masks"), suffix: String::new() };
        let err = layout.items().unwrap_err().to_string();
        assert!(err.starts_with("1 of 2 images have no mask") && err.contains("y.jpg") && err.contains("masks/y.jpg"), "{err}");
        touch(&d.join("masks/y.png"));
        assert_eq!(layout.items().unwrap()[1].mask, d.join("masks/y.png"));

        std::fs::write(d.join("valid.txt"), "b.png\n").unwrap();
        let (s, what) = SplitChoice::ValidList(d.join("valid.txt")).split(&items).unwrap();
        assert_eq!((s.train.clone(), s.valid.clone(), what.as_str()), (vec![0], vec![1], "valid list valid.txt"));
        std::fs::write(d.join("valid.txt"), "b.png\nzzz.png\n").unwrap();
        let err = SplitChoice::ValidList(d.join("valid.txt")).split(&items).unwrap_err().to_string();
        assert!(err.contains("valid.txt") && err.contains("zzz.png"), "{err}");
        let (s, _) = SplitChoice::NameContains("b".into()).split(&items).unwrap();
        assert_eq!((s.train.clone(), s.valid.clone()), (vec![0], vec![1]));
        std::fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn split_by_folders() {
        let d = std::env::temp_dir().join(format!("kindling-seg-folders-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        for f in ["train/a", "train/b", "valid/c", "test/d"] {
            touch(&d.join(format!("images/{f}.png")));
            touch(&d.join(format!("labels/{f}_P.png")));
        }
        let items = MaskLayout::camvid(&d).items().unwrap();
        let (s, what) = SplitChoice::Folders.split(&items).unwrap();
        let names = |ix: &[usize]| ix.iter().map(|&i| items[i].name()).collect::<Vec<_>>();
        assert_eq!((names(&s.train), names(&s.valid), names(s.held_out_test())), (vec!["a.png".to_string(), "b.png".into()], vec!["c.png".to_string()], vec!["d.png".to_string()]));
        assert_eq!(what, "folders train/valid/test");
        touch(&d.join("images/extra/e.png"));
        touch(&d.join("labels/extra/e_P.png"));
        let items = MaskLayout::camvid(&d).items().unwrap();
        let err = SplitChoice::Folders.split(&items).unwrap_err().to_string();
        assert!(err.contains("e.png") && err.contains("'extra'"), "{err}");
        std::fs::remove_dir_all(d).unwrap();
    }
}
