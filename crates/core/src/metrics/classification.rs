use super::{HostPreds, HostTarget, Metric};

fn classes(target: &HostTarget) -> &[i64] {
    match target {
        HostTarget::Classes(c) => c,
        HostTarget::Values(_) => panic!("a classification metric needs class targets"),
    }
}

/// Share of items whose highest-scoring class is the target (fastai's `accuracy`).
///
/// ```
/// use kindling_core::metrics::{Accuracy, HostPreds, HostTarget, Metric};
/// let mut m = Accuracy::default();
/// m.accumulate(&HostPreds { values: vec![0.1, 0.9, 0.8, 0.2], n_out: 2 }, &HostTarget::Classes(vec![1, 1]));
/// assert_eq!(m.value(), Some(0.5));
/// ```
#[derive(Default, Debug, Clone)]
pub struct Accuracy {
    correct: u64,
    total: u64,
}

impl Metric for Accuracy {
    fn name(&self) -> String {
        "accuracy".into()
    }
    fn reset(&mut self) {
        *self = Self::default();
    }
    fn accumulate(&mut self, preds: &HostPreds, target: &HostTarget) {
        for (p, t) in preds.argmax().iter().zip(classes(target)) {
            self.correct += u64::from(p == t);
            self.total += 1;
        }
    }
    fn value(&self) -> Option<f64> {
        (self.total > 0).then(|| self.correct as f64 / self.total as f64)
    }
    fn higher_is_better(&self) -> bool {
        true
    }
}

/// Multi-label accuracy (fastai's `accuracy_multi`): the share of (item, label) pairs where
/// the sigmoid of the prediction, compared with `thresh`, agrees with the 0/1 target.
///
/// ```
/// use kindling_core::metrics::{AccuracyMulti, HostPreds, HostTarget, Metric};
/// let mut m = AccuracyMulti::new(0.5);
/// // logits 2 and -2 are sigmoid 0.88 and 0.12: predicted labels 1, 0 against targets 1, 1
/// m.accumulate(&HostPreds { values: vec![2.0, -2.0], n_out: 2 }, &HostTarget::Values(vec![1.0, 1.0]));
/// assert_eq!(m.value(), Some(0.5));
/// ```
#[derive(Debug, Clone)]
pub struct AccuracyMulti {
    thresh: f32,
    correct: u64,
    total: u64,
}

impl AccuracyMulti {
    /// Labels count as predicted when their sigmoid exceeds `thresh` (fastai: 0.5).
    pub fn new(thresh: f32) -> Self {
        Self { thresh, correct: 0, total: 0 }
    }
}

impl Metric for AccuracyMulti {
    fn name(&self) -> String {
        "accuracy_multi".into()
    }
    fn reset(&mut self) {
        self.correct = 0;
        self.total = 0;
    }
    fn accumulate(&mut self, preds: &HostPreds, target: &HostTarget) {
        let HostTarget::Values(t) = target else {
            panic!("accuracy_multi needs multi-hot targets");
        };
        for (&p, &y) in preds.values.iter().zip(t) {
            let predicted = 1.0 / (1.0 + (-p).exp()) > self.thresh;
            self.correct += u64::from(predicted == (y > 0.5));
            self.total += 1;
        }
    }
    fn value(&self) -> Option<f64> {
        (self.total > 0).then(|| self.correct as f64 / self.total as f64)
    }
    fn higher_is_better(&self) -> bool {
        true
    }
}

/// `1 - accuracy` (fastai's `error_rate`).
#[derive(Default, Debug, Clone)]
pub struct ErrorRate(Accuracy);

impl Metric for ErrorRate {
    fn name(&self) -> String {
        "error_rate".into()
    }
    fn reset(&mut self) {
        self.0.reset();
    }
    fn accumulate(&mut self, preds: &HostPreds, target: &HostTarget) {
        self.0.accumulate(preds, target);
    }
    fn value(&self) -> Option<f64> {
        self.0.value().map(|a| 1.0 - a)
    }
    fn higher_is_better(&self) -> bool {
        false
    }
}

/// How [`F1Score`] combines classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum F1Average {
    /// F1 of class 1 (the positive class), as sklearn's `average='binary'` (fastai's `F1Score()`).
    Binary,
    /// Unweighted mean of the per-class F1 scores (fastai's `F1Score(average='macro')`).
    Macro,
}

