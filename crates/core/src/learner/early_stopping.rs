//! Early stopping (fastai's `EarlyStoppingCallback`): end the fit when the monitored value has
//! not improved for `patience` epochs.

use crate::error::Result;

use super::callback::{Callback, Cancel, Ctx, Event};

/// Stops training when `monitor` stops improving.
pub struct EarlyStopping {
    monitor: String,
    min_delta: f64,
    patience: usize,
    higher_is_better: bool,
    best: Option<f64>,
    wait: usize,
}

impl EarlyStopping {
    /// Watches `monitor` (`valid_loss` or a metric name); lower is better unless
    /// `higher_is_better`. Stops after `patience` epochs without an improvement of `min_delta`.
    pub fn new(monitor: impl Into<String>, patience: usize, min_delta: f64, higher_is_better: bool) -> Self {
        Self { monitor: monitor.into(), min_delta, patience, higher_is_better, best: None, wait: 0 }
    }

    fn current<M>(&self, ctx: &Ctx<'_, M>) -> Option<f64> {
        if self.monitor == "valid_loss" {
            return ctx.state.valid_loss;
        }
        ctx.state.metrics.iter().find(|(n, _)| *n == self.monitor).and_then(|(_, v)| *v)
    }
}

impl<M> Callback<M> for EarlyStopping {
    fn name(&self) -> &str {
        "EarlyStoppingCallback"
    }
    fn order(&self) -> i32 {
        60
    }
    fn on(&mut self, event: Event, ctx: &mut Ctx<'_, M>) -> Result<()> {
        match event {
            Event::BeforeFit => {
                self.best = None;
                self.wait = 0;
            }
            Event::AfterEpoch => {
                let Some(v) = self.current(ctx) else { return Ok(()) };
                let improved = match self.best {
                    None => true,
                    Some(b) if self.higher_is_better => v - self.min_delta > b,
                    Some(b) => v + self.min_delta < b,
                };
                if improved {
                    self.best = Some(v);
                    self.wait = 0;
                } else {
                    self.wait += 1;
                    if self.wait >= self.patience {
                        println!("No improvement in {} since epoch {}: early stopping", self.monitor, ctx.state.epoch - self.wait);
                        ctx.state.cancel(Cancel::Fit);
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}
