//! From the data flags to loaders: the items, their split (and the record of it the model file
//! keeps), the preprocessing, and `data.json`, the run folder's note of where the data came
//! from, which `interpret` reads so that nothing has to be repeated.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use kindling_core::data::Splits;
use kindling_core::data::augment::AugTransforms;
use kindling_core::data::split::{GrandparentSplitter, RandomSplitter, Splitter};
use kindling_core::export::SplitRecord;
use kindling_core::{Error, Result};
use serde::{Deserialize, Serialize};

use super::args::{DataArgs, PrepArgs, SourceArgs, SplitArgs};
use crate::check::MAX_SIZE;
use crate::data::Normalize;
use crate::data::check::check_images;
use crate::data::dataset::{Preprocessing, VisionData, load};
use crate::data::decode::DecodeOptions;
use crate::data::resize::ResizeMethod;
use crate::data::sources::{LabelledItems, Source};

/// `--valid-pct` when not given.
pub const VALID_PCT: f64 = 0.2;

/// The run folder's note of the data a model was trained on.
pub const RUN_DATA: &str = "data.json";

/// How a split was made, in the flags that made it: written into the model file's
/// [`SplitRecord`] as its method (`random, --valid-pct 0.2, --limit-valid 32`), and read back
/// by `interpret` to rebuild the same split.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SplitFlags {
    /// `Some` for a random split.
    pub valid_pct: Option<f64>,
    /// `--limit-train`.
    pub limit_train: Option<usize>,
    /// `--limit-valid`.
    pub limit_valid: Option<usize>,
}

impl SplitFlags {
    /// The record's method: the splitter (`random`, or `base` for a fixed one), then the flags.
    fn method(&self, base: &str) -> String {
        let mut m = match self.valid_pct {
            Some(p) => format!("random, --valid-pct {p}"),
            None => base.to_string(),
        };
        if let Some(n) = self.limit_train {
            m += &format!(", --limit-train {n}");
        }
        if let Some(n) = self.limit_valid {
            m += &format!(", --limit-valid {n}");
        }
        m
    }

    /// The flags written by [`SplitFlags::method`].
    pub fn parse(method: &str) -> Self {
        let flag = |name: &str| method.split(", ").find_map(|part| part.strip_prefix(name).map(str::trim));
        Self {
            valid_pct: flag("--valid-pct ").and_then(|v| v.parse().ok()),
            limit_train: flag("--limit-train ").and_then(|v| v.parse().ok()),
            limit_valid: flag("--limit-valid ").and_then(|v| v.parse().ok()),
        }
    }
}

/// What `train` notes in its run folder (`data.json`) about its data: the source with absolute
/// paths, the resizing, the split flags, the augmentation and the seed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunData {
    /// Where the images came from.
    pub source: SourceArgs,
    /// How they were resized.
    pub prep: PrepArgs,
    /// How they were split.
    pub split: SplitArgs,
    /// The augmentation of training images (`None` for `--no-aug`).
    pub augment: Option<AugTransforms>,
    /// The seed.
    pub seed: u64,
}

impl RunData {
    /// The note in `dir`, if there is one; a file that cannot be read is an error naming it.
    pub fn read(dir: &Path) -> Result<Option<Self>> {
        let path = dir.join(RUN_DATA);
        if !path.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
        serde_json::from_str(&text).map(Some).map_err(|e| Error::bad_file(&path, format!("not a kindling-vision data note: {e}")))
    }

    /// Writes the note into `dir`.
    pub fn write(&self, dir: &Path) -> Result<()> {
        kindling_core::io::write_json_atomic(dir.join(RUN_DATA), self)
    }
}

/// FNV-1a, 64 bits: a stable fingerprint of an idx image's pixels for the split record.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// The folder every file is under (the data's root), so that keys survive moving the data.
fn common_root(files: &[&Path]) -> PathBuf {
    let Some(first) = files.first() else { return PathBuf::new() };
    let mut root: Vec<_> = first.parent().map(|p| p.components().collect()).unwrap_or_default();
    for f in &files[1..] {
        let n = root.iter().zip(f.components()).take_while(|(a, b)| **a == *b).count();
        root.truncate(n);
    }
    root.into_iter().collect()
}

