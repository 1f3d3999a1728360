//! A tabular model behind the server: rows as JSON objects keyed by column name, answered with
//! the predicted class and its probabilities (or the predicted value).

use std::path::Path;

use burn::tensor::Device;
use kindling_core::Result;
use kindling_tabular::predict::{TabularPredictions, TabularPredictor};
use kindling_tabular::table::format_number;
use kindling_tabular::{Column, Table};
use serde_json::{Map, Value, json};

use crate::http::ApiError;
use crate::serve::engine::{Engine, Input, model_error, only_fields};

/// Most rows in one request.
const MAX_ROWS: usize = 10_000;

/// A loaded tabular model.
pub struct TabularEngine {
    predictor: TabularPredictor,
}

impl TabularEngine {
    /// A model file written by kindling-tabular.
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        Ok(Self { predictor: TabularPredictor::load(path, device)? })
    }

    /// The input columns: categorical first, then continuous.
    fn columns(&self) -> Vec<(&str, bool)> {
        let roles = &self.predictor.pre.procs.roles;
        roles.cat.iter().map(|c| (c.as_str(), true)).chain(roles.cont.iter().map(|c| (c.as_str(), false))).collect()
    }

    /// The rows of a request as a table: every input column must be there (null for a missing
    /// value); other keys are refused by name.
    fn table(&self, v: &Value) -> Result<Table, ApiError> {
        only_fields(v, &["row", "rows"])?;
        let rows: Vec<&Map<String, Value>> = match (v.get("row"), v.get("rows")) {
            (Some(Value::Object(r)), None) => vec![r],
            (None, Some(Value::Array(a))) => a.iter().enumerate().map(|(i, r)| r.as_object().ok_or_else(|| ApiError::bad_request(format!("rows[{i}] is not an object")))).collect::<Result<_, _>>()?,
            _ => return Err(ApiError::bad_request("send {\"row\": {column: value, ...}} or {\"rows\": [...]}")),
        };
        if rows.is_empty() || rows.len() > MAX_ROWS {
            return Err(ApiError::bad_request(format!("send 1 to {MAX_ROWS} rows, not {}", rows.len())));
        }
        let columns = self.columns();
        let target = &self.predictor.pre.procs.roles.target;
        for (i, r) in rows.iter().enumerate() {
            let unknown: Vec<&str> = r.keys().map(String::as_str).filter(|k| *k != target.as_str() && !columns.iter().any(|(c, _)| c == k)).collect();
            let missing: Vec<&str> = columns.iter().map(|(c, _)| *c).filter(|c| !r.contains_key(*c)).collect();
            if !unknown.is_empty() || !missing.is_empty() {
                return Err(ApiError::bad_request(format!(
                    "row {i}: {}{}; the columns are {}",
                    if unknown.is_empty() { String::new() } else { format!("unknown column(s) {}", unknown.join(", ")) },
                    if missing.is_empty() { String::new() } else { format!("{}missing column(s) {} (null marks a missing value)", if unknown.is_empty() { "" } else { ", " }, missing.join(", ")) },
                    columns.iter().map(|(c, _)| *c).collect::<Vec<_>>().join(", ")
                )));
            }
        }
        let mut table = Table::default();
        for (name, categorical) in columns {
            let values: Vec<&Value> = rows.iter().map(|r| &r[name]).collect();
            table.names.push(name.to_string());
            table.columns.push(column(name, categorical, &values)?);
        }
        Ok(table)
    }

    fn answer(&self, v: &Value) -> Result<Value, ApiError> {
        let table = self.table(v)?;
        let preds = self.predictor.predict_table(&table).map_err(model_error)?;
        Ok(match preds {
            TabularPredictions::Classes { classes, predicted, probs } => {
                let k = classes.len().max(1);
                let rows: Vec<Value> = predicted
                    .iter()
                    .zip(probs.chunks(k))
                    .map(|(&p, row)| json!({ "prediction": classes[p], "probs": classes.iter().cloned().zip(row.iter().map(|&x| json!(x))).collect::<Map<_, _>>() }))
                    .collect();
                json!({ "predictions": rows })
            }
            TabularPredictions::Values(v) => json!({ "predictions": v.iter().map(|x| json!({ "prediction": x })).collect::<Vec<_>>() }),
        })
    }
}

/// One column of the request: numbers for a continuous column (a number, a numeric string or
/// null), and for a categorical one the values as the training file's text (numbers written as
/// the reader writes them).
fn column(name: &str, categorical: bool, values: &[&Value]) -> Result<Column, ApiError> {
    let bad = |i: usize, v: &Value, what: &str| ApiError::bad_request(format!("row {i}, column '{name}': {v} is not {what}"));
    if categorical {
        let text = values
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::Null => Ok(None),
                Value::String(s) => Ok(Some(s.clone())),
                Value::Number(n) => Ok(n.as_f64().map(format_number)),
                Value::Bool(b) => Ok(Some(if *b { "True" } else { "False" }.to_string())),
                other => Err(bad(i, other, "a category")),
            })
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Column::Text(text));
    }
    let nums = values
        .iter()
        .enumerate()
        .map(|(i, v)| match v {
            Value::Null => Ok(None),
            Value::Number(n) => n.as_f64().map(Some).ok_or_else(|| bad(i, v, "a number")),
            Value::String(s) if s.trim().is_empty() => Ok(None),
            Value::String(s) => s.trim().parse::<f64>().ok().filter(|x| x.is_finite()).map(Some).ok_or_else(|| bad(i, v, "a number")),
            other => Err(bad(i, other, "a number")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Column::numeric(nums))
}

impl Engine for TabularEngine {
    fn info(&self) -> Value {
        let procs = &self.predictor.pre.procs;
        let cats: Vec<Value> = procs
            .categorify
            .vocabs
            .iter()
            .filter(|(n, _)| procs.roles.cat.contains(n))
            .map(|(n, v)| json!({ "name": n, "kind": "category", "values": v.iter().filter(|x| x.as_str() != "#na#").collect::<Vec<_>>() }))
            .collect();
        let conts: Vec<Value> = procs.roles.cont.iter().map(|n| json!({ "name": n, "kind": "number" })).collect();
        json!({
            "task": "tabular",
            "classes": procs.classes,
            "target": procs.roles.target,
            "kind": format!("{:?}", procs.roles.kind).to_lowercase(),
            "columns": cats.into_iter().chain(conts).collect::<Vec<_>>(),
            "input": "json",
            "example": { "row": {} },
        })
    }

    fn run(&self, inputs: Vec<Input>) -> Vec<Result<Value, ApiError>> {
        inputs
            .into_iter()
            .map(|i| match i {
                Input::Json(v) => self.answer(&v),
                Input::Image { .. } => Err(ApiError::unsupported("this model takes JSON: {\"row\": {...}}")),
            })
            .collect()
    }
}
