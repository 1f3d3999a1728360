//! The learning-rate finder (fastai's `LRFinder` and `lr_find`): train with a learning rate
//! growing exponentially from 1e-7 to 10 over 100 batches, stop once the smoothed loss passes
//! 4× its best, restore the weights, and suggest rates from the curve.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::schedule::Anneal;

use super::callback::{Callback, Cancel, Ctx, Event};

/// lr_find's settings (fastai's defaults by `Default`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LrFindConfig {
    /// First learning rate.
    pub start_lr: f64,
    /// Last learning rate.
    pub end_lr: f64,
    /// Number of batches in the sweep (at least 6).
    pub num_it: usize,
    /// Stop when the smoothed loss passes 4× its best.
    pub stop_div: bool,
}

impl Default for LrFindConfig {
    fn default() -> Self {
        Self { start_lr: 1e-7, end_lr: 10.0, num_it: 100, stop_div: true }
    }
}

/// The callback that drives the sweep.
pub(crate) struct LrFinder {
    config: LrFindConfig,
    best: f64,
}

impl LrFinder {
    pub fn new(mut config: LrFindConfig) -> Self {
        config.num_it = config.num_it.max(6);
        Self { config, best: f64::INFINITY }
    }
}

impl<M> Callback<M> for LrFinder {
    fn name(&self) -> &str {
        "LRFinder"
    }
    fn order(&self) -> i32 {
        60
    }
    fn on(&mut self, event: Event, ctx: &mut Ctx<'_, M>) -> Result<()> {
        match event {
            Event::BeforeBatch if ctx.state.training => {
                let pos = ctx.state.train_iter as f64 / self.config.num_it as f64;
                let lr = Anneal::Exp.at(self.config.start_lr, self.config.end_lr, pos);
                ctx.state.hypers.lrs.iter_mut().for_each(|l| *l = lr);
            }
            Event::AfterBatch if ctx.state.training => {
                let smooth = ctx.state.smooth_loss.value().unwrap_or(f64::INFINITY);
                if smooth < self.best {
                    self.best = smooth;
                }
                // As in fastai, `train_iter` already counts this batch here.
                if (self.config.stop_div && (smooth > 4.0 * self.best || smooth.is_nan())) || ctx.state.train_iter >= self.config.num_it {
                    ctx.state.cancel(Cancel::Fit);
                }
            }
            Event::BeforeValidate => ctx.state.cancel(Cancel::Validate),
            _ => {}
        }
        Ok(())
    }
}

/// What lr_find found: the curve and fastai's four suggestions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LrFindResult {
    /// Learning rate of each batch.
    pub lrs: Vec<f64>,
    /// Smoothed loss after each batch.
    pub losses: Vec<f64>,
    /// `valley` (fastai's default suggestion).
    pub valley: Option<f64>,
    /// `slide`.
    pub slide: Option<f64>,
    /// `minimum` (a tenth of the rate at the lowest loss).
    pub minimum: Option<f64>,
    /// `steep`.
    pub steep: Option<f64>,
}

impl LrFindResult {
    /// Suggestions from a recorded curve, over `[num_it / 10, len - 5)` as fastai slices it,
    /// cut at the first NaN.
    pub fn from_curve(lrs: Vec<f64>, losses: Vec<f64>, num_it: usize) -> Self {
        let lo = num_it / 10;
        let hi = losses.len().saturating_sub(5);
        let (mut l, mut s): (Vec<f32>, Vec<f32>) = if lo < hi {
            (lrs[lo..hi].iter().map(|&x| x as f32).collect(), losses[lo..hi].iter().map(|&x| x as f32).collect())
        } else {
            (Vec::new(), Vec::new())
        };
        if let Some(nan) = s.iter().position(|x| x.is_nan()) {
            l.truncate(nan);
            s.truncate(nan);
        }
        let ok = l.len() >= 2;
        Self {
            valley: ok.then(|| valley(&l, &s)),
            slide: (l.len() > 16).then(|| slide(&l, &s)),
            minimum: ok.then(|| minimum(&l, &s)),
            steep: ok.then(|| steep(&l, &s)),
            lrs,
            losses,
        }
    }

