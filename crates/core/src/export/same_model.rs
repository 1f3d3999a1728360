//! Whether a model file holds the model a run is about to build: what `train --from FILE`
//! (fastai's "fit again" on a finished model) checks before it loads the file's weights, so
//! that other flags or other data give an error naming what differs, not a shape error from
//! deep inside the loader or, worse, weights that silently mean something else (an embedding
//! row for another category, an output for another class).

use std::path::Path;

use serde_json::Value;

use super::file::read;
use super::header::ModelHeader;
use crate::error::{Error, Result};

/// Checks the model file at `path` against `expected` (the header the run would write, from
/// [`super::task_header`]): the same task, architecture and classes, and the same values under
/// the `preprocessing` keys listed in `fitted` (the state fitted on the data that gives the
/// weights their meaning: vocabularies, normalisation statistics; facts such as where the data
/// was read from may change). Returns the checked file for [`super::weights_from_bytes`].
///
/// ```
/// use kindling_core::export::{same_model, task_header};
/// use serde_json::json;
///
/// let dir = std::env::temp_dir().join(format!("kindling-same-model-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let file = dir.join("model.safetensors");
/// let device = burn::tensor::Device::flex();
/// let model = burn::nn::LinearConfig::new(2, 2).init(&device);
/// let arch = json!({"layers": [200, 100]});
/// let pre = json!({"vocab": ["a", "b"], "file": "old.csv"});
/// let classes = vec!["no".to_string(), "yes".to_string()];
/// kindling_core::export::export_task(&file, &model, "tabular", &arch, &pre, classes.clone(), None).unwrap();
///
/// // The same model on data read from elsewhere: fine.
/// let moved = task_header("tabular", &arch, &json!({"vocab": ["a", "b"], "file": "new.csv"}), classes.clone()).unwrap();
/// assert!(same_model(&file, &moved, &["vocab"]).is_ok());
/// // Other layers, or another vocabulary: refused, naming what differs.
/// let wider = task_header("tabular", &json!({"layers": [400, 100]}), &pre, classes.clone()).unwrap();
/// let err = same_model(&file, &wider, &["vocab"]).unwrap_err().to_string();
/// assert!(err.contains("layers: [400,100] (the model file: [200,100])"), "{err}");
/// let other = task_header("tabular", &arch, &json!({"vocab": ["a", "c"]}), classes).unwrap();
/// assert!(same_model(&file, &other, &["vocab"]).unwrap_err().to_string().contains("vocab"));
/// # std::fs::remove_dir_all(&dir).unwrap();
/// ```
pub fn same_model(path: &Path, expected: &ModelHeader, fitted: &[&str]) -> Result<Vec<u8>> {
    let (found, bytes) = read(path)?;
    if found.task != expected.task {
        return Err(Error::bad_file(path, format!("a {} model; this command trains a {} model", found.task, expected.task)));
    }
    let mut diffs = Vec::new();
    differences("", &expected.arch, &found.arch, &mut diffs);
    if expected.classes != found.classes {
        diffs.push(format!("classes: {} (the model file: {})", list(&expected.classes), list(&found.classes)));
    }
    for key in fitted {
        let (now, then) = (&expected.preprocessing[key], &found.preprocessing[key]);
        if now != then {
            let mut inner = Vec::new();
            differences(key, now, then, &mut inner);
            let first = inner.first().map(|d| format!(", first at {d}")).unwrap_or_default();
            diffs.push(format!("the data's {key} (fitted on the training data) differs from the model's{first}"));
        }
    }
    if diffs.is_empty() {
        return Ok(bytes);
    }
    Err(Error::invalid(
        "--from",
        format!(
            "{} holds another model than these flags and data build; give the flags and data it was trained with. Differs: {}",
            path.display(),
            diffs.join("; ")
        ),
    ))
}

/// The leaves in which `now` differs from `then`, as `path: now (the model file: then)`.
fn differences(path: &str, now: &Value, then: &Value, out: &mut Vec<String>) {
    match (now, then) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            for k in keys {
                let sub = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                differences(&sub, a.get(k).unwrap_or(&Value::Null), b.get(k).unwrap_or(&Value::Null), out);
            }
        }
        _ if now != then => out.push(format!("{path}: {} (the model file: {})", short(now), short(then))),
        _ => {}
    }
}

/// A value in at most 60 characters.
fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() <= 60 { s } else { format!("{}…", s.chars().take(59).collect::<String>()) }
}

fn list(names: &[String]) -> String {
    short(&Value::from(names.to_vec()))
}
