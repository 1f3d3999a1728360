//! JSON answers. axum's own `Json` needs its `json` feature, which turns on serde_json's
//! `raw_value` for the whole build (and so rebuilds the burn stack); this is the same thing
//! for the answers kindling-web writes.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A value answered as `application/json`.
#[derive(Clone, Debug, PartialEq)]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        match serde_json::to_vec(&self.0) {
            Ok(bytes) => ([(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
            Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, [(header::CONTENT_TYPE, "application/json")], format!("{{\"error\": \"the answer could not be written as JSON: {}\"}}", e.to_string().replace('"', "'"))).into_response(),
        }
    }
}
