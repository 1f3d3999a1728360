//! Checkpoints after every epoch, and resuming from them after a crash.
//!
//! A checkpoint is a folder: `fit{F}-epoch{E}.model.safetensors`,
//! `fit{F}-epoch{E}.optim.safetensors`, and `state.json`, which names those two files with
//! their SHA-256 and holds the loop position, the fit's plan, the smoothed-loss state and the
//! history. Weight files are written first, `state.json` last and atomically, then older weight
//! files are removed: a crash at any moment leaves a `state.json` that names whole files.

use std::path::{Path, PathBuf};

use burn::module::Module;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::hash::sha256_hex;
use crate::io::{write_atomic, write_json_atomic};
use crate::metrics::SmoothLoss;

use super::callback::{Callback, Ctx, Event};
use super::recorder::Recorder;

/// The name of the checkpoint folder inside a run directory.
pub const CHECKPOINT_DIR: &str = "checkpoint";

/// What `state.json` holds.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CheckpointState {
    /// Index of the fit (0 for the first fit of a learner; fine_tune has fits 0 and 1).
    pub fit_index: usize,
    /// Last finished epoch of that fit.
    pub epoch: usize,
    /// Epochs finished over all fits (loaders shuffle by it).
    pub epochs_seen: usize,
    /// The fit's plan, so that a resume with other settings is refused.
    pub plan: String,
    /// The weights file and its SHA-256.
    pub model_file: String,
    /// SHA-256 of the weights file.
    pub model_sha256: String,
    /// The optimizer-state file.
    pub optim_file: String,
    /// SHA-256 of the optimizer-state file.
    pub optim_sha256: String,
    /// The smoothed loss at the end of the epoch.
    pub smooth_loss: SmoothLoss,
    /// The history so far.
    pub recorder: Recorder,
}


/// Writes a checkpoint after every epoch.
pub struct Checkpointer {
    dir: PathBuf,
    plan: String,
    epochs_seen: usize,
}

impl Checkpointer {
    pub(crate) fn new(dir: PathBuf, plan: String, epochs_seen_before: usize) -> Self {
        Self { dir, plan, epochs_seen: epochs_seen_before }
    }
}

impl<M: Module> Callback<M> for Checkpointer {
    fn name(&self) -> &str {
        "Checkpointer"
    }
    fn order(&self) -> i32 {
        // After the recorder (50) has stored the epoch, so the history saved includes it.
        80
    }
    fn on(&mut self, event: Event, ctx: &mut Ctx<'_, M>) -> Result<()> {
        if event != Event::AfterEpoch {
            return Ok(());
        }
        self.epochs_seen += 1;
        let s = &ctx.state;
        let stem = format!("fit{}-epoch{}", s.fit_index, s.epoch);
        let model_bytes = crate::export::weights_to_bytes(ctx.model, &[])?;
        let optim_bytes = ctx.opt.state_bytes()?;
        let model_file = format!("{stem}.model.safetensors");
        let optim_file = format!("{stem}.optim.safetensors");
        write_atomic(self.dir.join(&model_file), &model_bytes)?;
        write_atomic(self.dir.join(&optim_file), &optim_bytes)?;
        let state = CheckpointState {
            fit_index: s.fit_index,
            epoch: s.epoch,
            epochs_seen: self.epochs_seen,
            plan: self.plan.clone(),
            model_sha256: sha256_hex(&model_bytes),
            optim_sha256: sha256_hex(&optim_bytes),
            model_file,
            optim_file,
            smooth_loss: s.smooth_loss.clone(),
            recorder: ctx.recorder.clone(),
        };
        write_json_atomic(self.dir.join("state.json"), &state)?;
        // Only now are older weight files unreferenced; remove this checkpointer's own files.
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for e in entries.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                let ours = name.starts_with("fit") && name.ends_with(".safetensors");
                if ours && name != state.model_file && name != state.optim_file {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        Ok(())
    }
}

/// A checkpoint read back and verified.
pub struct LoadedCheckpoint {
    /// Its `state.json`.
    pub state: CheckpointState,
    /// The weights.
    pub model_bytes: Vec<u8>,
    /// The optimizer state.
    pub optim_bytes: Vec<u8>,
}

/// Reads the checkpoint in `dir`, checking both files against their checksums.
pub fn load_checkpoint(dir: &Path) -> Result<LoadedCheckpoint> {
    let state_path = dir.join("state.json");
    let text = std::fs::read_to_string(&state_path).map_err(|e| Error::io(&state_path, e))?;
    let state: CheckpointState =
        serde_json::from_str(&text).map_err(|e| Error::bad_file(&state_path, format!("unreadable checkpoint state: {e}")))?;
    let read = |name: &str, sha: &str| -> Result<Vec<u8>> {
        let p = dir.join(name);
        let bytes = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
        if sha256_hex(&bytes) != sha {
            return Err(Error::bad_file(&p, "does not match the checksum in state.json: the checkpoint is corrupt"));
        }
        Ok(bytes)
    };
    let model_bytes = read(&state.model_file, &state.model_sha256)?;
    let optim_bytes = read(&state.optim_file, &state.optim_sha256)?;
    Ok(LoadedCheckpoint { state, model_bytes, optim_bytes })
}
