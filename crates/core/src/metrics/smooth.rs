use serde::{Deserialize, Serialize};

/// fastai's smoothed training loss (`AvgSmoothLoss` / `SmoothenValue`): an exponential moving
/// average with `beta` 0.98, debiased by `1 - beta^n` so early values are not pulled to zero.
///
/// ```
/// use kindling_core::metrics::SmoothLoss;
/// let mut s = SmoothLoss::new(0.98);
/// s.add(2.0);
/// assert!((s.value().unwrap() - 2.0).abs() < 1e-12); // debiased: the first value itself
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SmoothLoss {
    beta: f64,
    mov_avg: f64,
    count: u64,
}

impl SmoothLoss {
    /// A fresh average.
    pub fn new(beta: f64) -> Self {
        Self { beta, mov_avg: 0.0, count: 0 }
    }

    /// Takes in one batch loss.
    pub fn add(&mut self, value: f64) {
        self.count += 1;
        self.mov_avg = self.beta * self.mov_avg + (1.0 - self.beta) * value;
    }

    /// The debiased average, `None` before the first value.
    pub fn value(&self) -> Option<f64> {
        (self.count > 0).then(|| self.mov_avg / (1.0 - self.beta.powi(self.count as i32)))
    }

    /// Forgets everything.
    pub fn reset(&mut self) {
        self.mov_avg = 0.0;
        self.count = 0;
    }
}

impl Default for SmoothLoss {
    fn default() -> Self {
        Self::new(0.98)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_fastai_formula() {
        let mut s = SmoothLoss::new(0.98);
        for v in [3.0, 1.0, 2.0] {
            s.add(v);
        }
        // mov = ((0.02*3)*0.98 + 0.02*1)*0.98 + 0.02*2; debias 1 - 0.98^3
        let mov = ((0.02 * 3.0) * 0.98 + 0.02 * 1.0) * 0.98 + 0.02 * 2.0;
        assert!((s.value().unwrap() - mov / (1.0 - 0.98f64.powi(3))).abs() < 1e-12);
    }
}
