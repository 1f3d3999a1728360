//! Looking at images: a grid of augmented training samples (fastai's `show_batch`), and where a
//! trained classifier goes wrong (`ClassificationInterpretation` with `plot_top_losses`).

use std::path::Path;

use kindling_core::data::DataLoaders;
use kindling_core::interpret::ClassificationInterpretation;
use kindling_core::plot::{GridCell, image_grid};
use kindling_core::{Error, Result};

use crate::data::dataset::load;
use crate::data::decode::DecodeOptions;
use crate::data::{Image, ImageBatch, Normalize, Preprocessing, VisionData};

/// An image in `[0, 1]` (grey or RGB) as 8-bit RGB with a caption.
pub fn grid_cell(img: &Image, caption: Vec<String>) -> GridCell {
    let hw = img.height * img.width;
    let mut rgb = Vec::with_capacity(hw * 3);
    for p in 0..hw {
        for c in 0..3 {
            let ch = if img.channels >= 3 { c } else { 0 };
            rgb.push((img.data[ch * hw + p].clamp(0.0, 1.0) * 255.0).round() as u8);
        }
    }
    GridCell { rgb, width: img.width as u32, height: img.height as u32, caption }
}

/// Undoes the normalisation of image `k` of a batch.
fn denormalize(batch: &ImageBatch, k: usize, normalize: &Normalize) -> Result<Image> {
    let [_, c, h, w] = batch.images.dims();
    let values = batch.images.clone().slice([k..k + 1]).into_data().convert::<f32>().try_into_vec::<f32>().map_err(|e| Error::Data(format!("{e:?}")))?;
    Ok(Image { channels: c, height: h, width: w, data: normalize.undo(&values, h * w) })
}

/// fastai's `show_batch`: the first `n` images of the first training batch, augmented exactly
/// as training sees them, with their labels, as a PNG grid.
pub fn show_batch(dls: &DataLoaders<(Image, usize), ImageBatch>, normalize: &Normalize, classes: &[String], n: usize, path: &Path) -> Result<()> {
    let batch = dls.train.iter(0).next().ok_or_else(|| Error::Data("the training set has no batch to show".into()))??;
    let ys = batch.y.to_host();
    let ys = match ys {
        kindling_core::metrics::HostTarget::Classes(v) => v,
        _ => return Err(Error::Data("image batches carry classes".into())),
    };
    let cells = (0..n.min(ys.len()))
        .map(|k| Ok(grid_cell(&denormalize(&batch, k, normalize)?, vec![classes.get(ys[k] as usize).cloned().unwrap_or_default()])))
        .collect::<Result<Vec<_>>>()?;
    let cols = (cells.len() as f64).sqrt().ceil() as usize;
    image_grid(path, "Training batch (augmented)", &cells, cols, 128)
}

/// fastai's `plot_top_losses`: the `k` validation images with the highest loss, each captioned
/// with prediction, actual class, loss and the probability of the prediction.
pub fn plot_top_losses(interp: &ClassificationInterpretation, data: &VisionData, pre: &Preprocessing, k: usize, path: &Path) -> Result<()> {
    let cells = interp
        .top_losses(k)
        .into_iter()
        .map(|t| {
            let item = data.splits.valid.get(t.index).ok_or_else(|| Error::Data(format!("validation item {} is out of range", t.index)))?;
            let img = load(&data.items.items[*item].source, DecodeOptions { channels: pre.channels, ..DecodeOptions::default() })?;
            let img = pre.prepare(&img);
            let caption = vec![
                format!("{} / {}", interp.classes[t.predicted], interp.classes[t.actual]),
                format!("loss {:.2}, p {:.2}", t.loss, t.prob),
            ];
            Ok(grid_cell(&img, caption))
        })
        .collect::<Result<Vec<_>>>()?;
    let cols = (cells.len() as f64).sqrt().ceil() as usize;
    image_grid(path, "Top losses: predicted / actual, loss, probability", &cells, cols, 128)
}
