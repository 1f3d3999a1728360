//! Exporting a trained tabular model with its preprocessing, and predicting new rows with it.

use std::fmt::Write as _;
use std::path::Path;

use burn::module::Module;
use burn::tensor::Device;
use burn::tensor::activation::softmax;
use kindling_core::export::{self, ModelHeader, SplitRecord};
use kindling_core::{Error, Result};
use serde::{Deserialize, Serialize};

use crate::data::{TabularBatch, TabularBatcher};
use crate::model::{TabularModel, TabularModelConfig};
use crate::procs::{Processed, TabularProcs};
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
    /// The table the model was trained on and how it was split, when the file records it
    /// (`train` does; `interpret` rebuilds the validation set from it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<TrainingSource>,
}

/// The table a model was trained on and the flags that split it: what `interpret` needs to
/// rebuild the validation set without the user repeating anything.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainingSource {
    /// The table's path, absolute (`None` for a `--dataset`).
    pub csv: Option<String>,
    /// The fetched data set (`--dataset`), instead of a path.
    pub dataset: Option<String>,
    /// `--valid-pct` of a random split.
    pub valid_pct: f64,
    /// `--test-pct` of a random split.
    pub test_pct: f64,
    /// `--valid-col`: the boolean column that split the rows instead (then the two shares
    /// do not apply).
    pub valid_col: Option<String>,
    /// `--seed`.
    pub seed: u64,
}

impl TrainingSource {
    /// The split's flags in words, the [`SplitRecord`]'s method: `random, --valid-pct 0.2,
    /// --test-pct 0.1` or `column, --valid-col is_valid`.
    pub fn split_method(&self) -> String {
        match &self.valid_col {
            Some(c) => format!("column, --valid-col {c}"),
            None if self.test_pct > 0.0 => format!("random, --valid-pct {}, --test-pct {}", self.valid_pct, self.test_pct),
            None => format!("random, --valid-pct {}", self.valid_pct),
        }
    }
}

/// The record of `splits` over the rows of `table`: each validation row's key is its number
/// and its fields, so that `interpret` notices changed rows as well as another split.
pub fn split_record(source: &TrainingSource, table: &Table, splits: &kindling_core::data::Splits) -> SplitRecord {
    SplitRecord::new(&source.split_method(), source.seed, splits, |i| {
        let fields: Vec<String> = table.columns.iter().map(|c| c.category(i).unwrap_or_default()).collect();
        format!("{i}\t{}", fields.join("\t"))
    })
}

/// Writes the model and its preprocessing to one file.
pub fn export_tabular(path: &Path, model: &TabularModel, config: &TabularModelConfig, procs: &TabularProcs, read: &ReadOptions) -> Result<()> {
    export_tabular_with_source(path, model, config, procs, read, None, None)
}

/// [`export_tabular`], also recording the table trained on, its split flags and the
/// [`SplitRecord`] of the split (what `interpret` reads back).
pub fn export_tabular_with_source(
    path: &Path,
    model: &TabularModel,
    config: &TabularModelConfig,
    procs: &TabularProcs,
    read: &ReadOptions,
    source: Option<TrainingSource>,
    split: Option<SplitRecord>,
) -> Result<()> {
    let pre = TabularPreprocessing { procs: procs.clone(), read: read.clone(), source };
    export::export_task(path, model, TASK, config, &pre, procs.classes.clone(), split)
}

/// The header [`export_tabular`] writes for a model of `config` on data prepared by `procs`:
/// what `train --from` checks a model file against. The fitted `procs` (categories, fill
/// values, normalisation statistics) are what must match ([`FITTED`]); the file read may differ.
pub fn tabular_header(config: &TabularModelConfig, procs: &TabularProcs, read: &ReadOptions) -> Result<ModelHeader> {
    let pre = TabularPreprocessing { procs: procs.clone(), read: read.clone(), source: None };
    export::task_header(TASK, config, &pre, procs.classes.clone())
}

/// The preprocessing keys fitted on the training rows that give the weights their meaning.
pub const FITTED: [&str; 1] = ["procs"];

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
    /// The record of the train/valid split, when the file has one.
    pub split: Option<SplitRecord>,
    model: TabularModel,
    device: Device,
}

impl TabularPredictor {
    /// Loads and checks a model file written by [`export_tabular`].
    pub fn load(path: &Path, device: &Device) -> Result<Self> {
        let f = export::open::<TabularModelConfig, TabularPreprocessing>(path, TASK, "a tabular one")?;
        let model = export::load(path, f.arch.init(device), f.bytes)?.valid();
        Ok(Self { pre: f.preprocessing, split: f.split, model, device: device.clone() })
    }

    /// The model's outputs for every row of `processed` (probabilities for a classifier, one
    /// row of `width` values each; the value for a regression), row-major.
    pub fn predict_processed(&self, processed: std::sync::Arc<Processed>) -> Result<Vec<f32>> {
        let procs = &self.pre.procs;
        let n = processed.n_rows;
        let batcher = TabularBatcher::new(processed, procs.cat_names().len(), procs.roles.cont.len());
        let mut out: Vec<f32> = Vec::new();
        for chunk in (0..n).collect::<Vec<_>>().chunks(1024) {
            let batch: TabularBatch = kindling_core::data::Batcher::batch(&batcher, chunk.to_vec(), &self.device)?;
            let mut preds = self.model.forward(&batch.cats, batch.conts);
            if procs.roles.kind == TaskKind::Classification {
                preds = softmax(preds, 1);
            }
            out.extend(preds.into_data().convert::<f32>().try_into_vec::<f32>().map_err(|e| Error::Data(format!("{e:?}")))?);
        }
        Ok(out)
    }

    /// Predictions for every row of `table` (which needs the input columns, not the target).
    pub fn predict_table(&self, table: &Table) -> Result<TabularPredictions> {
        let procs = &self.pre.procs;
        let out = self.predict_processed(std::sync::Arc::new(procs.apply(table, false)?))?;
        let width = match procs.roles.kind {
            TaskKind::Classification => procs.classes.len(),
            TaskKind::Regression => 1,
        };
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
        // A problem with the rows is reported against the file they are in.
        let preds = self.predict_table(&table).map_err(|e| match e {
            Error::Data(m) => Error::bad_file(input, m),
            e => e,
        })?;
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
