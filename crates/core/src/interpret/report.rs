use std::fmt;

/// Precision, recall, F1 and support of one class.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassReport {
    /// Class name.
    pub class: String,
    /// Of the items predicted as this class, the share that are (0 when none are predicted).
    pub precision: f64,
    /// Of the items of this class, the share predicted as it (0 when there are none).
    pub recall: f64,
    /// Harmonic mean of precision and recall (0 when both are 0).
    pub f1: f64,
    /// Items of this class.
    pub support: usize,
}

/// scikit-learn's `classification_report`, which fastai's `print_classification_report` prints:
/// per-class rows, accuracy, and the macro and support-weighted averages.
///
/// ```
/// use kindling_core::interpret::ClassificationReport;
/// let r = ClassificationReport::from_confusion(&["a".into(), "b".into()], &[vec![3, 1], vec![0, 4]]);
/// assert!((r.classes[0].recall - 0.75).abs() < 1e-12);
/// assert!((r.classes[1].precision - 0.8).abs() < 1e-12);
/// assert!((r.accuracy - 0.875).abs() < 1e-12);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ClassificationReport {
    /// One row per class.
    pub classes: Vec<ClassReport>,
    /// Share of items predicted right.
    pub accuracy: f64,
    /// Unweighted mean of each column over classes.
    pub macro_avg: (f64, f64, f64),
    /// Mean of each column weighted by support.
    pub weighted_avg: (f64, f64, f64),
    /// Items in all.
    pub support: usize,
}

impl ClassificationReport {
    /// From a confusion matrix `m[actual][predicted]`.
    pub fn from_confusion(classes: &[String], m: &[Vec<usize>]) -> Self {
        let c = classes.len();
        let total: usize = m.iter().flatten().sum();
        let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
        let rows: Vec<ClassReport> = (0..c)
            .map(|k| {
                let tp = m[k][k];
                let support: usize = m[k].iter().sum();
                let predicted: usize = m.iter().map(|r| r[k]).sum();
                let (precision, recall) = (ratio(tp, predicted), ratio(tp, support));
                let f1 = if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
                ClassReport { class: classes[k].clone(), precision, recall, f1, support }
            })
            .collect();
        let right: usize = (0..c).map(|k| m[k][k]).sum();
        let mean = |f: &dyn Fn(&ClassReport) -> f64, weighted: bool| {
            let (num, den) = rows.iter().fold((0.0, 0.0), |(n, d), r| {
                let w = if weighted { r.support as f64 } else { 1.0 };
                (n + w * f(r), d + w)
            });
            if den == 0.0 { 0.0 } else { num / den }
        };
        let avg = |weighted| (mean(&|r| r.precision, weighted), mean(&|r| r.recall, weighted), mean(&|r| r.f1, weighted));
        Self { accuracy: ratio(right, total), macro_avg: avg(false), weighted_avg: avg(true), support: total, classes: rows }
    }
}

/// The report in scikit-learn's layout.
impl fmt::Display for ClassificationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let w = self.classes.iter().map(|r| r.class.chars().count()).max().unwrap_or(0).max(12);
        writeln!(f, "{:>w$} {:>9} {:>9} {:>9} {:>9}\n", "", "precision", "recall", "f1-score", "support")?;
        for r in &self.classes {
            writeln!(f, "{:>w$} {:>9.2} {:>9.2} {:>9.2} {:>9}", r.class, r.precision, r.recall, r.f1, r.support)?;
        }
        writeln!(f)?;
        writeln!(f, "{:>w$} {:>9} {:>9} {:>9.2} {:>9}", "accuracy", "", "", self.accuracy, self.support)?;
        for (name, (p, r, f1)) in [("macro avg", self.macro_avg), ("weighted avg", self.weighted_avg)] {
            writeln!(f, "{name:>w$} {p:>9.2} {r:>9.2} {f1:>9.2} {:>9}", self.support)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_scikit_learn() {
        // sklearn.metrics.classification_report(y_true=[0,0,0,1,1,2], y_pred=[0,1,1,0,1,1],
        // output_dict=True, zero_division=0): class 2 never predicted → precision 0.
        let m = vec![vec![1, 2, 0], vec![1, 1, 0], vec![0, 1, 0]];
        let r = ClassificationReport::from_confusion(&["a".into(), "b".into(), "c".into()], &m);
        let a = &r.classes[0];
        assert!((a.precision - 0.5).abs() < 1e-12 && (a.recall - 1.0 / 3.0).abs() < 1e-12 && (a.f1 - 0.4).abs() < 1e-12);
        let b = &r.classes[1];
        assert!((b.precision - 0.25).abs() < 1e-12 && (b.recall - 0.5).abs() < 1e-12 && (b.f1 - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!((r.classes[2].precision, r.classes[2].f1, r.classes[2].support), (0.0, 0.0, 1));
        assert!((r.accuracy - 2.0 / 6.0).abs() < 1e-12);
        assert!((r.macro_avg.0 - 0.25).abs() < 1e-12);
        assert!((r.weighted_avg.1 - (1.0 + 1.0) / 6.0).abs() < 1e-12);
        let text = r.to_string();
        assert!(text.contains("weighted avg") && text.contains("precision"));
    }
}
