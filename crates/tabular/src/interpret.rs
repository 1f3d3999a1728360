//! Where a trained tabular model goes wrong, on the validation rows it was measured on:
//! fastai's `ClassificationInterpretation` (confusion matrix, most confused classes,
//! classification report) for a classifier, the rows with the highest loss with their values
//! (for a regression, the largest squared errors), and permutation feature importance
//! ([`crate::importance`]): the drop in accuracy, or the rise in RMSE, when one column is
//! shuffled among the validation rows.

use std::fmt::Write as _;
use std::sync::Arc;

use kindling_core::interpret::ClassificationInterpretation;
use kindling_core::{Error, Result};

use crate::importance::{PermutationImportance, permutation_importance};
use crate::predict::TabularPredictor;
use crate::procs::{Processed, TabularProcs, Targets};
use crate::table::Table;

/// One of the rows with the highest loss.
#[derive(Clone, Debug, PartialEq)]
pub struct TopLossRow {
    /// The row's position in the table (0-based).
    pub row: usize,
    /// The true target, as text.
    pub actual: String,
    /// The prediction, as text.
    pub predicted: String,
    /// The probability of the predicted class (classification).
    pub prob: Option<f32>,
    /// Its loss: cross-entropy for a classifier, the squared error for a regression.
    pub loss: f32,
}

/// How the model did on the interpreted rows.
#[derive(Clone, Debug)]
pub enum Outcome {
    /// A classifier's probabilities, confusion matrix and report.
    Classification(ClassificationInterpretation),
    /// A regression's predictions and targets, in row order.
    Regression {
        /// The predicted values.
        preds: Vec<f32>,
        /// The true values.
        targets: Vec<f32>,
    },
}

/// A tabular model interpreted on some rows of a table (the validation rows).
#[derive(Clone, Debug)]
pub struct TabularInterpretation {
    /// The rows interpreted (positions in the table), in order.
    pub rows: Vec<usize>,
    /// Predictions and targets.
    pub outcome: Outcome,
    /// The `k` rows with the highest loss, highest first.
    pub top_losses: Vec<TopLossRow>,
    /// The metric (`accuracy` or `rmse`) and each input column's permutation importance.
    pub importance: PermutationImportance,
}

/// The metric of the interpretation: accuracy for a classifier, RMSE for a regression.
pub fn metric_name(procs: &TabularProcs) -> &'static str {
    match procs.roles.kind {
        crate::roles::TaskKind::Classification => "accuracy",
        crate::roles::TaskKind::Regression => "rmse",
    }
}

/// The rows `rows` of `p`, in that order.
fn subset(p: &Processed, rows: &[usize]) -> Processed {
    let n_cat = if p.n_rows == 0 { 0 } else { p.cats.len() / p.n_rows };
    let n_cont = if p.n_rows == 0 { 0 } else { p.conts.len() / p.n_rows };
    Processed {
        n_rows: rows.len(),
        cats: rows.iter().flat_map(|&r| p.cats[r * n_cat..(r + 1) * n_cat].iter().copied()).collect(),
        conts: rows.iter().flat_map(|&r| p.conts[r * n_cont..(r + 1) * n_cont].iter().copied()).collect(),
        target: p.target.as_ref().map(|t| match t {
            Targets::Classes(c) => Targets::Classes(rows.iter().map(|&r| c[r]).collect()),
            Targets::Values(v) => Targets::Values(rows.iter().map(|&r| v[r]).collect()),
        }),
    }
}

/// `p` with input column `j` of `procs` (categorical columns first, then continuous ones)
/// permuted: row `i` takes row `perm[i]`'s value. A continuous column's `_na` flag moves with
/// its value, as shuffling the raw column would.
fn permuted(p: &Processed, procs: &TabularProcs, j: usize, perm: &[usize]) -> Processed {
    let mut out = p.clone();
    let n_cat = procs.cat_names().len();
    let n_cont = procs.roles.cont.len();
    let n_cat_cols = procs.roles.cat.len();
    let mut cat_cols = Vec::new();
    let mut cont_col = None;
    if j < n_cat_cols {
        cat_cols.push(j);
    } else {
        let c = j - n_cat_cols;
        cont_col = Some(c);
        if let Some(k) = procs.fill.na_index(c) {
            cat_cols.push(n_cat_cols + k);
        }
    }
    for (i, &src) in perm.iter().enumerate() {
        for &c in &cat_cols {
            out.cats[i * n_cat + c] = p.cats[src * n_cat + c];
        }
        if let Some(c) = cont_col {
            out.conts[i * n_cont + c] = p.conts[src * n_cont + c];
        }
    }
    out
}

/// Accuracy of `probs` (rows of `width`) against class indices, or RMSE against values.
fn score(probs: &[f32], target: &Targets, width: usize) -> f64 {
    match target {
        Targets::Classes(t) => {
            let right = probs
                .chunks(width.max(1))
                .zip(t)
                .filter(|(row, t)| row.iter().enumerate().fold(0, |best, (j, &p)| if p > row[best] { j } else { best }) as i64 == **t)
                .count();
            right as f64 / t.len().max(1) as f64
        }
        Targets::Values(v) => {
            let se: f64 = probs.iter().zip(v).map(|(p, t)| (*p as f64 - *t as f64).powi(2)).sum();
            (se / v.len().max(1) as f64).sqrt()
        }
    }
}

