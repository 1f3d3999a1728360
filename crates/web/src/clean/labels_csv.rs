//! The labels-CSV layout: images anywhere below a root folder, labelled by a CSV of `file,label`
//! rows, as kindling-vision reads it (`--labels-csv`, fastai's `ImageDataLoaders.from_csv`): a
//! header row, the file (relative to the root) in the first column and its label in the second,
//! any other columns carried along. The cleaner never changes such a CSV and never moves the
//! images: its decisions are written as a new CSV beside the old one, where a relabelled row
//! gets its new label and a deleted row is left out.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use kindling_core::{Error, Result};

use crate::clean::error::FileFault;
use crate::clean::log::{Action, Edit};
use crate::rank::{ALL, FolderItem};

/// What a labels CSV is called after the cleaner edits it: `STEM.cleaned-STAMP.csv`.
const CLEANED: &str = ".cleaned-";

/// A labels CSV, read whole: its header and rows as they are, and where each file is named.
#[derive(Clone, Debug)]
pub struct LabelsCsv {
    /// The file it was read from.
    pub path: PathBuf,
    headers: csv::StringRecord,
    rows: Vec<csv::StringRecord>,
    /// The index in `rows` of each file, by its name as the CSV writes it (trimmed).
    by_file: HashMap<String, usize>,
}

/// The line of the CSV that row `i` is on (line 1 is the header).
fn line(i: usize) -> usize {
    i + 2
}

impl LabelsCsv {
    /// Reads and checks `path`: a header, then rows of at least two fields (as many as the
    /// header: a ragged row is an error), a file and a label that are not empty, no file named
    /// twice. Every fault names the file and its line.
    pub fn read(path: &Path) -> Result<Self> {
        let mut reader = csv::Reader::from_path(path).map_err(|e| Error::bad_file(path, e.to_string()))?;
        let headers = reader.headers().map_err(|e| Error::bad_file(path, format!("line 1 (the header): {e}")))?.clone();
        if headers.len() < 2 {
            return Err(Error::bad_file(path, format!("line 1 (the header): {} column(s); expected file,label", headers.len())));
        }
        let mut rows = Vec::new();
        let mut by_file = HashMap::new();
        for (i, record) in reader.records().enumerate() {
            let r = record.map_err(|e| Error::bad_file(path, format!("line {}: {e}", line(i))))?;
            let (Some(file), Some(label)) = (r.get(0).map(str::trim), r.get(1).map(str::trim)) else {
                return Err(Error::bad_file(path, format!("line {}: expected file,label", line(i))));
            };
            if file.is_empty() {
                return Err(Error::bad_file(path, format!("line {}: the file is empty", line(i))));
            }
            if label.is_empty() {
                return Err(Error::bad_file(path, format!("line {}: the label of {file} is empty", line(i))));
            }
            if let Some(&j) = by_file.get(file) {
                return Err(Error::bad_file(path, format!("line {}: {file} is named already on line {}; the cleaner edits one row per image", line(i), line(j))));
            }
            by_file.insert(file.to_string(), rows.len());
            rows.push(r);
        }
        if rows.is_empty() {
            return Err(Error::bad_file(path, "no rows below the header"));
        }
        Ok(Self { path: path.to_path_buf(), headers, rows, by_file })
    }

    /// The number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether it has no rows (never, for a CSV that [`read`](Self::read) accepted).
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn file(&self, i: usize) -> &str {
        self.rows[i].get(0).unwrap_or_default().trim()
    }

    fn label(&self, i: usize) -> &str {
        self.rows[i].get(1).unwrap_or_default().trim()
    }

    /// The label of `file` and its line, when the CSV names it.
    pub fn label_of(&self, file: &str) -> Option<(&str, usize)> {
        self.by_file.get(file).map(|&i| (self.label(i), line(i)))
    }

    /// The images to rank, in the CSV's order: each row's file below `root` (it must be a file),
    /// its label, and its split as kindling-vision splits a CSV's files: `train` or `valid`
    /// when the folder above the file's folder is so named, else [`ALL`].
    pub fn items(&self, root: &Path) -> Result<Vec<FolderItem>> {
        (0..self.rows.len())
            .map(|i| {
                let (file, label) = (self.file(i), self.label(i));
                let full = root.join(file);
                if !full.is_file() {
                    return Err(Error::bad_file(&self.path, format!("line {}: {} is not a file", line(i), full.display())));
                }
                let split = full.parent().and_then(Path::parent).and_then(Path::file_name).map(|n| n.to_string_lossy().into_owned());
                let split = split.filter(|s| s == "train" || s == "valid").unwrap_or_else(|| ALL.into());
                Ok(FolderItem { file: file.to_string(), label: label.to_string(), split })
            })
            .collect()
    }

