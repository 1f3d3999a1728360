//! A text classifier (kindling-nlp) behind the server: the texts of a batch of requests through
//! the predictor together.

use std::path::Path;

use burn::tensor::Device;
use kindling_core::Result;
use kindling_nlp::predict::{TextPrediction, TextPredictor};
use serde_json::{Value, json};

use crate::http::ApiError;
use crate::serve::engine::{Engine, Input, model_error, only_fields};

/// Longest text accepted, in bytes.
const MAX_TEXT: usize = 100_000;
/// Most texts in one request.
const MAX_TEXTS: usize = 256;

/// A loaded text model.
pub struct TextEngine {
    predictor: TextPredictor,
}

impl TextEngine {
    /// A model file written by kindling-nlp.
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        Ok(Self { predictor: TextPredictor::load(path, device)? })
    }

    fn answer(&self, p: &TextPrediction) -> Value {
        let classes = &self.predictor.classes;
        let probs: serde_json::Map<String, Value> = classes.iter().cloned().zip(p.probs.iter().map(|&v| json!(v))).collect();
        json!({ "labels": p.labels, "probs": probs, "n_tokens": p.n_tokens, "truncated": p.truncated })
    }
}

/// The texts of a request: `{"text": "..."}` or `{"texts": ["...", ...]}`, none empty
/// or blank.
fn texts_of(v: &Value) -> Result<Vec<String>, ApiError> {
    only_fields(v, &["text", "texts"])?;
    let texts: Vec<String> = match (v.get("text"), v.get("texts")) {
        (Some(Value::String(t)), None) => vec![t.clone()],
        (None, Some(Value::Array(a))) => a
            .iter()
            .enumerate()
            .map(|(i, t)| t.as_str().map(String::from).ok_or_else(|| ApiError::bad_request(format!("texts[{i}] is not a string"))))
            .collect::<Result<_, _>>()?,
        _ => return Err(ApiError::bad_request("send {\"text\": \"...\"} or {\"texts\": [\"...\"]}")),
    };
    if texts.is_empty() || texts.len() > MAX_TEXTS {
        return Err(ApiError::bad_request(format!("send 1 to {MAX_TEXTS} texts, not {}", texts.len())));
    }
    if let Some(i) = texts.iter().position(|t| t.trim().is_empty()) {
        return Err(ApiError::bad_request(if texts.len() == 1 { "the text is empty: send something to classify".to_string() } else { format!("texts[{i}] is empty: send something to classify") }));
    }
    if let Some(i) = texts.iter().position(|t| t.len() > MAX_TEXT) {
        return Err(ApiError::bad_request(format!("text {i} is longer than {MAX_TEXT} bytes")));
    }
    Ok(texts)
}

impl Engine for TextEngine {
    fn info(&self) -> Value {
        let p = &self.predictor;
        json!({ "task": "text", "classes": p.classes, "input": "json", "example": { "text": "..." }, "max_len": p.config.max_len })
    }

    fn run(&self, inputs: Vec<Input>) -> Vec<Result<Value, ApiError>> {
        let parsed: Vec<Result<Vec<String>, ApiError>> = inputs
            .iter()
            .map(|i| match i {
                Input::Json(v) => texts_of(v),
                Input::Image { .. } => Err(ApiError::unsupported("this model takes JSON: {\"text\": \"...\"}")),
            })
            .collect();
        let all: Vec<&str> = parsed.iter().flatten().flatten().map(String::as_str).collect();
        let preds = match self.predictor.predict(&all) {
            Ok(p) => p,
            Err(e) => {
                let e = model_error(e);
                return parsed.iter().map(|_| Err(e.clone())).collect();
            }
        };
        let mut preds = preds.iter();
        parsed
            .into_iter()
            .map(|r| {
                let texts = r?;
                let answers: Vec<Value> = preds.by_ref().take(texts.len()).map(|p| self.answer(p)).collect();
                Ok(json!({ "predictions": answers }))
            })
            .collect()
    }
}
