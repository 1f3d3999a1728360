//! The cleaner's ranking: every image of a folder through a trained classifier, sorted by
//! loss (highest first) with its label, prediction and probability, as fastai's
//! `ImageClassifierCleaner` shows them. The losses come from kindling-core's
//! `ClassificationInterpretation`, the probabilities from [`probs::class_probs`].

mod items;
pub mod probs;

pub use items::{ALL, FolderItem, folder_items};

use std::path::Path;

use burn::tensor::Device;
use kindling_core::interpret::ClassificationInterpretation;
use kindling_core::{Error, Result};
use kindling_vision::data::dataset::load;
use kindling_vision::data::sources::Source;
use kindling_vision::predict::VisionPredictor;
use serde::Serialize;

use crate::clean::LabelsCsv;

/// Images decoded and scored per forward pass.
const CHUNK: usize = 32;

/// One image with what the model makes of it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ranked {
    /// Its path below the folder, `/`-separated.
    pub file: String,
    /// Its label (parent folder).
    pub label: String,
    /// `train`, `valid` or `all`.
    pub split: String,
    /// The most probable class.
    pub predicted: String,
    /// The probability of the predicted class.
    pub prob: f32,
    /// Cross-entropy against its label.
    pub loss: f32,
}

/// A folder's images ranked by a model.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Ranking {
    /// The model's classes.
    pub classes: Vec<String>,
    /// The splits present, in order (`train`, `valid`, then `all`).
    pub splits: Vec<String>,
    /// Every image, highest loss first.
    pub items: Vec<Ranked>,
}

impl Ranking {
    /// Scores every image below `dir` with `p`. An image whose label is not one of the model's
    /// classes, or that does not decode, is an error naming it.
    pub fn of_folder(p: &VisionPredictor, dir: &Path, device: &Device) -> Result<Self> {
        let items = folder_items(dir)?;
        if items.is_empty() {
            return Err(Error::Data(format!("{}: no images in class folders", dir.display())));
        }
        Self::of_items(p, dir, items, device)
    }

    /// Scores the images of a labels CSV ([`LabelsCsv`]), whose files are relative to `root`.
    /// A file that is missing, or a label that is not one of the model's classes, is an error
    /// naming the CSV's line.
    pub fn of_csv(p: &VisionPredictor, root: &Path, csv: &LabelsCsv, device: &Device) -> Result<Self> {
        csv.check_classes(&p.classes)?;
        Self::of_items(p, root, csv.items(root)?, device)
    }

    /// Scores `items`, whose files are relative to `dir`, with `p`. An image whose label is not
    /// one of the model's classes, or that does not decode, is an error naming it.
    pub fn of_items(p: &VisionPredictor, dir: &Path, items: Vec<FolderItem>, device: &Device) -> Result<Self> {
        if items.is_empty() {
            return Err(Error::Data(format!("{}: no images to rank", dir.display())));
        }
        let mut targets = Vec::with_capacity(items.len());
        for i in &items {
            let t = p.classes.iter().position(|c| *c == i.label).ok_or_else(|| {
                Error::Data(format!("{}: the label '{}' is not one of the model's classes [{}]", dir.join(&i.file).display(), i.label, p.classes.join(", ")))
            })?;
            targets.push(t);
        }
        let mut probs = Vec::with_capacity(items.len() * p.classes.len());
        for chunk in items.chunks(CHUNK) {
            let images = chunk.iter().map(|i| load(&Source::File(dir.join(&i.file)), probs::decode_options(p))).collect::<Result<Vec<_>>>()?;
            probs.extend(probs::class_probs(p, &images, device)?.into_iter().flatten());
        }
        let interp = ClassificationInterpretation::new(p.classes.clone(), probs, targets)?;
        let ranked = interp
            .top_losses(items.len())
            .into_iter()
            .map(|t| {
                let i = &items[t.index];
                Ranked { file: i.file.clone(), label: i.label.clone(), split: i.split.clone(), predicted: p.classes[t.predicted].clone(), prob: t.prob, loss: t.loss }
            })
            .collect();
        let splits = ["train", "valid", ALL].into_iter().filter(|s| items.iter().any(|i| i.split == *s)).map(String::from).collect();
        Ok(Self { classes: p.classes.clone(), splits, items: ranked })
    }

    /// The images of `class` (any when `None`) in `split` (any when `None`), highest loss first.
    pub fn select<'a>(&'a self, class: Option<&'a str>, split: Option<&'a str>) -> impl Iterator<Item = &'a Ranked> + 'a {
        self.items.iter().filter(move |r| class.is_none_or(|c| r.label == c) && split.is_none_or(|s| r.split == s))
    }

    /// Forgets the images in `files` (changed by an applied log: moved, or their rows of a labels
    /// CSV relabelled or left out).
    pub fn remove(&mut self, files: &[String]) {
        self.items.retain(|r| !files.contains(&r.file));
    }
}