/// The record of `splits` over `items`: keys are the files' paths below the data's root with
/// their labels, or an idx image's index, label and a fingerprint of its pixels.
fn split_record(method: &str, seed: u64, items: &LabelledItems, splits: &Splits) -> SplitRecord {
    let files: Vec<&Path> = items.items.iter().filter_map(|i| if let Source::File(p) = &i.source { Some(p.as_path()) } else { None }).collect();
    let root = common_root(&files);
    SplitRecord::new(method, seed, splits, |i| {
        let item = &items.items[i];
        match &item.source {
            Source::File(p) => format!("{}\t{}", p.strip_prefix(&root).unwrap_or(p).display(), item.label),
            Source::Idx(d, k) => format!("{k}\t{}\t{:016x}", item.label, fnv1a(d.image(*k))),
        }
    })
}

/// The first `n` of `v` (all of them for `None`).
fn cap(v: &[usize], n: Option<usize>) -> Vec<usize> {
    v[..n.unwrap_or(v.len()).min(v.len())].to_vec()
}

impl SplitArgs {
    /// The split's flags as given (`--valid-pct` only when the split is random).
    fn flags(&self, random: bool) -> SplitFlags {
        SplitFlags { valid_pct: random.then(|| self.valid_pct.unwrap_or(VALID_PCT)), limit_train: self.limit_train, limit_valid: self.limit_valid }
    }

    /// `--valid-pct` given for a split that is not random is refused, naming the split.
    fn no_valid_pct(&self, why: &str) -> Result<()> {
        match self.valid_pct {
            Some(_) => Err(Error::invalid("--valid-pct", format!("{why}; --valid-pct applies to a random split only"))),
            None => Ok(()),
        }
    }

    /// The train and valid indices capped by --limit-train and --limit-valid, checked.
    fn limited(&self, n: usize, train: &[usize], valid: &[usize]) -> Result<Splits> {
        let (train, valid) = (cap(train, self.limit_train), cap(valid, self.limit_valid));
        if valid.is_empty() {
            let why = match (self.limit_valid, self.valid_pct) {
                (Some(0), _) => "--limit-valid 0".to_string(),
                (_, Some(p)) => format!("--valid-pct {p} of {n} items"),
                _ => format!("no validation items among {n}"),
            };
            return Err(Error::Data(format!("the validation set is empty ({why}): a model needs images to be measured on")));
        }
        if train.is_empty() {
            let why = if self.limit_train == Some(0) { "--limit-train 0".to_string() } else { format!("no training items among {n}") };
            return Err(Error::Data(format!("the training set is empty ({why})")));
        }
        Splits::new(n, train, valid, vec![], true)
    }

    /// idx files: `train-*` to train on and `t10k-*` to validate (MNIST's layout), or one
    /// `images-idx3-ubyte.gz` / `labels-idx1-ubyte.gz` pair split at random.
    fn idx_items(&self, dir: &Path, seed: u64) -> Result<(LabelledItems, Splits, String)> {
        if !dir.join("train-images-idx3-ubyte.gz").exists() && dir.join("images-idx3-ubyte.gz").exists() {
            let items = LabelledItems::from_mnist(&dir.join("images-idx3-ubyte.gz"), &dir.join("labels-idx1-ubyte.gz"))?;
            let s = RandomSplitter::new(self.valid_pct.unwrap_or(VALID_PCT), seed).split(&items.items.len()).map_err(|e| Error::invalid("--valid-pct", e.to_string()))?;
            let splits = self.limited(items.items.len(), &s.train, &s.valid)?;
            return Ok((items, splits, self.flags(true).method("")));
        }
        self.no_valid_pct(&format!("{} is split into its train-* and t10k-* files", dir.display()))?;
        let tr = LabelledItems::from_mnist(&dir.join("train-images-idx3-ubyte.gz"), &dir.join("train-labels-idx1-ubyte.gz"))?;
        let te = LabelledItems::from_mnist(&dir.join("t10k-images-idx3-ubyte.gz"), &dir.join("t10k-labels-idx1-ubyte.gz"))?;
        let n_train = self.limit_train.unwrap_or(tr.items.len()).min(tr.items.len());
        let n_valid = self.limit_valid.unwrap_or(te.items.len()).min(te.items.len());
        let mut all = tr.items[..n_train].to_vec();
        all.extend(te.items[..n_valid].iter().cloned());
        let n = all.len();
        let splits = self.limited(n, &(0..n_train).collect::<Vec<_>>(), &(n_train..n).collect::<Vec<_>>())?;
        Ok((LabelledItems { items: all, classes: tr.classes }, splits, self.flags(false).method("idx train-*/t10k-* files")))
    }
}