impl TabularInterpretation {
    /// Interprets `predictor` on the rows `rows` of `processed` (the table processed with the
    /// model's procs, targets included): predictions, the `k` highest losses, and permutation
    /// importance over `shuffles` shuffles per column drawn from `seed`.
    pub fn new(predictor: &TabularPredictor, processed: &Processed, rows: &[usize], k: usize, shuffles: usize, seed: u64) -> Result<Self> {
        if rows.is_empty() {
            return Err(Error::Data("there are no validation rows to interpret".into()));
        }
        let procs = &predictor.pre.procs;
        let sub = subset(processed, rows);
        let target = sub.target.clone().ok_or_else(|| Error::Data(format!("the rows have no target '{}'", procs.roles.target)))?;
        let width = procs.classes.len().max(1);
        let sub = Arc::new(sub);
        let out = predictor.predict_processed(sub.clone())?;
        let (outcome, top_losses) = match &target {
            Targets::Classes(t) => {
                let targets: Vec<usize> = t.iter().map(|&c| c as usize).collect();
                let interp = ClassificationInterpretation::new(procs.classes.clone(), out, targets)?;
                let top = interp
                    .top_losses(k)
                    .into_iter()
                    .map(|l| TopLossRow {
                        row: rows[l.index],
                        actual: procs.classes[l.actual].clone(),
                        predicted: procs.classes[l.predicted].clone(),
                        prob: Some(l.prob),
                        loss: l.loss,
                    })
                    .collect();
                (Outcome::Classification(interp), top)
            }
            Targets::Values(v) => {
                let losses: Vec<f32> = out.iter().zip(v).map(|(p, t)| (p - t).powi(2)).collect();
                let mut order: Vec<usize> = (0..v.len()).collect();
                order.sort_by(|&a, &b| losses[b].total_cmp(&losses[a]).then(a.cmp(&b)));
                let top = order
                    .into_iter()
                    .take(k)
                    .map(|i| TopLossRow { row: rows[i], actual: fmt_value(v[i]), predicted: fmt_value(out[i]), prob: None, loss: losses[i] })
                    .collect();
                (Outcome::Regression { preds: out, targets: v.clone() }, top)
            }
        };
        let features: Vec<String> = procs.roles.cat.iter().chain(&procs.roles.cont).cloned().collect();
        let higher_is_better = matches!(target, Targets::Classes(_));
        let importance = permutation_importance(&features, rows.len(), shuffles, seed, higher_is_better, |p| {
            let preds = match p {
                None => match &outcome {
                    Outcome::Classification(i) => i.probs.clone(),
                    Outcome::Regression { preds, .. } => preds.clone(),
                },
                Some((j, perm)) => predictor.predict_processed(Arc::new(permuted(&sub, procs, j, perm)))?,
            };
            Ok(score(&preds, &target, width))
        })?;
        Ok(Self { rows: rows.to_vec(), outcome, top_losses, importance })
    }

    /// The metric on the interpreted rows (accuracy, or RMSE).
    pub fn metric(&self) -> f64 {
        self.importance.baseline
    }

    /// The input columns of `procs` (categorical, then continuous) and their values in row `r`
    /// of `table`, as read (empty where missing).
    fn inputs(table: &Table, procs: &TabularProcs, r: usize) -> Vec<String> {
        procs.roles.cat.iter().chain(&procs.roles.cont).map(|c| table.get(c).and_then(|col| col.category(r)).unwrap_or_default()).collect()
    }

    /// The top losses as CSV (separated by `sep`): `row` (1-based, as errors count rows),
    /// the target's true value, `predicted`, `probability` (classification), `loss`, then
    /// every input column's value as read.
    pub fn top_losses_csv(&self, table: &Table, procs: &TabularProcs, sep: char) -> String {
        let classification = matches!(self.outcome, Outcome::Classification(_));
        let mut header = vec!["row".to_string(), procs.roles.target.clone(), "predicted".into()];
        if classification {
            header.push("probability".into());
        }
        header.push("loss".into());
        header.extend(procs.roles.cat.iter().chain(&procs.roles.cont).cloned());
        let mut s = csv_line(&header, sep);
        for t in &self.top_losses {
            let mut f = vec![(t.row + 1).to_string(), t.actual.clone(), t.predicted.clone()];
            if let Some(p) = t.prob {
                f.push(format!("{p:.4}"));
            }
            f.push(format!("{:.4}", t.loss));
            f.extend(Self::inputs(table, procs, t.row));
            s += &csv_line(&f, sep);
        }
        s
    }

    /// Permutation importance as CSV: `column`, the metric with it shuffled, and the drop
    /// (accuracy) or rise (RMSE), most important first.
    pub fn importance_csv(&self, metric: &str) -> String {
        let change = if metric == "rmse" { "rmse_rise" } else { "accuracy_drop" };
        let mut s = format!("column,{metric}_shuffled,{change}\n");
        for f in &self.importance.features {
            s += &csv_line(&[f.feature.clone(), format!("{:.6}", f.shuffled), format!("{:.6}", f.importance)], ',');
        }
        s
    }

