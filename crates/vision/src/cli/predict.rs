//! `kindling-vision predict`: the most likely classes of image files (or of every image in a
//! folder, a flat folder of photos included) as a table, CSV or JSON.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use kindling_core::{Error, Result};

use crate::data::sources::image_files;
use crate::output::{Cell, Format, Table, write_new};
use crate::predict::VisionPredictor;

/// The pretrained route, for messages.
const PRETRAINED_ROUTE: &str = "--arch efficientnet-lite0 --pretrained ../shared/models/efficientnet-lite0/efficientnet_lite0.safetensors";

/// The classifier `predict` asks: a trained model file, or pretrained ImageNet weights with
/// their class list (`imagenet_classes.txt` beside them unless `classes` is given).
pub fn predictor(model: Option<&Path>, arch: &str, pretrained: Option<&Path>, classes: Option<&Path>, device: &Device) -> Result<VisionPredictor> {
    match (model, pretrained) {
        (Some(m), _) => VisionPredictor::load(m, device),
        (None, Some(w)) => {
            let list = classes.map(Path::to_path_buf).unwrap_or_else(|| w.with_file_name("imagenet_classes.txt"));
            let text = std::fs::read_to_string(&list).map_err(|e| Error::io(&list, e))?;
            let names: Vec<String> = text.lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect();
            VisionPredictor::from_pretrained(arch, w, names, device)
        }
        (None, None) => Err(Error::invalid(
            "--model",
            format!("give --model FILE (a model written by `train`), or --arch ARCH --pretrained FILE to predict ImageNet classes straight from pretrained weights (e.g. {PRETRAINED_ROUTE})"),
        )),
    }
}

/// The image files the arguments name: a file as it is, a folder as every image in it (sorted,
/// sub-folders included, hidden ones skipped). No argument, or a folder without images, is an
/// error.
pub fn image_args(args: &[PathBuf]) -> Result<Vec<PathBuf>> {
    if args.is_empty() {
        return Err(Error::invalid("IMAGES", "no images to predict: name image files or folders after the flags (`predict --model runs/x/model.safetensors photo.jpg photos/`)"));
    }
    let mut out = Vec::new();
    for a in args {
        if a.is_dir() {
            let files = image_files(a)?;
            if files.is_empty() {
                return Err(Error::Data(format!("{}: no images in this folder ({})", a.display(), crate::data::sources::EXTENSIONS.join(", "))));
            }
            out.extend(files);
        } else {
            out.push(a.clone());
        }
    }
    Ok(out)
}

/// The table of the `k` most likely classes of each image: `image`, then `class` and `prob`
/// for the likeliest, `class_2` and `prob_2` for the next, and so on.
pub fn predictions(p: &VisionPredictor, images: &[PathBuf], k: usize) -> Result<Table> {
    let k = k.min(p.classes.len()).max(1);
    let mut headers = vec!["image".to_string()];
    for j in 1..=k {
        let suffix = if j == 1 { String::new() } else { format!("_{j}") };
        headers.push(format!("class{suffix}"));
        headers.push(format!("prob{suffix}"));
    }
    let mut table = Table::new(&headers.iter().map(String::as_str).collect::<Vec<_>>());
    for img in images {
        let mut row = vec![Cell::path(img)];
        for (class, prob) in p.top_k(img, k)? {
            row.push(Cell::Text(class));
            row.push(Cell::Num(prob as f64, 3));
        }
        table.rows.push(row);
    }
    Ok(table)
}

/// Prints `table` in `format`, or writes it to the new file `out`.
pub fn emit(table: &Table, format: Format, out: Option<&Path>) -> Result<()> {
    let text = table.render(format);
    match out {
        Some(path) => {
            write_new(path, text.as_bytes(), false, "--out")?;
            println!("predictions for {} image{} written to {}", table.rows.len(), if table.rows.len() == 1 { "" } else { "s" }, path.display());
        }
        None => print!("{text}"),
    }
    Ok(())
}
