//! What every task binary shares: the training flags, the lr-find flags, and the run-directory
//! contract (`--out DIR` gets the model file, `metrics.json`, `history.png`, and a checkpoint
//! folder that `--resume` continues from).

use std::path::{Path, PathBuf};

use clap::Args;
use clap::builder::TypedValueParser as _;

use crate::device::DeviceChoice;
use crate::error::{Error, Result};
use crate::export::ModelHeader;
use crate::learner::{Batch, CHECKPOINT_DIR, Learner, LrFindConfig, LrFindResult, RunDirWriter, RunInfo, TaskModel};

/// The end of every task binary's `main`: an error is printed as one line (`error: …`, naming
/// the file, row or setting at fault) and becomes a failure exit code, never a panic.
///
/// A command that fails before its new numbered run folder got anything (bad flags, data that
/// does not load) takes the folder back and points `runs/latest` where it pointed before, so
/// that a typo leaves no empty run behind.
pub fn exit(result: Result<()>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            undo_empty_run();
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// What `--lr` asks for, as fastai reads a learning rate: one rate, a range for discriminative
/// rates (fastai's `slice(start, stop)`), or `find` (run lr_find first and train with its
/// `valley` suggestion, as a fastai user does by hand).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LrChoice {
    /// This learning rate.
    Value(f64),
    /// `START:STOP`: fastai's `slice(START, STOP)`, the first parameter group (a pretrained
    /// body's first layers) at START, the last (the head) at STOP, the groups between spread
    /// evenly on a log scale. Only a task that trains parameter groups takes it.
    Range(f64, f64),
    /// lr_find's `valley`.
    Find,
}

impl std::str::FromStr for LrChoice {
    type Err = String;

    /// A positive, finite number, `START:STOP` with `START ≤ STOP`, or `find`.
    ///
    /// ```
    /// use kindling_core::cli::LrChoice;
    /// assert_eq!("3e-3".parse::<LrChoice>(), Ok(LrChoice::Value(3e-3)));
    /// assert_eq!("1e-5:1e-3".parse::<LrChoice>(), Ok(LrChoice::Range(1e-5, 1e-3)));
    /// assert_eq!("find".parse::<LrChoice>(), Ok(LrChoice::Find));
    /// for bad in ["-1", "NaN", "1e-3:1e-5", "1e-3:", ":1e-3", "a:b"] {
    ///     assert!(bad.parse::<LrChoice>().is_err(), "{bad}");
    /// }
    /// ```
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        if s.eq_ignore_ascii_case("find") {
            return Ok(LrChoice::Find);
        }
        if let Some((a, b)) = s.split_once(':') {
            let (a, b) = (positive_f64(a)?, positive_f64(b)?);
            if a > b {
                return Err(format!("{s}: START must not exceed STOP (fastai's slice(start, stop) gives the first layers the smaller rate)"));
            }
            return Ok(LrChoice::Range(a, b));
        }
        positive_f64(s).map(LrChoice::Value)
    }
}

/// The help of every `--device` flag: what each choice needs.
pub const DEVICE_HELP: &str = "Where to run: cpu (always built in); wgpu (a GPU) in a build with `--features wgpu`; ndarray in a build with `--features kindling-core/ndarray`";

