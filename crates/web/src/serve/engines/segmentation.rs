//! A segmentation model behind the server: an image answered with the share of its pixels in
//! each class (at the model's size), from kindling-segmentation's `SegPredictor::scores`, and
//! the overlay kindling-segmentation's `predict` writes (`overlay`: the image with every class
//! but the background tinted) as a PNG data URL.

use std::path::Path;

use burn::tensor::Device;
use kindling_core::Result;
use kindling_segmentation::data::Mask;
use kindling_segmentation::data::resize::{resize_image, resize_mask};
use kindling_segmentation::predict::{SegPredictor, overlay};
use kindling_vision::data::Image;
use serde_json::{Value, json};

use crate::http::ApiError;
use crate::http::data_url::png_data_url;
use crate::serve::engine::{Engine, Input, model_error};

/// The longest side of an overlay: a larger image is shrunk (keeping its shape) before it is
/// painted, so that an answer stays small.
pub const MAX_OVERLAY_SIDE: usize = 512;

/// A loaded segmentation model.
pub struct SegEngine {
    predictor: SegPredictor,
}

/// The size of `[h, w]` shrunk, keeping its shape, to fit `MAX_OVERLAY_SIDE` (unchanged when
/// it fits).
fn overlay_size([h, w]: [usize; 2]) -> [usize; 2] {
    let long = h.max(w);
    if long <= MAX_OVERLAY_SIDE {
        return [h, w];
    }
    let scale = |v: usize| ((v * MAX_OVERLAY_SIDE) as f64 / long as f64).round().max(1.0) as usize;
    [scale(h), scale(w)]
}

impl SegEngine {
    /// A model file written by kindling-segmentation.
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        Ok(Self { predictor: SegPredictor::load(path, device)? })
    }

    /// The channels images are decoded to.
    pub fn channels(&self) -> usize {
        self.predictor.pre.channels
    }

    fn answer(&self, image: &Image) -> Result<Value, ApiError> {
        let scores = self.predictor.scores(image).map_err(model_error)?;
        let [_, _, h, w] = scores.dims();
        let ids: Vec<i64> = scores.argmax(1).into_data().convert::<i64>().try_into_vec::<i64>().map_err(|e| ApiError::internal(format!("{e:?}")))?;
        let names = &self.predictor.codes.names;
        let mut counts = vec![0usize; names.len()];
        for &c in &ids {
            if let Some(n) = usize::try_from(c).ok().and_then(|c| counts.get_mut(c)) {
                *n += 1;
            }
        }
        let total = ids.len().max(1) as f64;
        let shares: Vec<Value> = names.iter().zip(&counts).map(|(n, &c)| json!({ "class": n, "share": c as f64 / total })).collect();
        // The overlay at the image's own size (or shrunk to MAX_OVERLAY_SIDE), as `predict` paints it.
        let mask = Mask { height: h, width: w, data: ids.iter().map(|&v| u8::try_from(v).unwrap_or(u8::MAX)).collect() };
        let [oh, ow] = overlay_size([image.height, image.width]);
        let shown = resize_image(image, [oh, ow]);
        let rgb = overlay(&shown, &resize_mask(&mask, [oh, ow]), self.predictor.codes.void.unwrap_or(0));
        let url = png_data_url(&rgb, ow, oh).map_err(ApiError::internal)?;
        let [mh, mw] = self.predictor.pre.size;
        Ok(json!({ "size": [mh, mw], "proportions": shares, "overlay": url, "overlay_size": [oh, ow] }))
    }
}

impl Engine for SegEngine {
    fn info(&self) -> Value {
        let p = &self.predictor;
        json!({ "task": "segmentation", "classes": p.codes.names, "input": "image", "size": p.pre.size, "channels": p.pre.channels })
    }

    fn run(&self, inputs: Vec<Input>) -> Vec<Result<Value, ApiError>> {
        inputs
            .into_iter()
            .map(|i| match i {
                Input::Image { image, .. } => self.answer(&image),
                Input::Json(_) => Err(ApiError::unsupported("this model takes an image as the request body")),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_overlays_shrink_keeping_their_shape() {
        assert_eq!(overlay_size([64, 48]), [64, 48]);
        assert_eq!(overlay_size([1024, 768]), [512, 384]);
        assert_eq!(overlay_size([100, 5000]), [10, 512]);
        assert_eq!(overlay_size([1, 100_000]), [1, 512]);
    }
}
