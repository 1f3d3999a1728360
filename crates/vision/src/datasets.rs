//! The fetched data sets kindling-vision reads (`--dataset NAME`), in their archives' layouts.

use kindling_core::datasets::dataset_dir;
use kindling_core::{Error, Result};

use crate::data::sources::LabelledItems;

/// The labelled images of data set `name`.
///
/// | name | layout | labels |
/// |---|---|---|
/// | `pets` (fastai's `PETS`) | `oxford-iiit-pet/images/*.jpg` | the file name's breed, `^(.+)_\d+\.jpg$` |
/// | `mnist_sample` (fastai's `MNIST_SAMPLE`) | `mnist_sample/{train,valid}/{3,7}/*.png` | the parent folder; split by grandparent |
pub fn locate(name: &str) -> Result<LabelledItems> {
    match name.to_ascii_lowercase().as_str() {
        "pets" => LabelledItems::from_regex(&dataset_dir("pets", "oxford-iiit-pet")?.join("images"), r"^(.+)_\d+\.jpg$"),
        "mnist_sample" => {
            let dir = dataset_dir("mnist_sample", "mnist_sample")?;
            let mut items = LabelledItems::from_folder(&dir.join("train"))?;
            let valid = LabelledItems::from_folder(&dir.join("valid"))?;
            items.items.extend(valid.items);
            Ok(items)
        }
        other => Err(Error::invalid("--dataset", format!("'{other}' is not an image data set kindling knows (pets, mnist_sample); use --images for any folder"))),
    }
}
