//! fastai's `Perplexity` metric: `exp` of the mean cross-entropy over every predicted token.

use kindling_core::metrics::{HostPreds, HostTarget, Metric};

/// See the module doc. Accumulated over the whole pass from the logits, as the loss is.
///
/// ```
/// use kindling_core::metrics::{HostPreds, HostTarget, Metric};
/// let mut p = kindling_nlp::ulmfit::Perplexity::default();
/// // Two tokens, uniform over 4 words: perplexity 4.
/// p.accumulate(&HostPreds { values: vec![0.0; 8], n_out: 4 }, &HostTarget::Classes(vec![1, 3]));
/// assert!((p.value().unwrap() - 4.0).abs() < 1e-9);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Perplexity {
    nll: f64,
    n: u64,
}

impl Metric for Perplexity {
    fn name(&self) -> String {
        "perplexity".into()
    }
    fn reset(&mut self) {
        *self = Self::default();
    }
    fn accumulate(&mut self, preds: &HostPreds, target: &HostTarget) {
        let HostTarget::Classes(t) = target else { return };
        for (i, &c) in t.iter().enumerate() {
            let row = preds.row(i);
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let sum: f64 = row.iter().map(|&v| ((v - max) as f64).exp()).sum();
            let Some(&v) = usize::try_from(c).ok().and_then(|c| row.get(c)) else { continue };
            self.nll += sum.ln() - (v - max) as f64;
            self.n += 1;
        }
    }
    fn value(&self) -> Option<f64> {
        (self.n > 0).then(|| (self.nll / self.n as f64).exp())
    }
    fn higher_is_better(&self) -> bool {
        false
    }
}
