//! Request bodies read with a size bound, and JSON parsed with errors that name the field.

use axum::body::{Body, Bytes};
use serde::de::DeserializeOwned;

use crate::http::error::ApiError;

/// Reads a body of at most `limit` bytes; a larger one is a 413.
pub async fn read_body(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, limit).await.map_err(|e| {
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(s) = source {
            if s.to_string().contains("length limit exceeded") {
                return ApiError::too_large(limit);
            }
            source = s.source();
        }
        ApiError::bad_request(format!("the request body could not be read: {e}"))
    })
}

/// `bytes` as JSON of type `T`; malformed JSON or a wrong field is a 400 that says where.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.is_empty() {
        return Err(ApiError::bad_request("the request body is empty; send JSON"));
    }
    serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request(format!("the JSON body is not what this endpoint takes: {e}")))
}