    /// The whole report as aligned text: the metric, for a classifier the confusion matrix,
    /// most confused classes and classification report, then the top losses with their rows'
    /// values, then permutation importance.
    pub fn text(&self, table: &Table, procs: &TabularProcs, shuffles: usize) -> String {
        let metric = metric_name(procs);
        let mut s = String::new();
        match &self.outcome {
            Outcome::Classification(i) => {
                let _ = writeln!(s, "{} validation rows, accuracy {:.4}\n", i.len(), i.accuracy());
                s += &i.confusion_text();
                s += "\nmost confused (actual → predicted: count):\n";
                for (a, p, n) in i.most_confused(1) {
                    let _ = writeln!(s, "  {a} → {p}: {n}");
                }
                let _ = write!(s, "\n{}", i.report());
            }
            Outcome::Regression { targets, .. } => {
                let _ = writeln!(s, "{} validation rows, rmse {:.4}", targets.len(), self.metric());
            }
        }
        let what = if matches!(self.outcome, Outcome::Classification(_)) { "highest loss" } else { "largest squared error" };
        let _ = writeln!(s, "\ntop {} rows by {what} (row: 1-based data row of the table):", self.top_losses.len());
        let classification = matches!(self.outcome, Outcome::Classification(_));
        let mut header = vec!["row".to_string(), procs.roles.target.clone(), "predicted".into()];
        if classification {
            header.push("prob".into());
        }
        header.push("loss".into());
        header.extend(procs.roles.cat.iter().chain(&procs.roles.cont).cloned());
        let mut cells = vec![header];
        for t in &self.top_losses {
            let mut f = vec![(t.row + 1).to_string(), t.actual.clone(), t.predicted.clone()];
            if let Some(p) = t.prob {
                f.push(format!("{p:.3}"));
            }
            f.push(format!("{:.3}", t.loss));
            f.extend(Self::inputs(table, procs, t.row).into_iter().map(|v| if v.is_empty() { "#na#".into() } else { v }));
            cells.push(f);
        }
        s += &aligned(&cells);
        let (verb, col) = if metric == "rmse" { ("rise in RMSE", "rise") } else { ("drop in accuracy", "drop") };
        let _ = writeln!(
            s,
            "\npermutation importance: the {verb} when one column is shuffled among the validation rows (mean of {shuffles} shuffle{}); {metric} unshuffled {:.4}",
            if shuffles == 1 { "" } else { "s" },
            self.metric()
        );
        let mut cells = vec![vec!["column".to_string(), format!("{metric} shuffled"), col.to_string()]];
        for f in &self.importance.features {
            cells.push(vec![f.feature.clone(), format!("{:.4}", f.shuffled), format!("{:+.4}", f.importance)]);
        }
        s += &aligned(&cells);
        s
    }
}

/// A number as a regression value is shown: at most four decimals, no trailing zeros.
fn fmt_value(v: f32) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.to_string() }
}

/// Cells as a table: the first column left-aligned, the others right-aligned, two spaces
/// apart.
fn aligned(cells: &[Vec<String>]) -> String {
    let n = cells.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..n).map(|j| cells.iter().filter_map(|r| r.get(j)).map(|c| c.chars().count()).max().unwrap_or(0)).collect();
    let mut s = String::new();
    for row in cells {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(j, c)| if j == 0 { format!("{c:<w$}", w = widths[j]) } else { format!("{c:>w$}", w = widths[j]) })
            .collect();
        s += line.join("  ").trim_end();
        s.push('\n');
    }
    s
}

/// One CSV line, fields quoted where they need it.
fn csv_line(fields: &[String], sep: char) -> String {
    let quoted: Vec<String> = fields
        .iter()
        .map(|f| if f.contains(sep) || f.contains('"') || f.contains('\n') { format!("\"{}\"", f.replace('"', "\"\"")) } else { f.clone() })
        .collect();
    quoted.join(&sep.to_string()) + "\n"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accuracy_and_rmse_are_scored_from_outputs() {
        let probs = [0.9, 0.1, 0.2, 0.8, 0.6, 0.4];
        assert!((score(&probs, &Targets::Classes(vec![0, 1, 1]), 2) - 2.0 / 3.0).abs() < 1e-12);
        assert!((score(&[1.0, 3.0], &Targets::Values(vec![1.0, 1.0]), 1) - 2f64.sqrt()).abs() < 1e-6);
    }

    #[test]
    fn values_and_tables_are_formatted_for_reading() {
        assert_eq!(fmt_value(2.5), "2.5");
        assert_eq!(fmt_value(3.0), "3");
        assert_eq!(fmt_value(-0.00001), "0");
        let t = aligned(&[vec!["a".into(), "bb".into()], vec!["ccc".into(), "d".into()]]);
        assert_eq!(t, "a    bb\nccc   d\n");
        assert_eq!(csv_line(&["a,b".into(), "c".into()], ','), "\"a,b\",c\n");
    }
}
