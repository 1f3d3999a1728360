//! Where labelled images come from: a folder tree labelled by parent folder, file names
//! labelled by a regex (the pets layout), a CSV of `file,label`, or MNIST idx files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use kindling_core::data::idx::IdxImages;
use kindling_core::{Error, Result};

/// Image file extensions found when scanning folders.
pub const EXTENSIONS: [&str; 7] = ["jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff"];

/// Where an item's pixels are.
#[derive(Clone, Debug)]
pub enum Source {
    /// An image file.
    File(PathBuf),
    /// Image `i` of an idx file already in memory.
    Idx(Arc<IdxImages>, usize),
}

impl Source {
    /// A name for messages and reports.
    pub fn name(&self) -> String {
        match self {
            Source::File(p) => p.display().to_string(),
            Source::Idx(_, i) => format!("idx image {i}"),
        }
    }
}

/// One labelled item.
#[derive(Clone, Debug)]
pub struct Labelled {
    /// The pixels.
    pub source: Source,
    /// The class name.
    pub label: String,
}

/// Labelled items and their sorted class names.
#[derive(Clone, Debug)]
pub struct LabelledItems {
    /// The items, in a stable order (sorted by path for files).
    pub items: Vec<Labelled>,
    /// Class names, sorted.
    pub classes: Vec<String>,
}

impl LabelledItems {
    fn new(items: Vec<Labelled>, origin: &Path) -> Result<Self> {
        if items.is_empty() {
            return Err(Error::Data(format!("{}: no images found ({})", origin.display(), EXTENSIONS.join(", "))));
        }
        let classes: Vec<String> = items.iter().map(|i| i.label.clone()).collect::<BTreeSet<_>>().into_iter().collect();
        if classes.len() < 2 {
            return Err(Error::Data(format!("{}: every image has the label '{}': a classifier needs at least two classes", origin.display(), classes[0])));
        }
        Ok(Self { items, classes })
    }

    /// The class index of item `i`.
    pub fn class_of(&self, i: usize) -> usize {
        self.classes.iter().position(|c| *c == self.items[i].label).expect("labels come from the items")
    }

    /// The same items with the classes renamed, in their order (idx files number their classes;
    /// `names` gives them words). The class indices do not change.
    ///
    /// ```
    /// # let dir = std::env::temp_dir();
    /// # let img = |i: u8| kindling_vision::data::Labelled { source: kindling_vision::data::sources::Source::File(dir.join(format!("{i}.png"))), label: i.to_string() };
    /// let items = kindling_vision::data::LabelledItems { items: vec![img(0), img(1)], classes: vec!["0".into(), "1".into()] };
    /// let named = items.rename_classes(&["cat".into(), "dog".into()]).unwrap();
    /// assert_eq!((named.class_of(1), named.items[1].label.as_str()), (1, "dog"));
    /// ```
    pub fn rename_classes(self, names: &[String]) -> Result<Self> {
        if names.len() != self.classes.len() {
            return Err(Error::invalid("class names", format!("{} names for {} classes ({})", names.len(), self.classes.len(), self.classes.join(", "))));
        }
        let names: Vec<String> = names.iter().map(|n| n.trim().to_string()).collect();
        if names.iter().collect::<BTreeSet<_>>().len() != names.len() {
            return Err(Error::invalid("class names", format!("the names repeat: {}", names.join(", "))));
        }
        let items = (0..self.items.len()).map(|i| Labelled { source: self.items[i].source.clone(), label: names[self.class_of(i)].clone() }).collect();
        Ok(Self { items, classes: names })
    }

    /// Files under `dir` (recursively), labelled by their parent folder's name (fastai's
    /// `parent_label`). A class folder with no image is an error that names it.
    pub fn from_folder(dir: &Path) -> Result<Self> {
        let files = image_files(dir)?;
        let mut empty = Vec::new();
        for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?.flatten() {
            if e.path().is_dir() && !is_hidden(&e.path()) && image_files(&e.path())?.is_empty() {
                empty.push(e.file_name().to_string_lossy().to_string());
            }
        }
        if !empty.is_empty() {
            empty.sort();
            return Err(Error::Data(format!("{}: these class folders hold no image: {}", dir.display(), empty.join(", "))));
        }
        if !files.is_empty() && files.iter().all(|f| f.parent() == Some(dir)) {
            return Err(Error::Data(format!(
                "{}: the images lie directly in this folder, with no class folders to label them: put each class's images in a folder of its own ({}/cat/…, {}/dog/…), label them by file name with --label-regex, or list `file,label` in a --labels-csv (to classify unlabelled images with a trained model, use `predict --model FILE {}`)",
                dir.display(),
                dir.display(),
                dir.display(),
                dir.display()
            )));
        }
        let items = files
            .into_iter()
            .map(|f| {
                let label = f.parent().and_then(Path::file_name).map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
                Labelled { source: Source::File(f), label }
            })
            .collect();
        Self::new(items, dir)
    }

