//! The model server's endpoints.

use std::sync::Arc;

use crate::http::Json;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::ServeState;
use crate::http::ApiError;
use crate::http::assets::{SERVE_HTML, SERVE_JS, html};
use crate::http::body::{parse_json, read_body};
use crate::http::multipart::{boundary, file_part};
use crate::serve::engine::Input;

type Shared = State<Arc<ServeState>>;

/// Most pixels of an uploaded image (a guard against decompression bombs).
const MAX_PIXELS: u64 = 40_000_000;
/// Largest JSON body.
const MAX_JSON_BYTES: usize = 1 << 20;

/// `GET /`: the page, which fits itself to `GET /model`.
pub async fn page() -> Response {
    html(SERVE_HTML)
}

/// `GET /serve.js`.
pub async fn script() -> Response {
    crate::http::assets::script(SERVE_JS)
}

/// `GET /health`.
pub async fn health(State(s): Shared) -> Json<Value> {
    Json(json!({ "status": "ok", "task": s.info["task"] }))
}

/// `GET /model`: task, classes, columns, training metrics, batching.
pub async fn model(State(s): Shared) -> Json<Value> {
    Json(s.info.clone())
}

/// The query of `POST /predict`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PredictQuery {
    k: Option<usize>,
}

/// `POST /predict`: for image models an image as the raw body or as the file of a
/// `multipart/form-data` form (`?k=N` classes, 5 or all when fewer by default); JSON for the
/// others.
pub async fn predict(State(s): Shared, q: Result<Query<PredictQuery>, axum::extract::rejection::QueryRejection>, headers: HeaderMap, body: Body) -> Result<Json<Value>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(format!("bad query: {}", e.body_text())))?;
    let ctype = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    let json_body = ctype.starts_with("application/json");
    let input = match s.image_channels {
        Some(channels) => {
            if json_body || ctype.starts_with("text/") || (ctype.starts_with("multipart/") && !ctype.starts_with("multipart/form-data")) {
                return Err(ApiError::unsupported(format!("this model takes an image as the raw request body or a multipart/form-data file, not {ctype}")));
            }
            let n_classes = s.info["classes"].as_array().map_or(0, Vec::len).max(1);
            let k = q.k.unwrap_or(n_classes.min(5));
            if k == 0 || k > n_classes {
                return Err(ApiError::bad_request(format!("k {k} is not in 1..={n_classes}")));
            }
            let mut bytes = read_body(body, s.max_image_bytes).await?;
            if ctype.starts_with("multipart/form-data") {
                // The boundary keeps its case: take it from the header as sent.
                let sent = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
                let part = file_part(&bytes, &boundary(sent)?)?;
                bytes = bytes.slice_ref(part);
            }
            if bytes.is_empty() {
                return Err(ApiError::bad_request("the image is empty: send its bytes as the body, or as a multipart/form-data file"));
            }
            let opts = kindling_vision::data::decode::DecodeOptions { channels, max_pixels: MAX_PIXELS };
            let image = tokio::task::spawn_blocking(move || kindling_vision::data::decode::decode_bytes(&bytes, opts))
                .await
                .map_err(|e| ApiError::internal(format!("decoding failed: {e}")))?
                .map_err(|why| ApiError::bad_request(format!("the request body is not an image this server can read: {why}")))?;
            Input::Image { image, k }
        }
        None => {
            if !json_body && !ctype.is_empty() {
                return Err(ApiError::unsupported(format!("this model takes JSON (Content-Type: application/json), not {ctype}")));
            }
            if q.k.is_some() {
                return Err(ApiError::bad_request("k applies to image models only"));
            }
            Input::Json(parse_json(&read_body(body, MAX_JSON_BYTES).await?)?)
        }
    };
    s.queue.submit(input).await.map(Json)
}
