//! Hyper-parameter schedules as fastai defines them: annealing functions of training progress
//! (`pos` in `[0, 1]`), combined into phases, and the one-cycle policy built from them.

mod one_cycle;

pub use one_cycle::OneCycle;

use serde::{Deserialize, Serialize};

/// How a value moves from `start` to `end` as `pos` goes from 0 to 1.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum Anneal {
    /// Straight line (`sched_lin`).
    Linear,
    /// Half a cosine (`sched_cos`): flat at both ends.
    Cos,
    /// Constant at `start` (`sched_no`).
    No,
    /// Geometric (`sched_exp`): a straight line on a log scale.
    Exp,
}

impl Anneal {
    /// The value at `pos`.
    pub fn at(self, start: f64, end: f64, pos: f64) -> f64 {
        match self {
            Anneal::Linear => start + pos * (end - start),
            Anneal::Cos => start + (1.0 + (std::f64::consts::PI * (1.0 - pos)).cos()) * (end - start) / 2.0,
            Anneal::No => start,
            Anneal::Exp => start * (end / start).powf(pos),
        }
    }
}

/// One phase of a schedule: a fraction of training, annealed from `start` to `end`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    /// The share of training this phase covers.
    pub pct: f64,
    /// Value at the start of the phase.
    pub start: f64,
    /// Value at the end of the phase.
    pub end: f64,
    /// The annealing curve.
    pub anneal: Anneal,
}

/// Phases run one after another (`combine_scheds`); their `pct`s add up to 1.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    phases: Vec<Phase>,
}

impl Schedule {
    /// Phases in order. Their shares must add up to 1 (within rounding).
    pub fn new(phases: Vec<Phase>) -> crate::Result<Self> {
        let total: f64 = phases.iter().map(|p| p.pct).sum();
        if phases.is_empty() || (total - 1.0).abs() > 1e-9 || phases.iter().any(|p| p.pct < 0.0) {
            return Err(crate::Error::invalid("schedule", format!("phase shares must be ≥ 0 and add up to 1, not {total}")));
        }
        Ok(Self { phases })
    }

    /// A constant value.
    pub fn constant(value: f64) -> Self {
        Self { phases: vec![Phase { pct: 1.0, start: value, end: value, anneal: Anneal::No }] }
    }

    /// fastai's `combined_cos(pct, start, middle, end)`: cosine from `start` to `middle` over the
    /// first `pct` of training, then cosine from `middle` to `end`.
    ///
    /// ```
    /// use kindling_core::schedule::Schedule;
    /// let s = Schedule::combined_cos(0.25, 1.0, 10.0, 0.0);
    /// assert_eq!(s.at(0.0), 1.0);
    /// assert!((s.at(0.25) - 10.0).abs() < 1e-12);
    /// assert!(s.at(1.0).abs() < 1e-12);
    /// ```
    pub fn combined_cos(pct: f64, start: f64, middle: f64, end: f64) -> Self {
        Self {
            phases: vec![
                Phase { pct, start, end: middle, anneal: Anneal::Cos },
                Phase { pct: 1.0 - pct, start: middle, end, anneal: Anneal::Cos },
            ],
        }
    }

    /// The value at training progress `pos` in `[0, 1]`, as fastai's `combine_scheds` computes
    /// it: the last phase whose start is at or before `pos`, never past the last phase.
    pub fn at(&self, pos: f64) -> f64 {
        let mut begin = 0.0;
        let mut idx = 0;
        let mut acc = 0.0;
        for (i, p) in self.phases.iter().enumerate() {
            if pos >= acc {
                idx = i;
                begin = acc;
            }
            acc += p.pct;
        }
        let phase = &self.phases[idx];
        // fastai keeps the phase boundaries in a float32 tensor, so the position within a
        // phase is a float32 value; rounding the same way reproduces its curves exactly.
        let end = begin as f32 + phase.pct as f32;
        let local = if phase.pct > 0.0 { ((pos as f32 - begin as f32) / (end - begin as f32)) as f64 } else { 1.0 };
        phase.anneal.at(phase.start, phase.end, local)
    }
}

/// fastai's `even_mults(start, stop, n)`: `n` values spaced evenly on a log scale, used to give
/// each parameter group its own learning rate from `slice(start, stop)`.
///
/// ```
/// let v = kindling_core::schedule::even_mults(1e-5, 1e-3, 3);
/// assert!((v[1] - 1e-4).abs() < 1e-12);
/// ```
pub fn even_mults(start: f64, stop: f64, n: usize) -> Vec<f64> {
    if n <= 1 {
        return vec![stop];
    }
    let step = (stop / start).powf(1.0 / (n - 1) as f64);
    (0..n).map(|i| start * step.powi(i as i32)).collect()
}

/// A learning rate for each parameter group, as fastai reads `lr`, `slice(stop)` and
/// `slice(start, stop)`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum LrSpec {
    /// The same rate for every group.
    Single(f64),
    /// `slice(stop)`: the last group at `stop`, every earlier group at `stop / 10`.
    Upto(f64),
    /// `slice(start, stop)`: rates spread evenly on a log scale from the first group to the last.
    Range(f64, f64),
}

impl LrSpec {
    /// The rate of each of `n_groups` groups.
    pub fn per_group(self, n_groups: usize) -> Vec<f64> {
        match self {
            LrSpec::Single(lr) => vec![lr; n_groups],
            LrSpec::Upto(stop) => {
                let mut v = vec![stop / 10.0; n_groups.saturating_sub(1)];
                v.push(stop);
                v
            }
            LrSpec::Range(start, stop) => even_mults(start, stop, n_groups),
        }
    }

    /// The largest rate (the last group's).
    pub fn max(self) -> f64 {
        match self {
            LrSpec::Single(lr) | LrSpec::Upto(lr) | LrSpec::Range(_, lr) => lr,
        }
    }
}

impl From<f64> for LrSpec {
    fn from(lr: f64) -> Self {
        LrSpec::Single(lr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combine_picks_the_right_phase_at_boundaries() {
        let s = Schedule::new(vec![
            Phase { pct: 0.5, start: 0.0, end: 1.0, anneal: Anneal::Linear },
            Phase { pct: 0.5, start: 5.0, end: 6.0, anneal: Anneal::Linear },
        ])
        .unwrap();
        assert_eq!(s.at(0.25), 0.5);
        assert_eq!(s.at(0.5), 5.0);
        assert_eq!(s.at(1.0), 6.0);
        assert!(Schedule::new(vec![Phase { pct: 0.5, start: 0.0, end: 1.0, anneal: Anneal::No }]).is_err());
    }

    #[test]
    fn lr_specs_per_group() {
        assert_eq!(LrSpec::Upto(1e-2).per_group(3), vec![1e-3, 1e-3, 1e-2]);
        assert_eq!(LrSpec::Single(0.1).per_group(2), vec![0.1, 0.1]);
        let r = LrSpec::Range(1e-4, 1e-2).per_group(3);
        assert!((r[0] - 1e-4).abs() < 1e-15 && (r[1] - 1e-3).abs() < 1e-12 && (r[2] - 1e-2).abs() < 1e-12);
    }
}
