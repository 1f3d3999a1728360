//! Class probabilities of decoded images through a loaded image classifier, many images to one
//! forward pass. kindling-vision's `VisionPredictor` predicts one file at a time
//! (`predict_file`); the cleaner ranks a whole folder and the server batches requests, so this
//! builds the batch from vision's public pieces, exactly as `predict_file` does for one image:
//! the model's preprocessing, then `ImageBatcher`'s normalisation, then the network and softmax.

use burn::tensor::activation::softmax;
use burn::tensor::Device;
use kindling_core::data::Batcher;
use kindling_core::{Error, Result};
use kindling_vision::data::decode::DecodeOptions;
use kindling_vision::data::{Image, ImageBatcher};
use kindling_vision::predict::VisionPredictor;

/// How the model's images are decoded (its channels, the default pixel guard).
pub fn decode_options(p: &VisionPredictor) -> DecodeOptions {
    DecodeOptions { channels: p.pre.channels, ..DecodeOptions::default() }
}

/// The class probabilities of each image, in order: one forward pass for all of them (callers
/// chunk large sets). Images of any size are prepared to the model's size first.
pub fn class_probs(p: &VisionPredictor, images: &[Image], device: &Device) -> Result<Vec<Vec<f32>>> {
    if images.is_empty() {
        return Ok(Vec::new());
    }
    let batcher = ImageBatcher { normalize: p.pre.normalize.clone() };
    let batch = batcher.batch(images.iter().map(|img| (p.pre.prepare(img), 0)).collect(), device)?;
    let out = softmax(p.model().forward(batch.images), 1);
    let [_, c] = out.dims();
    let flat = out.into_data().convert::<f32>().try_into_vec::<f32>().map_err(|e| Error::Data(format!("{e:?}")))?;
    Ok(flat.chunks(c.max(1)).map(<[f32]>::to_vec).collect())
}
