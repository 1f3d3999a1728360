//! What every task binary shares: the training flags, the lr-find flags, and the run-directory
//! contract (`--out DIR` gets the model file, `metrics.json`, `history.png`, and a checkpoint
//! folder that `--resume` continues from).

use std::path::{Path, PathBuf};

use clap::Args;
use clap::builder::TypedValueParser as _;

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

/// What `--lr` asks for: a learning rate, or `find` (run lr_find first and train with its
/// `valley` suggestion, as a fastai user does by hand).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LrChoice {
    /// This learning rate.
    Value(f64),
    /// lr_find's `valley`.
    Find,
}

impl std::str::FromStr for LrChoice {
    type Err = String;

    /// A positive, finite number, or `find`.
    ///
    /// ```
    /// use kindling_core::cli::LrChoice;
    /// assert_eq!("3e-3".parse::<LrChoice>(), Ok(LrChoice::Value(3e-3)));
    /// assert_eq!("find".parse::<LrChoice>(), Ok(LrChoice::Find));
    /// assert!("-1".parse::<LrChoice>().is_err() && "NaN".parse::<LrChoice>().is_err());
    /// ```
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        if s.eq_ignore_ascii_case("find") {
            return Ok(LrChoice::Find);
        }
        positive_f64(s).map(LrChoice::Value)
    }
}

/// Parses a positive, finite number (learning rates and other rates a flag takes).
pub fn positive_f64(s: &str) -> std::result::Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("'{s}' is not a number"))?;
    if v.is_finite() && v > 0.0 { Ok(v) } else { Err(format!("{s} is not a positive, finite number")) }
}

/// Training flags common to every task binary.
#[derive(Args, Clone, Debug)]
pub struct TrainArgs {
    /// Epochs to train (at least 1).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..).map(|v| v as usize))]
    pub epochs: usize,
    /// Peak learning rate, or `find` to run lr_find and train with its `valley` suggestion
    /// (the task's default when omitted).
    #[arg(long, allow_hyphen_values = true)]
    pub lr: Option<LrChoice>,
    /// Batch size (at least 1).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..).map(|v| v as usize))]
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
    /// Batch size (at least 1).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..).map(|v| v as usize))]
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
    #[arg(long, default_value_t = 1e-7, value_parser = positive_f64)]
    pub start_lr: f64,
    /// Last learning rate of the sweep.
    #[arg(long, default_value_t = 10.0, value_parser = positive_f64)]
    pub end_lr: f64,
    /// Batches in the sweep (at least 6).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u64).range(6..).map(|v| v as usize))]
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
    if out.exists() && !out.is_dir() {
        return Err(Error::invalid("--out", format!("{} is a file, not a folder: choose a folder for the run", out.display())));
    }
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

/// Fewer training batches an epoch than this gets a warning: one-cycle needs steps to anneal.
const FEW_BATCHES: usize = 10;

/// The learning rate to train with: `--lr`, or the task's `default`, or with `--lr find` the
/// `valley` suggestion of an lr_find run on `learner` (written to `--out` as `lr_find.png` and
/// `lr_find.json`, and printed). Also warns when an epoch has fewer than 10 batches, suggesting
/// a smaller `--bs`.
pub fn train_lr<M: TaskModel<B>, B: Batch>(learner: &mut Learner<M, B>, args: &TrainArgs, default: f64) -> Result<f64> {
    let n = learner.n_train_batches();
    if n < FEW_BATCHES {
        let bs = (args.bs * n / FEW_BATCHES).max(1);
        eprintln!(
            "warning: an epoch is only {n} batch{} of --bs {}; one-cycle training needs more steps: try --bs {bs} or smaller",
            if n == 1 { "" } else { "es" },
            args.bs
        );
    }
    match args.lr {
        Some(LrChoice::Value(lr)) => Ok(lr),
        None => Ok(default),
        Some(LrChoice::Find) => {
            if args.resume {
                return Err(Error::invalid("--lr", "`find` cannot be combined with --resume: resume with the learning rate the run used"));
            }
            let find = LrFindArgs {
                bs: args.bs,
                seed: args.seed,
                device: args.device.clone(),
                out: args.out.clone(),
                start_lr: 1e-7,
                end_lr: 10.0,
                num_it: 100,
            };
            let result = run_lr_find(learner, &find)?;
            let lr = result.valley.ok_or_else(|| {
                Error::Data("--lr find: lr_find found no valley (too few batches before the loss diverged); pass --lr".into())
            })?;
            println!("--lr find: training with lr_find's valley, {lr:.2e}");
            Ok(lr)
        }
    }
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
