//! The run directory every task binary writes (`--out DIR`): `metrics.json`, rewritten after
//! every epoch so progress can be watched, and `history.png` with the loss curves.

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::error::Result;

use super::callback::{Callback, Ctx, Event};
use super::recorder::{EpochRecord, Recorder};

/// Facts about the run that `metrics.json` records beside the epochs.
#[derive(Clone, Debug, Serialize)]
pub struct RunInfo {
    /// The seed.
    pub seed: u64,
    /// The device name (`cpu`, `wgpu`).
    pub device: String,
    /// Items in train, valid and test.
    pub splits: SplitSizes,
}

/// Split sizes for `metrics.json`.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct SplitSizes {
    /// Training items.
    pub train: usize,
    /// Validation items.
    pub valid: usize,
    /// Held-out test items.
    pub test: usize,
}

/// Writes `metrics.json` and `history.png` into a run directory.
pub struct RunDirWriter {
    dir: PathBuf,
    info: RunInfo,
    started: Instant,
    train_seconds_before: f64,
}

impl RunDirWriter {
    /// Writes into `dir` (created if needed).
    pub fn new(dir: PathBuf, info: RunInfo) -> Self {
        Self { dir, info, started: Instant::now(), train_seconds_before: 0.0 }
    }

    fn epoch_json(r: &EpochRecord) -> Value {
        let mut m = Map::new();
        m.insert("epoch".into(), json!(r.epoch));
        m.insert("fit".into(), json!(r.fit));
        m.insert("train_loss".into(), json!(r.train_loss));
        m.insert("valid_loss".into(), json!(r.valid_loss));
        for (name, v) in &r.metrics {
            m.insert(name.clone(), json!(v));
        }
        m.insert("seconds".into(), json!(r.seconds));
        Value::Object(m)
    }

    /// The `metrics.json` document for `recorder`.
    pub fn document(&self, recorder: &Recorder) -> Value {
        let epochs: Vec<Value> = recorder.epochs.iter().map(Self::epoch_json).collect();
        let train_seconds: f64 = recorder.epochs.iter().map(|e| e.seconds).sum();
        json!({
            "epochs": epochs,
            "final": recorder.last().map(Self::epoch_json),
            "train_seconds": train_seconds.max(self.train_seconds_before),
            "wall_seconds": self.started.elapsed().as_secs_f64(),
            "seed": self.info.seed,
            "device": self.info.device,
            "splits": self.info.splits,
            "command": std::env::args().collect::<Vec<_>>(),
        })
    }

    /// Writes both files now.
    pub fn write(&self, recorder: &Recorder) -> Result<()> {
        crate::io::write_json_atomic(self.dir.join("metrics.json"), &self.document(recorder))?;
        if !recorder.losses.is_empty() {
            recorder.plot_losses(&self.dir.join("history.png"))?;
        }
        Ok(())
    }
}

impl<M> Callback<M> for RunDirWriter {
    fn name(&self) -> &str {
        "RunDirWriter"
    }
    fn order(&self) -> i32 {
        90
    }
    fn on(&mut self, event: Event, ctx: &mut Ctx<'_, M>) -> Result<()> {
        if matches!(event, Event::AfterEpoch | Event::AfterFit) {
            self.write(ctx.recorder)?;
        }
        Ok(())
    }
}
