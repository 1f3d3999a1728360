//! fastai's `ClassificationInterpretation`: where a trained classifier goes wrong. The confusion
//! matrix (as text and as a PNG), the most confused pairs of classes, the items with the highest
//! loss, and scikit-learn's classification report.

mod report;

pub use report::{ClassReport, ClassificationReport};

use std::fmt::Write;
use std::path::Path;

use crate::error::{Error, Result};
use crate::learner::Predictions;
use crate::metrics::{HostPreds, HostTarget};

/// One item among the top losses.
#[derive(Clone, Debug, PartialEq)]
pub struct TopLoss {
    /// Position of the item in the predictions (the loader's order).
    pub index: usize,
    /// Its true class.
    pub actual: usize,
    /// The most probable class.
    pub predicted: usize,
    /// Its loss.
    pub loss: f32,
    /// The probability of the predicted class.
    pub prob: f32,
}

/// Predictions of a classifier over labelled items, with the class names.
///
/// ```
/// use kindling_core::interpret::ClassificationInterpretation;
/// let probs = vec![0.9, 0.1, 0.2, 0.8, 0.6, 0.4];
/// let interp = ClassificationInterpretation::new(vec!["cat".into(), "dog".into()], probs, vec![0, 1, 1]).unwrap();
/// assert_eq!(interp.confusion_matrix(), vec![vec![1, 0], vec![1, 1]]);
/// assert_eq!(interp.most_confused(1), vec![("dog".to_string(), "cat".to_string(), 1)]);
/// assert_eq!(interp.top_losses(1)[0].index, 2);
/// ```
#[derive(Clone, Debug)]
pub struct ClassificationInterpretation {
    /// Class names, by index.
    pub classes: Vec<String>,
    /// Probabilities, `n_items × n_classes`, row-major.
    pub probs: Vec<f32>,
    /// True class of each item.
    pub targets: Vec<usize>,
    /// Most probable class of each item.
    pub preds: Vec<usize>,
    /// Cross-entropy of each item: `-ln p(target)`.
    pub losses: Vec<f32>,
}

impl ClassificationInterpretation {
    /// From class probabilities (`n_items × classes.len()`) and the true classes.
    pub fn new(classes: Vec<String>, probs: Vec<f32>, targets: Vec<usize>) -> Result<Self> {
        let c = classes.len();
        if c == 0 || probs.len() != targets.len() * c {
            return Err(Error::Data(format!("{} probabilities do not make {} rows of {c} classes", probs.len(), targets.len())));
        }
        if let Some(&t) = targets.iter().find(|&&t| t >= c) {
            return Err(Error::Data(format!("target class {t} is out of range for {c} classes")));
        }
        let host = HostPreds { values: probs, n_out: c };
        let preds = host.argmax().into_iter().map(|p| p as usize).collect();
        let losses = host.nll(&targets.iter().map(|&t| t as i64).collect::<Vec<_>>());
        Ok(Self { classes, probs: host.values, targets, preds, losses })
    }

