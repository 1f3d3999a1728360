//! What every task binary shares: the training flags, the lr-find flags, and the run-directory
//! contract (`--out DIR` gets the model file, `metrics.json`, `history.png`, and a checkpoint
//! folder that `--resume` continues from).

use std::path::{Path, PathBuf};

use clap::Args;

use crate::device::DeviceChoice;
use crate::error::{Error, Result};
use crate::learner::{Batch, CHECKPOINT_DIR, Learner, LrFindConfig, LrFindResult, RunDirWriter, RunInfo, TaskModel};

/// The end of every task binary's `main`: an error is printed as one line (`error: …`, naming
/// the file, row or setting at fault) and becomes a failure exit code, never a panic.
pub fn exit(result: Result<()>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Training flags common to every task binary.
#[derive(Args, Clone, Debug)]
pub struct TrainArgs {
    /// Epochs to train.
    #[arg(long, default_value_t = 1)]
    pub epochs: usize,
    /// Peak learning rate (the task's default when omitted).
    #[arg(long)]
    pub lr: Option<f64>,
    /// Batch size.
    #[arg(long, default_value_t = 64)]
    pub bs: usize,
    /// Seed for the split, shuffling, augmentation and initialisation.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Where to train: cpu, or wgpu in a build with the `wgpu` feature.
    #[arg(long, default_value = "cpu")]
    pub device: DeviceChoice,
    /// The run directory: model file, metrics.json, history.png, checkpoint/.
    #[arg(long, default_value = "runs/latest")]
    pub out: PathBuf,
    /// Continue the run in --out from its last checkpoint (same flags as the run that wrote it).
    #[arg(long)]
    pub resume: bool,
}

/// lr-find flags common to every task binary.
#[derive(Args, Clone, Debug)]
pub struct LrFindArgs {
    /// Batch size.
    #[arg(long, default_value_t = 64)]
    pub bs: usize,
    /// Seed.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Where to run: cpu or wgpu.
    #[arg(long, default_value = "cpu")]
    pub device: DeviceChoice,
    /// Folder for lr_find.png and lr_find.json.
    #[arg(long, default_value = "runs/lr_find")]
    pub out: PathBuf,
    /// First learning rate of the sweep.
    #[arg(long, default_value_t = 1e-7)]
    pub start_lr: f64,
    /// Last learning rate of the sweep.
    #[arg(long, default_value_t = 10.0)]
    pub end_lr: f64,
    /// Batches in the sweep.
    #[arg(long, default_value_t = 100)]
    pub num_it: usize,
}

impl LrFindArgs {
    /// The sweep settings.
    pub fn config(&self) -> LrFindConfig {
        LrFindConfig { start_lr: self.start_lr, end_lr: self.end_lr, num_it: self.num_it, stop_div: true }
    }
}

/// Checks a run directory before training. A directory that already holds a checkpoint is only
/// used with `--resume`, so that a new run never overwrites an old one by accident.
pub fn prepare_run_dir(out: &Path, resume: bool) -> Result<()> {
    let ck = out.join(CHECKPOINT_DIR).join("state.json");
    if resume && !ck.exists() {
        return Err(Error::invalid("--resume", format!("{} has no checkpoint to resume from", out.display())));
    }
    if !resume && ck.exists() {
        return Err(Error::invalid(
            "--out",
            format!("{} already holds a run: pass --resume to continue it, or choose another --out", out.display()),
        ));
    }
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))
}

/// Gives a learner the run-directory behaviour: `metrics.json` and `history.png` after every
/// epoch, checkpoints in `out/checkpoint`, and, with `--resume`, the state of the last one.
pub fn attach_run_dir<M: TaskModel<B>, B: Batch>(learner: Learner<M, B>, args: &TrainArgs, info: RunInfo) -> Result<Learner<M, B>> {
    let ck_dir = args.out.join(CHECKPOINT_DIR);
    let mut learner = learner.with_seed(args.seed).with_callback(RunDirWriter::new(args.out.clone(), info)).with_checkpoints(&ck_dir);
    if args.resume {
        learner.resume_from(&ck_dir)?;
    }
    Ok(learner)
}

/// Runs lr_find and writes `lr_find.png` and `lr_find.json` into `args.out`; prints the
/// suggestions.
pub fn run_lr_find<M: TaskModel<B>, B: Batch>(learner: &mut Learner<M, B>, args: &LrFindArgs) -> Result<LrFindResult> {
    std::fs::create_dir_all(&args.out).map_err(|e| Error::io(&args.out, e))?;
    let result = learner.lr_find(args.config())?;
    result.plot(&args.out.join("lr_find.png"))?;
    crate::io::write_json_atomic(args.out.join("lr_find.json"), &result)?;
    let f = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.2e}"));
    println!(
        "lr_find: valley {}  slide {}  minimum {}  steep {}  ({} batches; plot in {})",
        f(result.valley),
        f(result.slide),
        f(result.minimum),
        f(result.steep),
        result.lrs.len(),
        args.out.join("lr_find.png").display()
    );
    Ok(result)
}
