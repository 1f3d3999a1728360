//! The recording callback (fastai's `Recorder`): smoothed loss after every batch, learning rate
//! and momentum, and one record per epoch.

use crate::error::Result;

use super::callback::{Callback, Ctx, Event};
use super::recorder::EpochRecord;

/// Fills the learner's [`Recorder`](super::Recorder). Always installed.
#[derive(Default)]
pub struct Recording;

impl<M> Callback<M> for Recording {
    fn name(&self) -> &str {
        "Recorder"
    }
    fn order(&self) -> i32 {
        50
    }
    fn on(&mut self, event: Event, ctx: &mut Ctx<'_, M>) -> Result<()> {
        let (state, rec) = (&mut *ctx.state, &mut *ctx.recorder);
        match event {
            Event::AfterBatch if state.training => {
                if let Some(loss) = state.loss {
                    state.smooth_loss.add(loss);
                    rec.losses.push(loss);
                    rec.smooth_losses.push(state.smooth_loss.value().unwrap_or(loss));
                    rec.lrs.push(*state.hypers.lrs.last().unwrap_or(&0.0));
                    rec.moms.push(state.hypers.mom);
                    let next = rec.iters.last().map_or(0, |i| i + 1);
                    rec.iters.push(next);
                }
            }
            Event::AfterEpoch => {
                rec.valid_losses.push((rec.iters.last().copied().unwrap_or(0), state.valid_loss));
                rec.epochs.push(EpochRecord {
                    epoch: state.epoch,
                    fit: state.fit_index,
                    train_loss: state.smooth_loss.value(),
                    valid_loss: state.valid_loss,
                    metrics: state.metrics.clone(),
                    seconds: state.epoch_start.elapsed().as_secs_f64(),
                });
            }
            _ => {}
        }
        Ok(())
    }
}