    /// From a learner's [`Predictions`] (its `probs` and class targets), as fastai's
    /// `ClassificationInterpretation.from_learner`.
    pub fn from_predictions(preds: &Predictions, classes: Vec<String>) -> Result<Self> {
        let targets = match &preds.targets {
            Some(HostTarget::Classes(t)) => t.iter().map(|&t| t as usize).collect(),
            _ => return Err(Error::Data("interpretation needs class targets".into())),
        };
        Self::new(classes, preds.probs.values.clone(), targets)
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Share of items whose most probable class is the true one.
    pub fn accuracy(&self) -> f64 {
        let right = self.preds.iter().zip(&self.targets).filter(|(p, t)| p == t).count();
        right as f64 / self.len().max(1) as f64
    }

    /// `m[actual][predicted]`: how many items of each class got each prediction.
    pub fn confusion_matrix(&self) -> Vec<Vec<usize>> {
        let c = self.classes.len();
        let mut m = vec![vec![0; c]; c];
        for (&t, &p) in self.targets.iter().zip(&self.preds) {
            m[t][p] += 1;
        }
        m
    }

    /// `(actual, predicted, count)` for every off-diagonal cell with at least `min_val` items,
    /// most frequent first (ties in class order), as fastai's `most_confused`.
    pub fn most_confused(&self, min_val: usize) -> Vec<(String, String, usize)> {
        let m = self.confusion_matrix();
        let mut out: Vec<(usize, usize, usize)> = Vec::new();
        for (a, row) in m.iter().enumerate() {
            for (p, &n) in row.iter().enumerate() {
                if a != p && n >= min_val.max(1) {
                    out.push((a, p, n));
                }
            }
        }
        out.sort_by(|x, y| y.2.cmp(&x.2).then(x.0.cmp(&y.0)).then(x.1.cmp(&y.1)));
        out.into_iter().map(|(a, p, n)| (self.classes[a].clone(), self.classes[p].clone(), n)).collect()
    }

    /// The `k` items with the highest loss, highest first.
    pub fn top_losses(&self, k: usize) -> Vec<TopLoss> {
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by(|&a, &b| self.losses[b].total_cmp(&self.losses[a]).then(a.cmp(&b)));
        let c = self.classes.len();
        order
            .into_iter()
            .take(k)
            .map(|i| TopLoss { index: i, actual: self.targets[i], predicted: self.preds[i], loss: self.losses[i], prob: self.probs[i * c + self.preds[i]] })
            .collect()
    }

    /// Precision, recall, F1 and support per class, as scikit-learn's `classification_report`.
    pub fn report(&self) -> ClassificationReport {
        ClassificationReport::from_confusion(&self.classes, &self.confusion_matrix())
    }

    /// The confusion matrix as an aligned text table (rows: actual, columns: predicted).
    pub fn confusion_text(&self) -> String {
        let m = self.confusion_matrix();
        let w = self.classes.iter().map(|c| c.chars().count()).max().unwrap_or(1).max(6);
        let mut s = format!("{:>w$}  predicted →\n{:>w$}", "actual ↓", "");
        for c in &self.classes {
            let _ = write!(s, " {c:>w$}");
        }
        s.push('\n');
        for (c, row) in self.classes.iter().zip(&m) {
            let _ = write!(s, "{c:>w$}");
            for n in row {
                let _ = write!(s, " {n:>w$}");
            }
            s.push('\n');
        }
        s
    }

    /// Draws the confusion matrix as a PNG (fastai's `plot_confusion_matrix`).
    pub fn plot_confusion_matrix(&self, path: &Path) -> Result<()> {
        crate::plot::confusion_matrix(path, &self.classes, &self.confusion_matrix())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interp() -> ClassificationInterpretation {
        // 3 classes; items: (target, probs)
        let rows: [(usize, [f32; 3]); 6] = [
            (0, [0.8, 0.1, 0.1]),
            (0, [0.2, 0.7, 0.1]),
            (1, [0.1, 0.6, 0.3]),
            (1, [0.5, 0.4, 0.1]),
            (2, [0.1, 0.1, 0.8]),
            (0, [0.3, 0.6, 0.1]),
        ];
        let probs = rows.iter().flat_map(|(_, p)| p.iter().copied()).collect();
        let targets = rows.iter().map(|(t, _)| *t).collect();
        ClassificationInterpretation::new(vec!["a".into(), "b".into(), "c".into()], probs, targets).unwrap()
    }

    #[test]
    fn confusion_matrix_counts_actual_by_predicted() {
        let i = interp();
        assert_eq!(i.confusion_matrix(), vec![vec![1, 2, 0], vec![1, 1, 0], vec![0, 0, 1]]);
        assert!((i.accuracy() - 0.5).abs() < 1e-12);
        assert_eq!(i.most_confused(1), vec![("a".into(), "b".into(), 2), ("b".into(), "a".into(), 1)]);
        assert_eq!(i.most_confused(2), vec![("a".into(), "b".into(), 2)]);
    }

    #[test]
    fn top_losses_are_the_lowest_true_class_probabilities() {
        let i = interp();
        let top = i.top_losses(2);
        // item 1: p(a) = 0.2 → 1.609; item 5: p(a) = 0.3 → 1.204
        assert_eq!(top.iter().map(|t| t.index).collect::<Vec<_>>(), vec![1, 5]);
        assert!((top[0].loss - 0.2f32.ln().abs()).abs() < 1e-6);
        assert_eq!((top[0].actual, top[0].predicted), (0, 1));
        assert!((top[0].prob - 0.7).abs() < 1e-6);
    }

    #[test]
    fn text_table_lists_every_class() {
        let t = interp().confusion_text();
        assert_eq!(t.lines().count(), 5);
        assert!(t.lines().nth(2).unwrap().trim_start().starts_with('a'));
    }

    #[test]
    fn plots_are_png_files() {
        let dir = std::env::temp_dir().join(format!("kindling-interp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let i = interp();
        i.plot_confusion_matrix(&dir.join("cm.png")).unwrap();
        let img = image::open(dir.join("cm.png")).unwrap().to_rgb8();
        assert!(img.width() > 200 && img.height() > 200);
        // the cell with the highest count is the darkest blue
        assert!(img.pixels().any(|p| p.0 == [8, 48, 107]));
        let cells: Vec<_> = (0..3)
            .map(|k| crate::plot::GridCell { rgb: vec![k as u8 * 100; 4 * 4 * 3], width: 4, height: 4, caption: vec![format!("item {k}")] })
            .collect();
        crate::plot::image_grid(&dir.join("grid.png"), "grid", &cells, 2, 32).unwrap();
        let g = image::open(dir.join("grid.png")).unwrap().to_rgb8();
        assert_eq!(g.width(), 2 * 42 + 10);
        assert!(g.pixels().any(|p| p.0 == [200, 200, 200]), "the third picture is drawn");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn mismatched_shapes_are_refused() {
        assert!(ClassificationInterpretation::new(vec!["a".into(), "b".into()], vec![0.5; 3], vec![0, 1]).is_err());
        assert!(ClassificationInterpretation::new(vec!["a".into(), "b".into()], vec![0.5; 4], vec![0, 2]).is_err());
    }
}