impl DataArgs {
    /// The items, their split (with its record, drawn with `seed` when random) and the
    /// preprocessing: ImageNet's statistics when `pretrained`, else the training images'.
    /// Training images are augmented with `augment`. Idx files, which only number their
    /// classes, take `model_classes` as names when `--class-names` is not given and the counts
    /// agree (what a trained model file knows).
    pub fn load(&self, seed: u64, pretrained: bool, augment: Option<AugTransforms>, model_classes: Option<&[String]>) -> Result<(VisionData, SplitRecord)> {
        let (source, split) = (&self.source, &self.split);
        if let Some(s) = self.prep.size.filter(|&s| s == 0 || s > MAX_SIZE) {
            return Err(Error::invalid("--size", format!("{s} is not an image side in 1..={MAX_SIZE}")));
        }
        let name = self.prep.method.as_deref().unwrap_or("crop");
        let method = ResizeMethod::parse(name)
            .ok_or_else(|| Error::invalid("--method", format!("'{name}' is not one of {}", ResizeMethod::NAMES.join(", "))))?;
        let (items, splits, split_method, default_size, channels) = if let Some(dir) = &source.mnist {
            let (items, splits, m) = split.idx_items(dir, seed)?;
            (items, splits, m, 28, if pretrained { 3 } else { 1 })
        } else {
            let items = match (&source.images, &source.label_regex, &source.labels_csv, &source.dataset) {
                (_, _, _, Some(name)) => crate::datasets::locate(name)?,
                (Some(dir), Some(re), _, _) => LabelledItems::from_regex(dir, re)?,
                (root, None, Some(csv), _) => {
                    let root = root.clone().unwrap_or_else(|| csv.parent().map(Path::to_path_buf).unwrap_or_default());
                    LabelledItems::from_csv(csv, &root)?
                }
                (Some(dir), None, None, _) => LabelledItems::from_folder(dir)?,
                _ => return Err(Error::invalid("data", "give --images DIR, --labels-csv FILE, --mnist DIR or --dataset NAME")),
            };
            check_images(&items, DecodeOptions::default())?;
            let files: Vec<PathBuf> = items.items.iter().filter_map(|i| if let Source::File(p) = &i.source { Some(p.clone()) } else { None }).collect();
            let grandparents = GrandparentSplitter::default().split(&files[..]);
            let n = items.items.len();
            let (splits, m) = match grandparents {
                Ok(s) if source.label_regex.is_none() && source.dataset.as_deref() != Some("pets") => {
                    split.no_valid_pct("the images are split by their train/valid folders")?;
                    (split.limited(n, &s.train, &s.valid)?, split.flags(false).method("train/valid folders"))
                }
                _ => {
                    let s = RandomSplitter::new(split.valid_pct.unwrap_or(VALID_PCT), seed).split(&n).map_err(|e| Error::invalid("--valid-pct", e.to_string()))?;
                    (split.limited(n, &s.train, &s.valid)?, split.flags(true).method(""))
                }
            };
            (items, splits, m, 224, 3)
        };
        let items = match (&source.class_names, model_classes) {
            (Some(names), _) => items.rename_classes(names)?,
            (None, Some(names)) if source.mnist.is_some() && names.len() == items.classes.len() => items.rename_classes(names)?,
            _ => items,
        };
        let record = split_record(&split_method, seed, &items, &splits);
        let items = Arc::new(items);
        let normalize = if pretrained {
            Normalize::imagenet()
        } else {
            let sample: Vec<_> = splits.train.iter().take(1000).map(|&i| load(&items.items[i].source, DecodeOptions { channels, ..Default::default() })).collect::<Result<_>>()?;
            Normalize::from_images(sample.iter(), channels)
        };
        let pre = Preprocessing { size: self.prep.size.unwrap_or(default_size), method, channels, normalize };
        Ok((VisionData { items, splits, pre, augment }, record))
    }
}
