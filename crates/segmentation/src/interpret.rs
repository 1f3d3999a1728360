//! Where a trained U-Net goes wrong on the validation set: fastai's `show_results` as a grid of
//! image / truth / prediction for the validation images with the worst Dice, and a table of
//! each class's IoU with the pixels it has in the truth and in the prediction.
//!
//! Every score leaves out the void pixels, as training's metrics do; an image's Dice is
//! [`DiceMulti`] over that image alone (the mean over the classes it holds or is predicted
//! to hold), the table's IoU is [`DiceMulti::per_class_iou`] over the whole validation set.

use std::path::Path;

use kindling_core::data::DataLoaders;
use kindling_core::metrics::{HostPreds, HostTarget, Metric};
use kindling_core::plot::{GridCell, image_grid};
use kindling_core::{Error, Result};
use kindling_vision::data::{Image, Normalize};
use kindling_vision::interpret::grid_cell;
use serde::Serialize;

use crate::data::{Codes, Mask, SegBatch, SegData};
use crate::learner::flatten_scores;
use crate::metrics::{DiceMulti, PixelAccuracy};
use crate::model::DynamicUnet;
use crate::predict::SegPredictor;
use crate::show_batch::{overlay_cell, unbatch};

/// One class's row of the IoU table.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ClassIou {
    /// The class's name.
    pub name: String,
    /// `|P∩T| / |P∪T|` over the validation pixels (`None`: neither in the truth nor predicted).
    pub iou: Option<f64>,
    /// Validation pixels of this class in the truth (void pixels left out).
    pub truth_pixels: u64,
    /// Validation pixels predicted as this class (void pixels left out).
    pub predicted_pixels: u64,
}

/// A validation image drawn in the grid.
#[derive(Clone, Debug)]
pub struct ShownImage {
    /// Its file name.
    pub name: String,
    /// Its Dice ([`DiceMulti`] over its pixels).
    pub dice: f64,
    /// The image as the model saw it (at the model's size), in `[0, 1]`.
    pub image: Image,
    /// The true mask at that size.
    pub truth: Mask,
    /// The predicted mask.
    pub pred: Mask,
}

/// An image's name and Dice, for the JSON.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ImageDice {
    /// The file name.
    pub image: String,
    /// Its Dice.
    pub dice: f64,
}

/// The validation set's scores and its worst images.
#[derive(Clone, Debug, Serialize)]
pub struct SegInterpretation {
    /// Validation images.
    pub n_images: usize,
    /// Pixel accuracy over them.
    pub pixel_accuracy: Option<f64>,
    /// fastai's `DiceMulti` over them.
    pub dice_multi: Option<f64>,
    /// The void class, left out of every score and of the table.
    pub void: Option<String>,
    /// One row per class (void left out).
    pub classes: Vec<ClassIou>,
    /// The worst images, worst first.
    pub worst: Vec<ImageDice>,
    /// The same images with their pixels and masks.
    #[serde(skip)]
    pub shown: Vec<ShownImage>,
}

/// Predicts the validation loader of `dls` with `model` and scores it; `names` are the
/// validation items' file names in loader order, `normalize` the loader's normalisation, and
/// the `n` images with the lowest Dice are kept for [`SegInterpretation::plot`].
pub fn interpret(model: &DynamicUnet, dls: &DataLoaders<(Image, Mask), SegBatch>, normalize: &Normalize, codes: &Codes, names: &[String], n: usize) -> Result<SegInterpretation> {
    if n == 0 {
        return Err(Error::invalid("-n", "must be at least 1"));
    }
    let n_classes = codes.len();
    let (mut dice, mut acc) = (DiceMulti::new(codes.void), PixelAccuracy::new(codes.void));
    let (mut truth_px, mut pred_px) = (vec![0u64; n_classes], vec![0u64; n_classes]);
    let mut shown: Vec<ShownImage> = Vec::new();
    let mut k = 0;
    for batch in dls.valid.iter(0) {
        let batch = batch?;
        let scores = flatten_scores(model.forward(batch.images.clone()));
        let values = scores.into_data().convert::<f32>().try_into_vec::<f32>().map_err(|e| Error::Data(format!("reading predictions back: {e:?}")))?;
        for (j, (image, truth)) in unbatch(&batch, normalize)?.into_iter().enumerate() {
            let hw = truth.data.len();
            let name = names.get(k).cloned().ok_or_else(|| Error::Data(format!("the validation loader gave more than the {} items named", names.len())))?;
            let preds = HostPreds { values: values[j * hw * n_classes..(j + 1) * hw * n_classes].to_vec(), n_out: n_classes };
            let target = HostTarget::Classes(truth.data.iter().map(|&v| v as i64).collect());
            dice.accumulate(&preds, &target);
            acc.accumulate(&preds, &target);
            let mut own = DiceMulti::new(codes.void);
            own.accumulate(&preds, &target);
            let pred = Mask { height: truth.height, width: truth.width, data: preds.argmax().into_iter().map(|v| v as u8).collect() };
            for (&t, &p) in truth.data.iter().zip(&pred.data) {
                if Some(t as usize) != codes.void {
                    truth_px[(t as usize).min(n_classes - 1)] += 1;
                    pred_px[(p as usize).min(n_classes - 1)] += 1;
                }
            }
            if let Some(d) = own.value() {
                shown.push(ShownImage { name, dice: d, image, truth, pred });
                shown.sort_by(|a, b| a.dice.total_cmp(&b.dice));
                shown.truncate(n);
            }
            k += 1;
        }
    }
    if k != names.len() {
        return Err(Error::Data(format!("the validation loader gave {k} items, {} were named", names.len())));
    }
    let iou = dice.per_class_iou();
    let classes = (0..n_classes)
        .filter(|&c| Some(c) != codes.void)
        .map(|c| ClassIou { name: codes.names[c].clone(), iou: iou.get(c).copied().flatten(), truth_pixels: truth_px[c], predicted_pixels: pred_px[c] })
        .collect();
    Ok(SegInterpretation {
        n_images: k,
        pixel_accuracy: acc.value(),
        dice_multi: dice.value(),
        void: codes.void.map(|v| codes.names[v].clone()),
        classes,
        worst: shown.iter().map(|s| ImageDice { image: s.name.clone(), dice: s.dice }).collect(),
        shown,
    })
}

