//! What a served model does: describe itself, and answer a batch of inputs in one go.

use kindling_vision::data::Image;
use serde_json::Value;

use crate::http::ApiError;

/// One request's input, checked as far as the server can without the model.
#[derive(Clone, Debug)]
pub enum Input {
    /// A decoded image (vision, segmentation) and how many classes to answer with.
    Image {
        /// The pixels.
        image: Image,
        /// Classes to answer with (vision).
        k: usize,
    },
    /// A JSON body (tabular, text, collab).
    Json(Value),
}

/// A loaded model behind the server. It lives on the worker thread that loaded it.
pub trait Engine {
    /// The task, classes, columns and what `/predict` takes, as `GET /model` shows them.
    fn info(&self) -> Value;
    /// The answer to each input, in order: one forward pass for the batch where the task
    /// allows it. A bad input is a 4xx for that input alone.
    fn run(&self, inputs: Vec<Input>) -> Vec<Result<Value, ApiError>>;
}

/// A kindling error from a predictor as an API error: a named setting or field the request got
/// wrong is a 422, anything else the model could not do with the input a 422 as well, with its
/// message.
pub fn model_error(e: kindling_core::Error) -> ApiError {
    ApiError::unprocessable(e.to_string())
}

/// `v`'s string field `name`, or a 400 that names it.
pub fn str_field<'a>(v: &'a Value, name: &str) -> Result<&'a str, ApiError> {
    v.get(name).and_then(Value::as_str).ok_or_else(|| ApiError::bad_request(format!("the JSON body needs a string field '{name}'")))
}

/// Refuses fields of `v` other than `allowed`, naming them.
pub fn only_fields(v: &Value, allowed: &[&str]) -> Result<(), ApiError> {
    let obj = v.as_object().ok_or_else(|| ApiError::bad_request("the JSON body must be an object"))?;
    let extra: Vec<&str> = obj.keys().map(String::as_str).filter(|k| !allowed.contains(k)).collect();
    if extra.is_empty() {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!("unknown field(s) {}; this model takes {}", extra.join(", "), allowed.join(", "))))
    }
}