/// Parses the path of an existing file, resolved to where it is now: `--from
/// runs/latest/model.safetensors` names the model of the latest run before the new run moves
/// `runs/latest`.
pub fn resolved_file(s: &str) -> std::result::Result<PathBuf, String> {
    let path = PathBuf::from(s);
    match std::fs::canonicalize(&path) {
        Ok(p) if p.is_file() => Ok(p),
        Ok(_) => Err(format!("{s} is a folder: name the model file in it (model.safetensors)")),
        Err(e) => Err(format!("{s}: {e}")),
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
    #[arg(long, allow_hyphen_values = true, value_name = "LR|find")]
    pub lr: Option<LrChoice>,
    /// Batch size (at least 1).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..).map(|v| v as usize))]
    pub bs: usize,
    /// Seed for the split, shuffling, augmentation and initialisation.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The device (its help is [`DEVICE_HELP`]).
    #[arg(long, default_value = "cpu", help = DEVICE_HELP)]
    pub device: DeviceChoice,
    /// The run directory: model file, metrics.json, history.png, checkpoint/ (and the task's
    /// own files). By default a new numbered folder, runs/TASK-YYYYmmdd-N, with runs/latest pointing to it (--resume alone
    /// continues the latest run).
    #[arg(long, default_value = DEFAULT_OUT)]
    pub out: PathBuf,
    /// Continue the run in --out from its last checkpoint (same flags as the run that wrote it).
    #[arg(long)]
    pub resume: bool,
    /// Start from the weights of a finished model (e.g. runs/x/model.safetensors) and train it
    /// further, as the other flags say: fastai's "fit again". The model and data flags must be
    /// the ones it was trained with (default: a new model).
    #[arg(long, value_name = "MODEL", conflicts_with = "resume", value_parser = resolved_file)]
    pub from: Option<PathBuf>,
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
    /// The device (its help is [`DEVICE_HELP`]).
    #[arg(long, default_value = "cpu", help = DEVICE_HELP)]
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

/// The `--out` of a run that names none: a link to the newest numbered run folder.
pub const DEFAULT_OUT: &str = "runs/latest";

/// Checks a run directory before training. A directory that already holds a checkpoint is only
/// used with `--resume`, so that a new run never overwrites an old one by accident.
///
/// [`DEFAULT_OUT`] (`runs/latest`) is a link: a new run without `--resume` gets a new folder,
/// `runs/TASK-YYYYmmdd-N` (the first free `N`; `TASK` from the program's name), and the link
/// is pointed at it, so that training twice in a row just works and `runs/latest` is always the
/// newest run. A real folder named `runs/latest` (an older kindling's) is left as it is.
pub fn prepare_run_dir(out: &Path, resume: bool) -> Result<()> {
    if out.exists() && !out.is_dir() {
        return Err(Error::invalid("--out", format!("{} is a file, not a folder: choose a folder for the run", out.display())));
    }
    if out == Path::new(DEFAULT_OUT) && !resume {
        if let Some(run) = new_numbered_run(out)? {
            println!("run folder: {} ({} points to it)", run.display(), out.display());
        }
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

/// The task's short name for run folders: the program's name without `kindling-` or `-cli`.
fn task_name() -> String {
    let exe = std::env::args().next().map(PathBuf::from).and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned())).unwrap_or_default();
    let name = exe.trim_start_matches("kindling-").trim_end_matches("-cli");
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') { "run".into() } else { name.to_string() }
}

/// The numbered run folder this process created, with the link's target before it.
struct NewRun {
    run: PathBuf,
    link: PathBuf,
    before: Option<PathBuf>,
}

static NEW_RUN: std::sync::Mutex<Option<NewRun>> = std::sync::Mutex::new(None);

/// Points the link `link` at `target`: a new link under a private name, renamed over the old
/// one, so that there is never a moment without it.
#[cfg(unix)]
fn point_link(link: &Path, target: &Path) -> Result<()> {
    let parent = link.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let tmp = parent.join(format!(".latest-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp).map_err(|e| Error::io(&tmp, e))?;
    std::fs::rename(&tmp, link).map_err(|e| Error::io(link, e))
}

/// Takes back the run folder this process created when it is still empty (`remove_dir` removes
/// nothing else), and points the link where it pointed before. Anything written in the folder
/// keeps it.
fn undo_empty_run() {
    let Some(new) = NEW_RUN.lock().unwrap_or_else(|e| e.into_inner()).take() else { return };
    if std::fs::remove_dir(&new.run).is_err() {
        return;
    }
    #[cfg(unix)]
    match &new.before {
        Some(target) => {
            let _ = point_link(&new.link, target);
        }
        None => {
            let _ = std::fs::remove_file(&new.link);
        }
    }
}

/// Creates `runs/TASK-YYYYmmdd-N` beside the link `link` and points the link at it; `None`
/// (nothing done) where `link` is a real folder or links are not available.
fn new_numbered_run(link: &Path) -> Result<Option<PathBuf>> {
    #[cfg(unix)]
    {
        let is_link = std::fs::symlink_metadata(link).map(|m| m.file_type().is_symlink()).unwrap_or(false);
        if link.exists() && !is_link {
            return Ok(None);
        }
        let parent = link.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        let date = crate::stamp::utc_stamp(std::time::SystemTime::now());
        let prefix = format!("{}-{}", task_name(), &date[..8]);
        let mut n = 1;
        let name = loop {
            let name = format!("{prefix}-{n}");
            match std::fs::create_dir(parent.join(&name)) {
                Ok(()) => break name,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => n += 1,
                Err(e) => return Err(Error::io(parent.join(&name), e)),
            }
        };
        let before = std::fs::read_link(link).ok();
        point_link(link, Path::new(&name))?;
        let run = parent.join(name);
        *NEW_RUN.lock().unwrap_or_else(|e| e.into_inner()) = Some(NewRun { run: run.clone(), link: link.to_path_buf(), before });
        Ok(Some(run))
    }
    #[cfg(not(unix))]
    {
        let _ = link;
        Ok(None)
    }
}

/// The flags of a command line, each with its values (`--layers 200 100` → `layers: [200, 100]`).
fn flags_of(args: &[String]) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut flags = std::collections::BTreeMap::new();
    let mut current: Option<String> = None;
    for a in args.iter().skip(1) {
        if let Some(f) = a.strip_prefix("--") {
            let (name, value) = f.split_once('=').map_or((f, None), |(n, v)| (n, Some(v.to_string())));
            flags.insert(name.to_string(), value.into_iter().collect());
            current = Some(name.to_string());
        } else if let Some(c) = &current {
            flags.get_mut(c).map(|v: &mut Vec<String>| v.push(a.clone()));
        }
    }
    flags.remove("resume");
    flags
}

/// The flags in which `now` differs from `then`, as `--flag value (was: …)`.
fn flag_differences(then: &[String], now: &[String]) -> Vec<String> {
    let (a, b) = (flags_of(then), flags_of(now));
    let show = |v: Option<&Vec<String>>| match v {
        None => "absent".to_string(),
        Some(v) if v.is_empty() => "given".to_string(),
        Some(v) => v.join(" "),
    };
    a.keys()
        .chain(b.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| format!("--{k} {} (the checkpoint's run: {})", show(b.get(k)), show(a.get(k))))
        .collect()
}

/// Gives a learner the run-directory behaviour: `metrics.json` and `history.png` after every
/// epoch, checkpoints in `out/checkpoint`, and, with `--resume`, the state of the last one.
pub fn attach_run_dir<M: TaskModel<B>, B: Batch>(learner: Learner<M, B>, args: &TrainArgs, info: RunInfo) -> Result<Learner<M, B>> {
    let ck_dir = args.out.join(CHECKPOINT_DIR);
    let mut learner = learner.with_seed(args.seed).with_callback(RunDirWriter::new(args.out.clone(), info)).with_checkpoints(&ck_dir);
    if args.resume {
        if let Err(e) = learner.resume_from(&ck_dir) {
            // Name the flags that differ from the run that wrote the checkpoint, when it recorded them.
            let then: Vec<String> = std::fs::read_to_string(args.out.join("metrics.json"))
                .ok()
                .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                .and_then(|m| serde_json::from_value(m["command"].clone()).ok())
                .unwrap_or_default();
            let diff = if then.is_empty() { Vec::new() } else { flag_differences(&then, &std::env::args().collect::<Vec<_>>()) };
            if !diff.is_empty() {
                return Err(Error::invalid(
                    "--resume",
                    format!("the checkpoint in {} was written with other flags; resume with the same ones. Differs: {}", args.out.display(), diff.join("; ")),
                ));
            }
            return Err(e);
        }
    }
    Ok(learner)
}

/// `--from MODEL`: loads a finished model's weights into the learner before it trains, after
/// checking that the file holds the model these flags and data build (`expected`, the header
/// the run would write; `fitted`, the preprocessing keys that must match: see
/// [`crate::export::same_model`]). Does nothing without `--from`.
pub fn start_from<M: TaskModel<B>, B: Batch>(
    learner: &mut Learner<M, B>,
    args: &TrainArgs,
    expected: impl FnOnce() -> Result<ModelHeader>,
    fitted: &[&str],
) -> Result<()> {
    let Some(from) = &args.from else { return Ok(()) };
    let bytes = crate::export::same_model(from, &expected()?, fitted)?;
    learner.load_weights(bytes, from)?;
    println!("starting from the weights of {}", from.display());
    Ok(())
}

/// Fewer training batches an epoch than this gets a warning: one-cycle needs steps to anneal.
const FEW_BATCHES: usize = 10;

/// The rates `--lr` gives a task that trains parameter groups ([`train_lrs`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Lrs {
    /// One peak rate.
    One(f64),
    /// fastai's `slice(start, stop)`: the first group at `start`, the last at `stop`.
    Range(f64, f64),
}

impl Lrs {
    /// fastai's `fine_tune(base_lr, lr_mult)` for these rates: one rate is `base_lr` with `ft`
    /// as given; `START:STOP` is the unfrozen phase's `slice(base_lr/2/lr_mult, base_lr/2)`,
    /// so `base_lr = 2·STOP` and `lr_mult = STOP/START`.
    ///
    /// ```
    /// use kindling_core::cli::Lrs;
    /// use kindling_core::learner::FineTune;
    /// let (base, ft) = Lrs::Range(1e-5, 1e-3).fine_tune(FineTune::default());
    /// assert!((base - 2e-3).abs() < 1e-12 && (ft.lr_mult - 100.0).abs() < 1e-9);
    /// assert_eq!(Lrs::One(2e-3).fine_tune(FineTune::default()), (2e-3, FineTune::default()));
    /// ```
    pub fn fine_tune(self, ft: crate::learner::FineTune) -> (f64, crate::learner::FineTune) {
        match self {
            Lrs::One(lr) => (lr, ft),
            Lrs::Range(start, stop) => (2.0 * stop, crate::learner::FineTune { lr_mult: stop / start, ..ft }),
        }
    }
}

/// The learning rate to train with: `--lr`, or the task's `default`, or with `--lr find` the
/// `valley` suggestion of an lr_find run on `learner` (written to `--out` as `lr_find.png` and
/// `lr_find.json`, and printed). Also warns when an epoch has fewer than 10 batches, suggesting
/// a smaller `--bs`. A range (`START:STOP`) is refused: this is for a model that trains as one
/// group; [`train_lrs`] takes ranges.
pub fn train_lr<M: TaskModel<B>, B: Batch>(learner: &mut Learner<M, B>, args: &TrainArgs, default: f64) -> Result<f64> {
    match train_lrs(learner, args, default)? {
        Lrs::One(lr) => Ok(lr),
        Lrs::Range(a, b) => Err(Error::invalid(
            "--lr",
            format!("{a:e}:{b:e} gives each parameter group its own rate (fastai's slice), but this model trains as one group: pass one rate"),
        )),
    }
}

/// [`train_lr`] for a task whose model trains parameter groups: `--lr START:STOP` is kept as a
/// range for the task to spread over its groups.
pub fn train_lrs<M: TaskModel<B>, B: Batch>(learner: &mut Learner<M, B>, args: &TrainArgs, default: f64) -> Result<Lrs> {
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
        Some(LrChoice::Value(lr)) => Ok(Lrs::One(lr)),
        Some(LrChoice::Range(a, b)) => Ok(Lrs::Range(a, b)),
        None => Ok(Lrs::One(default)),
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
            Ok(Lrs::One(lr))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_differences_name_the_flag_and_both_values() {
        let v = |s: &str| s.split_whitespace().map(String::from).collect::<Vec<_>>();
        let then = v("kindling-collab train --csv r.csv --n-factors 50 --epochs 3 --use-nn");
        let now = v("kindling-collab train --csv r.csv --n-factors=20 --epochs 3 --resume");
        let d = flag_differences(&then, &now);
        assert_eq!(d, vec!["--n-factors 20 (the checkpoint's run: 50)".to_string(), "--use-nn absent (the checkpoint's run: given)".to_string()]);
        assert!(flag_differences(&then, &then).is_empty());
    }
}
