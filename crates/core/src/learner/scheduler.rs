//! The hyper-parameter scheduler callback (fastai's `ParamScheduler`): before every training
//! batch it sets each group's learning rate and the momentum from schedules of `pct_train`.

use crate::error::Result;
use crate::schedule::{OneCycle, Schedule};

use super::callback::{Callback, Ctx, Event};

/// Sets learning rates (one schedule per group) and, optionally, momentum before each batch.
pub struct ParamScheduler {
    lrs: Vec<Schedule>,
    mom: Option<Schedule>,
}

impl ParamScheduler {
    /// Learning-rate schedules for each group, and an optional momentum schedule.
    pub fn new(lrs: Vec<Schedule>, mom: Option<Schedule>) -> Self {
        Self { lrs, mom }
    }

    /// fastai's `fit_one_cycle` schedules, with `lr_maxs[i]` the peak of group `i`.
    pub fn one_cycle(policy: &OneCycle, lr_maxs: &[f64]) -> Self {
        let lrs = lr_maxs.iter().map(|&lr| OneCycle { lr_max: lr, ..policy.clone() }.lr()).collect();
        Self { lrs, mom: Some(policy.mom()) }
    }
}

impl<M> Callback<M> for ParamScheduler {
    fn name(&self) -> &str {
        "ParamScheduler"
    }
    fn order(&self) -> i32 {
        60
    }
    fn on(&mut self, event: Event, ctx: &mut Ctx<'_, M>) -> Result<()> {
        if event == Event::BeforeBatch && ctx.state.training {
            let pct = ctx.state.pct_train;
            for (lr, sched) in ctx.state.hypers.lrs.iter_mut().zip(&self.lrs) {
                *lr = sched.at(pct);
            }
            if let Some(m) = &self.mom {
                ctx.state.hypers.mom = m.at(pct);
            }
        }
        Ok(())
    }
}
