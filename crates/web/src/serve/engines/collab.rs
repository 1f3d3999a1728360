//! A recommender (kindling-collab) behind the server: a user's recommendations, or the rating
//! of one item.

use std::path::Path;

use burn::tensor::Device;
use kindling_collab::CollabPredictor;
use kindling_core::Result;
use serde_json::{Value, json};

use crate::http::ApiError;
use crate::serve::engine::{Engine, Input, model_error, only_fields, str_field};

/// Most recommendations in one answer.
const MAX_N: u64 = 1000;

/// A loaded recommender.
pub struct CollabEngine {
    predictor: CollabPredictor,
}

impl CollabEngine {
    /// A model file written by kindling-collab.
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        Ok(Self { predictor: CollabPredictor::load(path, device)? })
    }

    /// `{"user": U, "n": N}` → the N best items U has not rated; `{"user": U, "item": I}` → the
    /// predicted rating.
    fn answer(&self, v: &Value) -> Result<Value, ApiError> {
        only_fields(v, &["user", "n", "item"])?;
        let user = id(v, "user")?;
        if v.get("item").is_some() {
            let item = id(v, "item")?;
            let r = self.predictor.predict(&user, &item).map_err(model_error)?;
            return Ok(json!({ "user": user, "item": item, "rating": r }));
        }
        let n = match v.get("n") {
            None => 10,
            Some(n) => n.as_u64().filter(|n| (1..=MAX_N).contains(n)).ok_or_else(|| ApiError::bad_request(format!("n must be a whole number in 1..={MAX_N}")))?,
        };
        let recs = self.predictor.recommend(&user, n as usize).map_err(model_error)?;
        Ok(json!({ "user": user, "recommendations": recs.iter().map(|s| json!({ "item": s.item, "score": s.score })).collect::<Vec<_>>() }))
    }
}

/// An id field given as a string or a whole number.
fn id(v: &Value, name: &str) -> Result<String, ApiError> {
    match v.get(name) {
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => Ok(n.to_string()),
        _ => str_field(v, name).map(String::from),
    }
}

impl Engine for CollabEngine {
    fn info(&self) -> Value {
        let pre = &self.predictor.pre;
        json!({ "task": "collab", "classes": [], "input": "json", "example": { "user": "1", "n": 10 }, "users": pre.users.len().saturating_sub(1), "items": pre.items.len().saturating_sub(1) })
    }

    fn run(&self, inputs: Vec<Input>) -> Vec<Result<Value, ApiError>> {
        inputs
            .into_iter()
            .map(|i| match i {
                Input::Json(v) => self.answer(&v),
                Input::Image { .. } => Err(ApiError::unsupported("this model takes JSON: {\"user\": \"...\"}")),
            })
            .collect()
    }
}