    /// The loss-vs-learning-rate curve (log scale, last 5 points skipped as fastai does) with
    /// the suggestions marked, as a PNG.
    pub fn plot(&self, path: &Path) -> Result<()> {
        use crate::plot::{ChartSpec, Marker, Series, line_chart};
        let n = self.lrs.len().saturating_sub(5).max(1.min(self.lrs.len()));
        let points: Vec<(f64, f64)> = self.lrs[..n].iter().copied().zip(self.losses[..n].iter().copied()).collect();
        let loss_at = |lr: f64| {
            let i = self.lrs.iter().enumerate().min_by(|a, b| (a.1 - lr).abs().total_cmp(&(b.1 - lr).abs())).map(|(i, _)| i).unwrap_or(0);
            self.losses.get(i).copied().unwrap_or(f64::NAN)
        };
        let mut markers = Vec::new();
        for (label, v) in [("valley", self.valley), ("slide", self.slide), ("minimum", self.minimum), ("steep", self.steep)] {
            if let Some(v) = v {
                markers.push(Marker { label, at: (v, loss_at(v)) });
            }
        }
        line_chart(
            path,
            &ChartSpec { title: "Learning rate finder", x_label: "learning rate", y_label: "loss", log_x: true },
            &[Series { label: "smoothed loss", points, dots: false }],
            &markers,
        )
    }
}

/// fastai's `valley`: the longest run of decreasing losses, then a point 1/3 + 1/6 of the way
/// in. Replicates fastai's loops exactly (including where it updates the best run), and its
/// Python arithmetic: a run that starts at the first point gives a start of -1, and an index
/// of -1 reads the last point, as Python's negative indexing does.
///
/// ```
/// use kindling_core::learner::valley;
/// let lrs = [1e-4f32, 1e-3, 1e-2, 1e-1, 1.0, 10.0];
/// // The run of falling losses starts at the very first point: fastai picks the first rate.
/// assert_eq!(valley(&lrs, &[3.0, 2.0, 1.0, 0.5, 0.4, 9.0]) as f32, 1e-4);
/// // One fall, then a rise: fastai's index is -1, which Python reads as the last rate.
/// assert_eq!(valley(&lrs, &[3.0, 1.0, 4.0, 5.0, 6.0, 7.0]) as f32, 10.0);
/// ```
pub fn valley(lrs: &[f32], losses: &[f32]) -> f64 {
    let n = losses.len();
    let (mut max_start, mut max_end) = (0isize, 0usize);
    let mut lds = vec![1usize; n];
    for i in 1..n {
        for j in 0..i {
            if losses[i] < losses[j] && lds[i] < lds[j] + 1 {
                lds[i] = lds[j] + 1;
            }
            if lds[max_end] < lds[i] {
                max_end = i;
                max_start = max_end as isize - lds[max_end] as isize;
            }
        }
    }
    let sections = (max_end as isize - max_start) as f64 / 3.0;
    let idx = max_start + sections as isize + (sections / 2.0) as isize;
    let idx = if idx < 0 { (n as isize + idx).max(0) as usize } else { idx as usize };
    lrs[idx.min(n - 1)] as f64
}

/// fastai's `slide` (interval slide rule, `lr_diff` 15, `thresh` 0.005) on numpy's gradient.
pub fn slide(lrs: &[f32], losses: &[f32]) -> f64 {
    let (lr_diff, thresh) = (15isize, 0.005f32);
    let grad = np_gradient(losses);
    let n = losses.len() as isize;
    let at = |v: &[f32], i: isize| v[(n + i) as usize];
    let mut r_idx: isize = -1;
    let mut l_idx = r_idx - lr_diff;
    let mut local_min_lr = at(lrs, l_idx);
    while l_idx >= -n && (at(&grad, r_idx) - at(&grad, l_idx)).abs() > thresh {
        local_min_lr = at(lrs, l_idx);
        r_idx -= 1;
        l_idx -= 1;
    }
    local_min_lr as f64
}

/// fastai's `minimum`: a tenth of the learning rate at the lowest loss.
pub fn minimum(lrs: &[f32], losses: &[f32]) -> f64 {
    let i = argmin(losses);
    lrs[i] as f64 / 10.0
}

/// fastai's `steep`: the learning rate where the loss falls fastest against log(lr).
pub fn steep(lrs: &[f32], losses: &[f32]) -> f64 {
    let grads: Vec<f32> = (0..losses.len() - 1)
        .map(|i| (losses[i + 1] - losses[i]) / (lrs[i + 1].ln() - lrs[i].ln()))
        .collect();
    lrs[argmin(&grads)] as f64
}

fn argmin(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x < v[best] {
            best = i;
        }
    }
    best
}

/// numpy's `gradient` with unit spacing: central differences inside, one-sided at the ends.
fn np_gradient(v: &[f32]) -> Vec<f32> {
    let n = v.len();
    (0..n)
        .map(|i| match i {
            0 => v[1] - v[0],
            i if i == n - 1 => v[n - 1] - v[n - 2],
            i => (v[i + 1] - v[i - 1]) / 2.0,
        })
        .collect()
}