    /// Checks every label against a model's classes, naming the first row whose label is not one.
    pub fn check_classes(&self, classes: &[String]) -> Result<()> {
        match (0..self.rows.len()).find(|&i| !classes.iter().any(|c| c == self.label(i))) {
            Some(i) => Err(Error::bad_file(
                &self.path,
                format!("line {}: the label '{}' of {} is not one of the model's classes [{}]", line(i), self.label(i), self.file(i), classes.join(", ")),
            )),
            None => Ok(()),
        }
    }

    /// The CSV with `edits` made: a relabelled row gets its new label, a deleted row is left
    /// out, every other row (and the header) is written as it was read, other columns included.
    /// An edit of a file the CSV does not name, whose label in the CSV is not the edit's old
    /// label, or whose new label is empty or the old one, is a fault; all of them are returned.
    pub fn edited(&self, edits: &[Edit]) -> std::result::Result<Vec<u8>, Vec<FileFault>> {
        let mut faults = Vec::new();
        let mut change: HashMap<usize, Option<&str>> = HashMap::new();
        let mut seen = HashSet::new();
        for e in edits {
            let fault = |reason: String| FileFault { file: e.file.clone(), reason };
            let Some(&i) = self.by_file.get(e.file.as_str()) else {
                faults.push(fault(format!("is not a row of {}", self.path.display())));
                continue;
            };
            if !seen.insert(i) {
                faults.push(fault("named by more than one edit".into()));
                continue;
            }
            if self.label(i) != e.old_label {
                faults.push(fault(format!("{} line {} labels it '{}', not '{}'", self.path.display(), line(i), self.label(i), e.old_label)));
                continue;
            }
            match e.action {
                Action::Keep => {}
                Action::Delete => {
                    change.insert(i, None);
                }
                Action::Relabel => match e.new_label.as_deref() {
                    None => faults.push(fault("a relabel needs new_label".into())),
                    Some(n) if n.trim().is_empty() || n.trim() != n => faults.push(fault(format!("the new label '{n}' is empty or has spaces around it"))),
                    Some(n) if n == e.old_label => faults.push(fault(format!("the new label '{n}' is the old one"))),
                    Some(n) => {
                        change.insert(i, Some(n));
                    }
                },
            }
        }
        if !faults.is_empty() {
            return Err(faults);
        }
        let mut w = csv::Writer::from_writer(Vec::new());
        let written = (|| {
            w.write_record(&self.headers)?;
            for (i, r) in self.rows.iter().enumerate() {
                match change.get(&i) {
                    None => w.write_record(r)?,
                    Some(None) => {}
                    Some(Some(new)) => w.write_record(r.iter().enumerate().map(|(k, f)| if k == 1 { *new } else { f }))?,
                }
            }
            w.flush()
        })();
        match written.map_err(|e| e.to_string()).and_then(|()| w.into_inner().map_err(|e| e.to_string())) {
            Ok(bytes) => Ok(bytes),
            Err(e) => Err(vec![FileFault { file: self.path.display().to_string(), reason: format!("the new CSV cannot be written: {e}") }]),
        }
    }
}

/// A free path for the CSV that edits of `csv` are written to: `STEM.cleaned-<created>.csv`
/// beside it, with `-1`, `-2` … added when that exists. The stem loses an earlier
/// `.cleaned-…` suffix, so a CSV edited twice is `STEM.cleaned-<later>.csv`, not a longer name.
pub fn new_csv_path(csv: &Path, created: &str) -> PathBuf {
    let stem = csv.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = stem.find(CLEANED).map_or(stem.as_str(), |k| &stem[..k]).to_string();
    let ext = csv.extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_else(|| "csv".into());
    let mut path = csv.with_file_name(format!("{stem}{CLEANED}{created}.{ext}"));
    let mut n = 1;
    while path.symlink_metadata().is_ok() {
        path = csv.with_file_name(format!("{stem}{CLEANED}{created}-{n}.{ext}"));
        n += 1;
    }
    path
}
