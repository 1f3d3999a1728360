//! The pages, their script and their style sheet, compiled into the binary.

use axum::http::header;
use axum::response::{Html, IntoResponse, Response};

/// The style sheet both pages share.
pub const STYLE: &str = include_str!("../../assets/style.css");
/// The cleaner page.
pub const CLEAN_HTML: &str = include_str!("../../assets/clean.html");
/// The cleaner page's script.
pub const CLEAN_JS: &str = include_str!("../../assets/clean.js");
/// The model server's page.
pub const SERVE_HTML: &str = include_str!("../../assets/serve.html");
/// The model server's script.
pub const SERVE_JS: &str = include_str!("../../assets/serve.js");

/// An HTML page.
pub fn html(page: &'static str) -> Response {
    Html(page).into_response()
}

/// A script.
pub fn script(js: &'static str) -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8")], js).into_response()
}

/// The style sheet.
pub async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE).into_response()
}

/// The content type of an image file, by its extension.
pub fn image_type(file: &str) -> &'static str {
    match file.rsplit('.').next().map(str::to_ascii_lowercase).as_deref() {
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("webp") => "image/webp",
        Some("bmp") => "image/bmp",
        Some("tif" | "tiff") => "image/tiff",
        _ => "application/octet-stream",
    }
}
