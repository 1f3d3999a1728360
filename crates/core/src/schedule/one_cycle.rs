use serde::{Deserialize, Serialize};

use super::Schedule;

/// fastai's one-cycle policy (`fit_one_cycle`): the learning rate warms up from
/// `lr_max / div` to `lr_max` over the first `pct_start` of training on a cosine, then anneals
/// to `lr_max / div_final`; momentum moves the other way, `moms.0 → moms.1 → moms.2`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OneCycle {
    /// Peak learning rate.
    pub lr_max: f64,
    /// `lr_max / div` is the starting rate (fastai: 25).
    pub div: f64,
    /// `lr_max / div_final` is the final rate (fastai: 1e5).
    pub div_final: f64,
    /// Share of training spent warming up (fastai: 0.25).
    pub pct_start: f64,
    /// Momentum at the start, the peak of the rate, and the end (fastai: 0.95, 0.85, 0.95).
    pub moms: (f64, f64, f64),
}

impl OneCycle {
    /// fastai's defaults around `lr_max`.
    ///
    /// ```
    /// use kindling_core::schedule::OneCycle;
    /// let oc = OneCycle::new(1e-2);
    /// assert!((oc.lr().at(0.0) - 4e-4).abs() < 1e-12);
    /// assert!((oc.mom().at(0.25) - 0.85).abs() < 1e-12);
    /// ```
    pub fn new(lr_max: f64) -> Self {
        Self { lr_max, div: 25.0, div_final: 1e5, pct_start: 0.25, moms: (0.95, 0.85, 0.95) }
    }

    /// Sets `pct_start`.
    pub fn pct_start(mut self, pct_start: f64) -> Self {
        self.pct_start = pct_start;
        self
    }

    /// Sets `div`.
    pub fn div(mut self, div: f64) -> Self {
        self.div = div;
        self
    }

    /// The learning-rate schedule for a group whose peak is `lr_max`.
    pub fn lr(&self) -> Schedule {
        Schedule::combined_cos(self.pct_start, self.lr_max / self.div, self.lr_max, self.lr_max / self.div_final)
    }

    /// The momentum schedule.
    pub fn mom(&self) -> Schedule {
        Schedule::combined_cos(self.pct_start, self.moms.0, self.moms.1, self.moms.2)
    }
}
