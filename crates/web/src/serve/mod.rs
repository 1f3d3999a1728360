//! The model server: any kindling model file (or pretrained ImageNet weights) loaded once on a
//! worker thread that batches requests (see [`worker`]), behind `GET /` (a page that fits the
//! model), `POST /predict`, `GET /health` and `GET /model`.

pub mod engine;
pub mod engines;
mod handlers;
pub mod load;
pub mod worker;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use serde_json::Value;

use crate::serve::worker::Queue;

/// Largest image body, in bytes, unless told otherwise.
pub const MAX_IMAGE_BYTES: usize = 20 << 20;

/// What the server's handlers share.
pub struct ServeState {
    /// The model's queue.
    pub queue: Queue,
    /// What `GET /model` answers.
    pub info: Value,
    /// The channels images are decoded to, for image models (`None`: the model takes JSON).
    pub image_channels: Option<usize>,
    /// Largest image body accepted.
    pub max_image_bytes: usize,
}

impl ServeState {
    /// The state for a loaded model, from its description.
    pub fn new(queue: Queue, info: Value) -> Self {
        let image_channels = (info["input"] == "image").then(|| info["channels"].as_u64().unwrap_or(3) as usize);
        Self { queue, info, image_channels, max_image_bytes: MAX_IMAGE_BYTES }
    }
}

/// The server's routes.
pub fn router(state: ServeState) -> Router {
    Router::new()
        .route("/", get(handlers::page))
        .route("/serve.js", get(handlers::script))
        .route("/style.css", get(crate::http::assets::style))
        .route("/health", get(handlers::health))
        .route("/model", get(handlers::model))
        .route("/predict", post(handlers::predict))
        .fallback(crate::http::error::no_route)
        .method_not_allowed_fallback(crate::http::error::wrong_method)
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(Arc::new(state))
}