/// The F1 score from a confusion matrix accumulated over the epoch.
///
/// ```
/// use kindling_core::metrics::{F1Score, F1Average, HostPreds, HostTarget, Metric};
/// let mut m = F1Score::new(F1Average::Binary);
/// // predictions 1,1,0,0 for targets 1,0,1,0: tp 1, fp 1, fn 1 -> F1 0.5
/// let p = HostPreds { values: vec![0., 1., 0., 1., 1., 0., 1., 0.], n_out: 2 };
/// m.accumulate(&p, &HostTarget::Classes(vec![1, 0, 1, 0]));
/// assert_eq!(m.value(), Some(0.5));
/// ```
#[derive(Debug, Clone)]
pub struct F1Score {
    average: F1Average,
    /// confusion[actual][predicted]
    confusion: Vec<Vec<u64>>,
}

impl F1Score {
    /// An F1 score averaged as `average` says.
    pub fn new(average: F1Average) -> Self {
        Self { average, confusion: Vec::new() }
    }

    fn f1_of(&self, class: usize) -> Option<f64> {
        let n = self.confusion.len();
        let tp = self.confusion.get(class).and_then(|r| r.get(class)).copied().unwrap_or(0) as f64;
        let predicted: f64 = (0..n).map(|a| self.confusion[a].get(class).copied().unwrap_or(0) as f64).sum();
        let actual: f64 = self.confusion.get(class).map(|r| r.iter().sum::<u64>() as f64).unwrap_or(0.0);
        if predicted + actual == 0.0 {
            return None;
        }
        Some(2.0 * tp / (predicted + actual))
    }
}

impl Metric for F1Score {
    fn name(&self) -> String {
        match self.average {
            F1Average::Binary => "f1_score".into(),
            F1Average::Macro => "f1_macro".into(),
        }
    }
    fn reset(&mut self) {
        self.confusion.clear();
    }
    fn accumulate(&mut self, preds: &HostPreds, target: &HostTarget) {
        let n = preds.n_out.max(2);
        if self.confusion.len() < n {
            self.confusion.resize(n, Vec::new());
        }
        for row in &mut self.confusion {
            row.resize(n, 0);
        }
        for (p, &t) in preds.argmax().iter().zip(classes(target)) {
            if let (Ok(t), Ok(p)) = (usize::try_from(t), usize::try_from(*p)) {
                if t < n {
                    self.confusion[t][p] += 1;
                }
            }
        }
    }
    fn value(&self) -> Option<f64> {
        if self.confusion.is_empty() {
            return None;
        }
        match self.average {
            F1Average::Binary => Some(self.f1_of(1).unwrap_or(0.0)),
            F1Average::Macro => {
                let n = self.confusion.len();
                // sklearn: classes present in targets or predictions; F1 of a class with no tp is 0.
                let scores: Vec<f64> = (0..n).filter_map(|c| self.f1_of(c)).collect();
                (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64)
            }
        }
    }
    fn higher_is_better(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accumulates_over_batches_not_averaging_batch_values() {
        let mut acc = Accuracy::default();
        // batch 1: 1 of 1 right; batch 2: 0 of 3 right -> 0.25, not the mean of 1.0 and 0.0.
        acc.accumulate(&HostPreds { values: vec![0.0, 1.0], n_out: 2 }, &HostTarget::Classes(vec![1]));
        acc.accumulate(&HostPreds { values: vec![0.0, 1.0, 0.0, 1.0, 0.0, 1.0], n_out: 2 }, &HostTarget::Classes(vec![0, 0, 0]));
        assert_eq!(acc.value(), Some(0.25));
    }

    #[test]
    fn macro_f1_matches_sklearn() {
        // y_true = [0,1,2,0,1,2], y_pred = [0,2,1,0,0,1] -> sklearn f1_score(average='macro') = 0.26666…
        let onehot = |c: usize| { let mut v = vec![0.0; 3]; v[c] = 1.0; v };
        let preds: Vec<f32> = [0, 2, 1, 0, 0, 1].iter().flat_map(|&c| onehot(c)).collect();
        let mut m = F1Score::new(F1Average::Macro);
        m.accumulate(&HostPreds { values: preds, n_out: 3 }, &HostTarget::Classes(vec![0, 1, 2, 0, 1, 2]));
        assert!((m.value().unwrap() - 0.266_666_666_7).abs() < 1e-9, "{:?}", m.value());
    }
}
