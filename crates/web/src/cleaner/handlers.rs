//! The cleaner's endpoints.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use crate::http::Json;
use serde::Deserialize;
use serde_json::{Value, json};

use super::CleanState;
use crate::clean::{Action, CleanError, Edit};
use crate::http::ApiError;
use crate::http::assets::{CLEAN_HTML, CLEAN_JS, html, image_type};
use crate::http::body::{parse_json, read_body};

type Shared = State<Arc<Mutex<CleanState>>>;

/// The largest page of images.
const MAX_PER_PAGE: usize = 500;
/// The largest body of decisions.
const MAX_APPLY_BYTES: usize = 4 << 20;

fn lock(s: &Arc<Mutex<CleanState>>) -> MutexGuard<'_, CleanState> {
    s.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// `GET /`: the page.
pub async fn page() -> Response {
    html(CLEAN_HTML)
}

/// `GET /clean.js`.
pub async fn script() -> Response {
    crate::http::assets::script(CLEAN_JS)
}

/// `GET /health`.
pub async fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /api/classes`: the model's classes, the splits present, the folder, the model, and the
/// labels CSV the next Apply edits (`null` for class folders).
pub async fn classes(State(s): Shared) -> Json<Value> {
    let s = lock(&s);
    Json(json!({
        "classes": s.ranking.classes,
        "splits": s.ranking.splits,
        "images": s.images.display().to_string(),
        "model": s.model.path.as_ref().map(|p| p.display().to_string()),
        "model_sha256": s.model.sha256,
        "labels_csv": s.csv.as_ref().map(|p| p.display().to_string()),
    }))
}

/// The query of `GET /api/items`.
#[derive(Deserialize)]
pub struct ItemsQuery {
    class: Option<String>,
    split: Option<String>,
    #[serde(default)]
    page: usize,
    per_page: Option<usize>,
}

/// `GET /api/items?class=C&split=S&page=P&per_page=N`: one page of images of class `C` in split
/// `S`, highest loss first.
pub async fn items(State(s): Shared, q: Result<Query<ItemsQuery>, axum::extract::rejection::QueryRejection>) -> Result<Json<Value>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(format!("bad query: {}", e.body_text())))?;
    let s = lock(&s);
    if let Some(c) = q.class.as_deref().filter(|c| !s.ranking.classes.iter().any(|k| k == c)) {
        return Err(ApiError::bad_request(format!("class '{c}' is not one of [{}]", s.ranking.classes.join(", "))));
    }
    if let Some(sp) = q.split.as_deref().filter(|sp| !s.ranking.splits.iter().any(|k| k == sp)) {
        return Err(ApiError::bad_request(format!("split '{sp}' is not one of [{}]", s.ranking.splits.join(", "))));
    }
    let per_page = q.per_page.unwrap_or(12);
    if per_page == 0 || per_page > MAX_PER_PAGE {
        return Err(ApiError::bad_request(format!("per_page {per_page} is not in 1..={MAX_PER_PAGE}")));
    }
    let selected: Vec<_> = s.ranking.select(q.class.as_deref(), q.split.as_deref()).collect();
    let page: Vec<_> = selected.iter().skip(q.page.saturating_mul(per_page)).take(per_page).collect();
    Ok(Json(json!({ "total": selected.len(), "page": q.page, "per_page": per_page, "items": page })))
}

/// The query of `GET /image`.
#[derive(Deserialize)]
pub struct ImageQuery {
    file: String,
}

/// `GET /image?file=F`: the bytes of an image of the ranking (no other file is served).
pub async fn image(State(s): Shared, q: Result<Query<ImageQuery>, axum::extract::rejection::QueryRejection>) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::bad_request(format!("bad query: {}", e.body_text())))?;
    let path = {
        let s = lock(&s);
        if !s.ranking.items.iter().any(|r| r.file == q.file) {
            return Err(ApiError::not_found(format!("'{}' is not an image of this folder", q.file)));
        }
        s.images.join(&q.file)
    };
    let bytes = tokio::fs::read(&path).await.map_err(|e| ApiError::not_found(format!("{}: {e}", q.file)))?;
    Ok(([(header::CONTENT_TYPE, image_type(&q.file))], bytes).into_response())
}

/// One decision as the page sends it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Decision {
    file: String,
    action: Action,
    #[serde(default)]
    new_label: Option<String>,
}

/// The body of `POST /api/apply`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApplyBody {
    decisions: Vec<Decision>,
}

/// `POST /api/apply` with `{"decisions": [{"file", "action", "new_label"}]}`: writes the edit
/// log and carries it out (for a labels CSV: writes the new CSV, which the next Apply starts
/// from). The label and loss of each file come from the ranking; a file not in it, or a new
/// label that is not a class, is refused before anything moves. The answer: `log`, `moved`
/// (files), `changed` (decisions other than keep), `csv` (the new CSV, or `null`), `edits`.
pub async fn apply(State(s): Shared, body: Body) -> Result<Json<Value>, ApiError> {
    let body: ApplyBody = parse_json(&read_body(body, MAX_APPLY_BYTES).await?)?;
    let s = s.clone();
    tokio::task::spawn_blocking(move || apply_now(&mut lock(&s), body)).await.map_err(|e| ApiError::internal(format!("the apply task failed: {e}")))?
}

fn apply_now(s: &mut CleanState, body: ApplyBody) -> Result<Json<Value>, ApiError> {
    let mut edits = Vec::with_capacity(body.decisions.len());
    let mut unknown = Vec::new();
    for d in body.decisions {
        let Some(r) = s.ranking.items.iter().find(|r| r.file == d.file) else {
            unknown.push(d.file);
            continue;
        };
        if let Some(n) = d.new_label.as_deref().filter(|n| !s.ranking.classes.iter().any(|c| c == n)) {
            return Err(ApiError::bad_request(format!("{}: new_label '{n}' is not one of the classes [{}]", d.file, s.ranking.classes.join(", "))));
        }
        edits.push(Edit::new(d.file, r.label.clone(), d.action, d.new_label, Some(r.loss)));
    }
    if !unknown.is_empty() {
        return Err(ApiError::bad_request(format!("not images of this folder (or moved already): {}", unknown.join(", "))));
    }
    if edits.is_empty() {
        return Err(ApiError::bad_request("no decisions to apply"));
    }
    let result = match &s.csv {
        Some(csv) => crate::clean::apply_csv(&s.images, csv, &s.model, edits),
        None => crate::clean::apply(&s.images, &s.model, edits),
    };
    match result {
        Ok(applied) => {
            let changed: Vec<String> = applied.log.edits.iter().filter(|e| e.action != Action::Keep).map(|e| e.file.clone()).collect();
            s.ranking.remove(&changed);
            let new_csv = applied.new_csv().map(std::path::Path::to_path_buf);
            if new_csv.is_some() {
                s.csv.clone_from(&new_csv);
            }
            Ok(Json(json!({
                "log": applied.log_path.display().to_string(),
                "moved": applied.moved(),
                "changed": changed.len(),
                "csv": new_csv.map(|p| p.display().to_string()),
                "edits": applied.log.edits,
            })))
        }
        Err(e @ CleanError::Refused { .. }) => Err(ApiError::conflict(e.to_string())),
        Err(e @ CleanError::Failed { .. }) => Err(ApiError::conflict(e.to_string())),
        Err(e @ CleanError::Log(_)) => Err(ApiError::internal(e.to_string())),
    }
}
