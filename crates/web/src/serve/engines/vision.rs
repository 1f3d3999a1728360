//! An image classifier behind the server: a batch of images in one forward pass, each answered
//! with its top classes.

use std::path::Path;

use burn::tensor::Device;
use kindling_core::Result;
use kindling_vision::predict::VisionPredictor;
use serde_json::{Value, json};

use crate::http::ApiError;
use crate::rank::probs::class_probs;
use crate::serve::engine::{Engine, Input, model_error};

/// A loaded image classifier.
pub struct VisionEngine {
    predictor: VisionPredictor,
    device: Device,
}

impl VisionEngine {
    /// A model file written by kindling-vision.
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        Ok(Self { predictor: VisionPredictor::load(path, device)?, device: device.clone() })
    }

    /// Pretrained ImageNet weights with their class names.
    pub fn pretrained(arch: &str, weights: &Path, classes: Vec<String>, device: &Device) -> Result<Self> {
        Ok(Self { predictor: VisionPredictor::from_pretrained(arch, weights, classes, device)?, device: device.clone() })
    }

    /// The channels images are decoded to.
    pub fn channels(&self) -> usize {
        self.predictor.pre.channels
    }
}

/// The `k` most probable classes of `probs`, most probable first.
pub fn top_k(classes: &[String], probs: &[f32], k: usize) -> Value {
    let mut order: Vec<usize> = (0..probs.len()).collect();
    order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
    Value::Array(order.into_iter().take(k).map(|i| json!({ "class": classes.get(i).cloned().unwrap_or_else(|| i.to_string()), "prob": probs[i] })).collect())
}

impl Engine for VisionEngine {
    fn info(&self) -> Value {
        let p = &self.predictor;
        json!({ "task": "vision", "classes": p.classes, "input": "image", "size": p.pre.size, "channels": p.pre.channels })
    }

    fn run(&self, inputs: Vec<Input>) -> Vec<Result<Value, ApiError>> {
        let mut images = Vec::with_capacity(inputs.len());
        let mut ks = Vec::with_capacity(inputs.len());
        for i in inputs {
            match i {
                Input::Image { image, k } => {
                    images.push(image);
                    ks.push(Some(k));
                }
                Input::Json(_) => ks.push(None),
            }
        }
        let probs = match class_probs(&self.predictor, &images, &self.device) {
            Ok(p) => p,
            Err(e) => {
                let e = model_error(e);
                return ks.iter().map(|_| Err(e.clone())).collect();
            }
        };
        let mut probs = probs.into_iter();
        ks.into_iter()
            .map(|k| match k {
                Some(k) => {
                    let p = probs.next().unwrap_or_default();
                    Ok(json!({ "predictions": top_k(&self.predictor.classes, &p, k) }))
                }
                None => Err(ApiError::unsupported("this model takes an image as the request body")),
            })
            .collect()
    }
}
