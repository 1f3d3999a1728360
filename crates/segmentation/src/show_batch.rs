//! fastai's `show_batch` for segmentation: the first images of a training batch, taken from
//! the very loader `train` uses (so resizing and any augmentation show exactly as the model
//! sees them), with their masks painted over them in the class palette of
//! [`predict::overlay`](crate::predict::overlay).

use std::path::Path;

use kindling_core::data::DataLoaders;
use kindling_core::plot::{GridCell, image_grid};
use kindling_core::{Error, Result};
use kindling_vision::data::{Image, Normalize};

use crate::data::{Codes, Mask, SegBatch};
use crate::predict::overlay;

/// The images of a batch back in `[0, 1]` (normalisation undone) with their masks, in order.
pub fn unbatch(batch: &SegBatch, normalize: &Normalize) -> Result<Vec<(Image, Mask)>> {
    let [n, c, h, w] = batch.images.dims();
    let pixels = batch.images.clone().into_data().convert::<f32>().try_into_vec::<f32>().map_err(|e| Error::Data(format!("reading a batch back: {e:?}")))?;
    let ids = batch.masks.clone().into_data().convert::<i64>().try_into_vec::<i64>().map_err(|e| Error::Data(format!("reading a batch back: {e:?}")))?;
    let (chw, hw) = (c * h * w, h * w);
    if pixels.len() != n * chw || ids.len() != n * hw {
        return Err(Error::Data(format!("a batch of {n} images of {c}×{h}×{w} holds {} pixels and {} mask ids", pixels.len(), ids.len())));
    }
    Ok((0..n)
        .map(|k| {
            let image = Image { channels: c, height: h, width: w, data: normalize.undo(&pixels[k * chw..(k + 1) * chw], hw) };
            let mask = Mask { height: h, width: w, data: ids[k * hw..(k + 1) * hw].iter().map(|&v| v.clamp(0, 255) as u8).collect() };
            (image, mask)
        })
        .collect())
}

/// `mask` painted over `image` in the class palette (the `background` class left clear), as a
/// grid cell with `caption`.
pub fn overlay_cell(image: &Image, mask: &Mask, background: usize, caption: Vec<String>) -> GridCell {
    GridCell { rgb: overlay(image, mask, background), width: image.width as u32, height: image.height as u32, caption }
}

/// The classes present in `mask` (void and background left out), by name, for a caption.
pub fn classes_in(mask: &Mask, codes: &Codes) -> String {
    let mut seen = vec![false; codes.len()];
    for &v in &mask.data {
        if let Some(s) = seen.get_mut(v as usize) {
            *s = true;
        }
    }
    let names: Vec<&str> = (0..codes.len()).filter(|&c| seen[c] && c != codes.background()).map(|c| codes.names[c].as_str()).collect();
    if names.is_empty() { "(background only)".into() } else { names.join(", ") }
}

/// Draws the first `n` images of the first training batch of `dls` with their masks overlaid
/// into the PNG at `path`; returns how many were drawn. `normalize` is the loaders'.
pub fn show_batch(dls: &DataLoaders<(Image, Mask), SegBatch>, normalize: &Normalize, codes: &Codes, n: usize, path: &Path) -> Result<usize> {
    if n == 0 {
        return Err(Error::invalid("-n", "must be at least 1"));
    }
    let batch = dls.train.iter(0).next().ok_or_else(|| Error::Data("the training set has no batch to show".into()))??;
    let cells: Vec<GridCell> = unbatch(&batch, normalize)?
        .iter()
        .take(n)
        .map(|(img, mask)| overlay_cell(img, mask, codes.background(), vec![classes_in(mask, codes)]))
        .collect();
    let cols = (cells.len() as f64).sqrt().ceil() as usize;
    image_grid(path, "Training batch: images with their masks", &cells, cols, 160)?;
    Ok(cells.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;
    use kindling_core::data::Batcher;

    use crate::data::SegBatcher;

    #[test]
    fn a_batch_comes_back_as_its_images_and_masks() {
        let normalize = Normalize { mean: vec![0.5], std: vec![0.25] };
        let img = |v: f32| Image { channels: 1, height: 1, width: 2, data: vec![v, 1.0 - v] };
        let items = vec![(img(0.25), Mask { height: 1, width: 2, data: vec![1, 2] }), (img(1.0), Mask { height: 1, width: 2, data: vec![0, 3] })];
        let batch = SegBatcher { normalize: normalize.clone() }.batch(items.clone(), &Device::flex()).unwrap();
        let back = unbatch(&batch, &normalize).unwrap();
        for ((a, am), (b, bm)) in back.iter().zip(&items) {
            assert_eq!(am.data, bm.data);
            assert!(a.data.iter().zip(&b.data).all(|(x, y)| (x - y).abs() < 1e-6), "{:?} {:?}", a.data, b.data);
        }
        let codes = Codes::new(vec!["bg".into(), "a".into(), "b".into(), "c".into()]).unwrap();
        assert_eq!(classes_in(&items[0].1, &codes), "a, b");
        assert_eq!(classes_in(&Mask { height: 1, width: 1, data: vec![0] }, &codes), "(background only)");
    }
}
