//! Loading a model file for the server: its header's task picks the engine, which is loaded on
//! the worker thread.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use kindling_core::{Error, Result};
use serde_json::Value;

use crate::serve::engines::collab::CollabEngine;
use crate::serve::engines::segmentation::SegEngine;
use crate::serve::engines::tabular::TabularEngine;
use crate::serve::engines::text::TextEngine;
use crate::serve::engines::vision::VisionEngine;
use crate::serve::worker::{BatchOptions, Queue, start};

/// The tasks the server loads, by the name model headers give them.
pub const TASKS: [&str; 5] = ["vision", "segmentation", "tabular", "collab", "text"];

/// Where the model comes from.
#[derive(Clone, Debug)]
pub enum ModelSource {
    /// A kindling model file.
    File(PathBuf),
    /// Pretrained ImageNet weights for `arch`, with class names.
    Pretrained {
        /// The architecture (`efficientnet-lite0`, `resnet18` …).
        arch: String,
        /// The weights file.
        weights: PathBuf,
        /// Class names in output order.
        classes: Vec<String>,
    },
}

/// The task a model file's header names, after checking the file.
pub fn task_of(path: &Path) -> Result<String> {
    let (header, _) = kindling_core::export::read(path)?;
    if !TASKS.contains(&header.task.as_str()) {
        return Err(Error::bad_file(path, format!("task '{}' is not one the server loads ({})", header.task, TASKS.join(", "))));
    }
    Ok(header.task)
}

/// Loads `source` on a worker thread; returns its queue and its description (`GET /model`),
/// with the training metrics of a `metrics.json` beside a model file.
pub fn load(source: &ModelSource, device: &Device, opts: BatchOptions) -> Result<(Queue, Value)> {
    let d = device.clone();
    let (queue, mut info) = match source.clone() {
        ModelSource::Pretrained { arch, weights, classes } => start(move || VisionEngine::pretrained(&arch, &weights, classes, &d), opts)?,
        ModelSource::File(p) => match task_of(&p)?.as_str() {
            "vision" => start(move || VisionEngine::load(&p, &d), opts)?,
            "segmentation" => start(move || SegEngine::load(&p, &d), opts)?,
            "tabular" => start(move || TabularEngine::load(&p, &d), opts)?,
            "collab" => start(move || CollabEngine::load(&p, &d), opts)?,
            _ => start(move || TextEngine::load(&p, &d), opts)?,
        },
    };
    if let ModelSource::File(p) = source {
        info["file"] = Value::from(p.display().to_string());
        let metrics = p.parent().map(|d| d.join("metrics.json")).and_then(|m| std::fs::read_to_string(m).ok()).and_then(|t| serde_json::from_str::<Value>(&t).ok());
        info["metrics"] = metrics.map(|m| m.get("final").cloned().unwrap_or(m)).unwrap_or(Value::Null);
    }
    info["batching"] = serde_json::json!({ "max_batch": opts.max_batch, "max_wait_ms": opts.max_wait.as_secs_f64() * 1000.0, "queue": opts.queue });
    Ok((queue, info))
}