    /// Files under `dir` labelled by the first capture group of `pattern` on their file name, as
    /// fastai's `RegexLabeller` (pets: `^(.+)_\d+\.jpg$`). A file it does not match is an error.
    pub fn from_regex(dir: &Path, pattern: &str) -> Result<Self> {
        let re = regex::Regex::new(pattern).map_err(|e| Error::invalid("--label-regex", e.to_string()))?;
        let mut items = Vec::new();
        for f in image_files(dir)? {
            let name = f.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            let label = re
                .captures(&name)
                .and_then(|c| c.get(1))
                .ok_or_else(|| Error::Data(format!("{}: the file name does not match {pattern} (or it has no capture group)", f.display())))?;
            items.push(Labelled { source: Source::File(f.clone()), label: label.as_str().to_string() });
        }
        Self::new(items, dir)
    }

    /// A CSV with a header and the columns `file` (relative to `root`) and `label`, in that order.
    pub fn from_csv(csv_path: &Path, root: &Path) -> Result<Self> {
        let mut reader = csv::Reader::from_path(csv_path).map_err(|e| Error::bad_file(csv_path, e.to_string()))?;
        let mut items = Vec::new();
        for (k, record) in reader.records().enumerate() {
            let r = record.map_err(|e| Error::bad_file(csv_path, format!("line {}: {e}", k + 2)))?;
            let (Some(file), Some(label)) = (r.get(0), r.get(1)) else {
                return Err(Error::bad_file(csv_path, format!("line {}: expected file,label", k + 2)));
            };
            let label = label.trim();
            if label.is_empty() {
                return Err(Error::bad_file(csv_path, format!("line {}: the label of {file} is empty", k + 2)));
            }
            items.push(Labelled { source: Source::File(root.join(file.trim())), label: label.to_string() });
        }
        Self::new(items, csv_path)
    }

    /// MNIST-style idx files; labels are the digits' names.
    pub fn from_mnist(images: &Path, labels: &Path) -> Result<Self> {
        let d = Arc::new(IdxImages::read(images, labels)?);
        let items = (0..d.len()).map(|i| Labelled { source: Source::Idx(d.clone(), i), label: d.labels[i].to_string() }).collect();
        Self::new(items, images)
    }
}

/// Whether `path`'s name starts with `.`: a hidden folder (`.kindling` with the cleaner's
/// logs and trash, `.git`, `.ipynb_checkpoints`) that holds no training images.
pub fn is_hidden(path: &Path) -> bool {
    path.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'))
}

/// Image files under `dir`, recursively, sorted. Folders below `dir` whose names start with
/// `.` are skipped (see [`is_hidden`]): after `kindling-web clean`, `dir/.kindling/trash`
/// holds the deleted images, which must not be trained on.
pub fn image_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).map_err(|e| Error::io(&d, e))?.flatten() {
            let p = e.path();
            if p.is_dir() {
                if !is_hidden(&p) {
                    stack.push(p);
                }
            } else if p.extension().and_then(|x| x.to_str()).is_some_and(|x| EXTENSIONS.contains(&x.to_ascii_lowercase().as_str())) {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        image::GrayImage::new(2, 2).save(path).unwrap();
    }

    #[test]
    fn the_walk_skips_hidden_folders() {
        let dir = std::env::temp_dir().join(format!("kindling-vision-hidden-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for f in ["train/3/a.png", "train/7/b.png", ".kindling/trash/train/3/c.png", "train/3/.cache/d.png"] {
            write(&dir.join(f));
        }
        let files: Vec<String> = image_files(&dir).unwrap().iter().map(|f| f.strip_prefix(&dir).unwrap().to_string_lossy().replace('\\', "/")).collect();
        assert_eq!(files, ["train/3/a.png", "train/7/b.png"]);
        // A hidden folder is not a class folder, nor an empty one.
        let items = LabelledItems::from_folder(&dir.join("train")).unwrap();
        assert_eq!(items.classes, ["3", "7"]);
        let items = LabelledItems::from_folder(&dir).unwrap();
        assert_eq!(items.items.len(), 2, "the trash is not trained on");
        // The folder walked may itself be hidden.
        assert_eq!(image_files(&dir.join(".kindling")).unwrap().len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
