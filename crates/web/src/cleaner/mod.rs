//! The cleaner page's server: the ranking of a folder by a model, served page by page, and the
//! decisions sent back applied through [`crate::clean`]: files moved between class folders, or,
//! for images labelled by a CSV, a new CSV written beside it.

mod handlers;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::{get, post};

use crate::clean::ModelStamp;
use crate::rank::Ranking;

/// What the cleaner's handlers share.
pub struct CleanState {
    /// The image folder.
    pub images: PathBuf,
    /// The model that ranked it.
    pub model: ModelStamp,
    /// The ranking, less the files changed since.
    pub ranking: Ranking,
    /// For images labelled by a CSV, the CSV the next Apply starts from: the one given, then
    /// the one each Apply wrote (`None`: the images are labelled by their class folders).
    pub csv: Option<PathBuf>,
}

/// The cleaner's routes over `state`.
pub fn router(state: CleanState) -> Router {
    let state = Arc::new(Mutex::new(state));
    Router::new()
        .route("/", get(handlers::page))
        .route("/clean.js", get(handlers::script))
        .route("/style.css", get(crate::http::assets::style))
        .route("/health", get(handlers::health))
        .route("/api/classes", get(handlers::classes))
        .route("/api/items", get(handlers::items))
        .route("/image", get(handlers::image))
        .route("/api/apply", post(handlers::apply))
        .fallback(crate::http::error::no_route)
        .method_not_allowed_fallback(crate::http::error::wrong_method)
        .with_state(state)
}
