//! Exporting a trained tabular model with its preprocessing, and predicting new rows with it.

use std::fmt::Write as _;
use std::path::Path;

use burn::module::Module;
use burn::tensor::Device;
use burn::tensor::activation::softmax;
use kindling_core::export;
use kindling_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::data::{TabularBatch, TabularBatcher};
use crate::model::{TabularModel, TabularModelConfig};
use crate::procs::TabularProcs;
use crate::read::{ReadOptions, read_table};
use crate::roles::TaskKind;
use crate::table::{Column, Table};

/// The task name in the model header.
pub const TASK: &str = "tabular";

/// What the header's `preprocessing` holds for a tabular model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TabularPreprocessing {
    /// The fitted procs.
    pub procs: TabularProcs,
    /// How the training file was read (separator, NA markers, trimming).
    pub read: ReadOptions,
}

/// Writes the model and its preprocessing to one file.
pub fn export_tabular(path: &Path, model: &TabularModel, config: &TabularModelConfig, procs: &TabularProcs, read: &ReadOptions) -> Result<()> {
    let pre = TabularPreprocessing { procs: procs.clone(), read: read.clone() };
    export::export_task(path, model, TASK, config, &pre, procs.classes.clone(), None)
}

/// Predictions for rows, in their order.
#[derive(Clone, Debug, PartialEq)]
pub enum TabularPredictions {
    /// The class of each row, and its probabilities in class order.
    Classes {
        /// Class names.
        classes: Vec<String>,
        /// Predicted class index of each row.
        predicted: Vec<usize>,
        /// Probabilities, `n_rows × n_classes`.
        probs: Vec<f32>,
    },
    /// The predicted value of each row.
    Values(Vec<f32>),
}

/// A loaded tabular model, ready to predict.
pub struct TabularPredictor {
    /// Preprocessing from training.
    pub pre: TabularPreprocessing,
    model: TabularModel,
    device: Device,
}

impl TabularPredictor {
    /// Loads and checks a model file written by [`export_tabular`].
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        let f = export::open::<TabularModelConfig, TabularPreprocessing>(path, TASK, "a tabular one")?;
        let model = export::load(path, f.arch.init(device), f.bytes)?.valid();
        Ok(Self { pre: f.preprocessing, model, device: device.clone() })
    }

    /// Predictions for every row of `table` (which needs the input columns, not the target).
    pub fn predict_table(&self, table: &Table) -> Result<TabularPredictions> {
        let procs = &self.pre.procs;
        let processed = std::sync::Arc::new(procs.apply(table, false)?);
        let n = processed.n_rows;
        let batcher = TabularBatcher::new(processed, procs.cat_names().len(), procs.roles.cont.len());
        let mut out: Vec<f32> = Vec::new();
        let mut width = 0;
        for chunk in (0..n).collect::<Vec<_>>().chunks(1024) {
            let batch: TabularBatch = kindling_core::data::Batcher::batch(&batcher, chunk.to_vec(), &self.device)?;
            let mut preds = self.model.forward(&batch.cats, batch.conts);
            if procs.roles.kind == TaskKind::Classification {
                preds = softmax(preds, 1);
            }
            width = preds.dims()[1];
            out.extend(preds.into_data().convert::<f32>().try_into_vec::<f32>().map_err(|e| Error::Data(format!("{e:?}")))?);
        }
        Ok(match procs.roles.kind {
            TaskKind::Classification => {
                let predicted = out
                    .chunks(width.max(1))
                    .map(|r| r.iter().enumerate().fold(0, |best, (j, &p)| if p > r[best] { j } else { best }))
                    .collect();
                TabularPredictions::Classes { classes: procs.classes.clone(), predicted, probs: out }
            }
            TaskKind::Regression => TabularPredictions::Values(out),
        })
    }

    /// Reads `input`, predicts every row, and writes `output`: the input columns, then
    /// `prediction` (and `prob_<class>` for each class), one row per input row, in order.
    /// Returns the number of rows and, when `input` has the target column, the accuracy (or RMSE).
    pub fn predict_file(&self, input: &Path, read: &ReadOptions, output: &Path) -> Result<(usize, Option<f64>)> {
        let table = read_table(input, read, None)?;
        let preds = self.predict_table(&table)?;
        let n = table.n_rows();
        let sep = read.separator as char;
        let mut csv = String::new();
        let mut header: Vec<String> = table.names.clone();
        header.push("prediction".into());
        if let TabularPredictions::Classes { classes, .. } = &preds {
            header.extend(classes.iter().map(|c| format!("prob_{c}")));
        }
        csv.push_str(&header.iter().map(|h| quote(h, sep)).collect::<Vec<_>>().join(&sep.to_string()));
        csv.push('\n');
        for i in 0..n {
            let mut fields: Vec<String> = table.columns.iter().map(|c| c.category(i).unwrap_or_default()).collect();
            match &preds {
                TabularPredictions::Classes { classes, predicted, probs } => {
                    fields.push(classes[predicted[i]].clone());
                    let k = classes.len();
                    fields.extend(probs[i * k..(i + 1) * k].iter().map(|p| format!("{p:.6}")));
                }
                TabularPredictions::Values(v) => fields.push(format!("{}", v[i])),
            }
            let _ = writeln!(csv, "{}", fields.iter().map(|f| quote(f, sep)).collect::<Vec<_>>().join(&sep.to_string()));
        }
        kindling_core::io::write_atomic(output, csv.as_bytes())?;
        let score = table.get(&self.pre.procs.roles.target).map(|target| score(&preds, target));
        Ok((n, score.flatten()))
    }
}

/// Accuracy (classification) or RMSE (regression) against a target column, over the rows where
/// the target is present.
fn score(preds: &TabularPredictions, target: &Column) -> Option<f64> {
    match preds {
        TabularPredictions::Classes { classes, predicted, .. } => {
            let (mut ok, mut n) = (0usize, 0usize);
            for (i, &p) in predicted.iter().enumerate() {
                if let Some(t) = target.category(i) {
                    // adult.test writes its labels with a trailing period.
                    let t = t.trim_end_matches('.');
                    ok += usize::from(classes[p] == t);
                    n += 1;
                }
            }
            (n > 0).then(|| ok as f64 / n as f64)
        }
        TabularPredictions::Values(v) => {
            let Column::Numeric { values, .. } = target else { return None };
            let errs: Vec<f64> = v.iter().zip(values).filter_map(|(p, t)| t.map(|t| (*p as f64 - t).powi(2))).collect();
            (!errs.is_empty()).then(|| (errs.iter().sum::<f64>() / errs.len() as f64).sqrt())
        }
    }
}

fn quote(field: &str, sep: char) -> String {
    if field.contains(sep) || field.contains('"') || field.contains('\n') {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}