impl SegInterpretation {
    /// The per-class table: name, IoU, pixels in the truth, pixels predicted.
    pub fn table(&self) -> String {
        let width = self.classes.iter().map(|c| c.name.chars().count()).max().unwrap_or(5).max(5);
        let mut s = format!("{:<width$}  {:>6}  {:>12}  {:>12}\n", "class", "IoU", "truth px", "predicted px");
        for c in &self.classes {
            let iou = c.iou.map_or("-".to_string(), |v| format!("{v:.4}"));
            s += &format!("{:<width$}  {iou:>6}  {:>12}  {:>12}\n", c.name, c.truth_pixels, c.predicted_pixels);
        }
        if let Some(v) = &self.void {
            s += &format!("(void class {v} left out)\n");
        }
        s
    }

    /// fastai's `show_results`: a PNG grid with one row per shown image (worst Dice first):
    /// the image, its true mask and the predicted mask overlaid in the class palette.
    pub fn plot(&self, path: &Path, codes: &Codes) -> Result<()> {
        if self.shown.is_empty() {
            return Err(Error::Data(format!("{}: no validation image has a pixel outside the void class to show", path.display())));
        }
        let bg = codes.background();
        let cells: Vec<GridCell> = self
            .shown
            .iter()
            .flat_map(|s| {
                [
                    grid_cell(&s.image, vec![s.name.clone(), format!("Dice {:.3}", s.dice)]),
                    overlay_cell(&s.image, &s.truth, bg, vec!["truth".into(), String::new()]),
                    overlay_cell(&s.image, &s.pred, bg, vec!["prediction".into(), String::new()]),
                ]
            })
            .collect();
        image_grid(path, "Worst Dice on validation: image / truth / prediction", &cells, 3, 160)
    }
}

/// `Ok` when `data` (loaded from today's flags with `seed`) is what the model in `model_path`
/// was trained on: the same image channels, mask reading and classes, and, when the file
/// records its split, the same validation items (interpreting others could score training
/// images). A file without a split record gets a warning.
pub fn check_data_matches(p: &SegPredictor, data: &SegData, seed: u64, model_path: &Path) -> Result<()> {
    let m = model_path.display();
    if data.pre.channels != p.pre.channels {
        return Err(Error::invalid("--channels", format!("{} reads images with {} channels, not {}", m, p.pre.channels, data.pre.channels)));
    }
    if data.pre.binary != p.pre.binary {
        return Err(Error::invalid("--binary-masks", format!("{m} was trained {} --binary-masks", if p.pre.binary { "with" } else { "without" })));
    }
    if data.codes.names != p.codes.names {
        return Err(Error::Data(format!("{m} was trained on the classes [{}], these masks have [{}]", p.codes.names.join(", "), data.codes.names.join(", "))));
    }
    match &p.split {
        Some(r) => r.check_same(&data.split_record(seed)).map_err(|diff| {
            Error::Data(format!("{m}: this data and these flags do not rebuild the validation set the model was measured on ({diff}); interpreting them could score training images"))
        }),
        None => {
            eprintln!("warning: {m} does not record its split: the validation set is rebuilt with --seed {seed} and may hold training images");
            Ok(())
        }
    }
}
