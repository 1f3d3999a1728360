//! The `kindling-tabular` command line: train, predict and lr-find on CSV or Parquet tables.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::builder::TypedValueParser as _;
use clap::{Args, Parser, Subcommand};
use kindling_core::cli::{LrFindArgs, TrainArgs, attach_run_dir, prepare_run_dir, run_lr_find, start_from, train_lr};
use kindling_core::data::Splits;
use kindling_core::data::split::{ColSplitter, RandomSplitter, Splitter};
use kindling_core::export::SplitRecord;
use kindling_core::learner::{RunInfo, SplitSizes};
use kindling_core::{DeviceChoice, Error, Result};
use crate::interpret::{Outcome, TabularInterpretation, metric_name};
use crate::predict::{FITTED, TrainingSource, export_tabular_with_source, split_record, tabular_header};
use crate::prelude::*;
use crate::roles::kind_note;

/// `--lr` when not given: fastai's `tabular_learner` examples train at 1e-3.
const DEFAULT_LR: f64 = 1e-3;
/// [`DEFAULT_LR`] as `--help` shows it.
const DEFAULT_LR_TEXT: &str = "1e-3";

/// Tabular models as fastai's `tabular_learner` builds them: embeddings for categorical columns,
/// BatchNorm on continuous ones, and an MLP.
#[derive(Parser)]
#[command(name = "kindling-tabular", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train on a table and write the model, metrics.json and history.png into --out.
    #[command(mut_arg("lr", |a| a
        .help("Peak learning rate of the one-cycle schedule, or `find` to run lr_find and train with its `valley` suggestion")
        .default_value(DEFAULT_LR_TEXT)))]
    Train {
        #[command(flatten)]
        table: TableArgs,
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        common: TrainArgs,
    },
    /// Predict every row of a table with a trained model; writes a CSV in the input's row order.
    Predict {
        /// The model file written by `train`.
        #[arg(long)]
        model: PathBuf,
        /// The rows to predict (CSV, or Parquet by extension).
        #[arg(long)]
        csv: PathBuf,
        #[command(flatten)]
        format: FormatArgs,
        /// Where to write the predictions.
        #[arg(long, default_value = "predictions.csv")]
        out: PathBuf,
        /// The device (its help is core's `DEVICE_HELP`).
        #[arg(long, default_value = "cpu", help = kindling_core::cli::DEVICE_HELP)]
        device: DeviceChoice,
    },
    /// Sweep learning rates on the model `train` builds from the same flags, trained on the same
    /// rows, and suggest one (writes lr_find.png and lr_find.json into --out).
    LrFind {
        #[command(flatten)]
        table: TableArgs,
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        common: LrFindArgs,
    },
    /// Where the model goes wrong on the validation rows it was measured on: the confusion
    /// matrix (confusion_matrix.png), the rows with the highest loss and their values
    /// (top_losses.csv; for a regression, the largest squared errors), permutation feature
    /// importance (feature_importance.csv), all in interpretation.txt. The table, how it was
    /// read, its columns and its split come from the model file.
    Interpret {
        /// The model file written by `train`.
        #[arg(long)]
        model: PathBuf,
        /// The table the model was trained on [default: the one the model file records]; needed
        /// when it has moved, or for a model file that does not record it.
        #[arg(long)]
        csv: Option<PathBuf>,
        /// How many of the highest-loss rows to show.
        #[arg(short, long, visible_short_alias = 'n', default_value_t = 10)]
        k: usize,
        /// Shuffles of each column for permutation importance (at least 1; the change in the
        /// metric is their mean).
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..).map(|v| v as usize))]
        shuffles: usize,
        /// The device (its help is core's `DEVICE_HELP`).
        #[arg(long, default_value = "cpu", help = kindling_core::cli::DEVICE_HELP)]
        device: DeviceChoice,
        /// Folder for the outputs [default: the model file's folder].
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// How to read the file.
#[derive(Args, Clone)]
struct FormatArgs {
    /// The file has no header line (then give --names).
    #[arg(long)]
    no_header: bool,
    /// Column names, comma separated (default: the header line's; needed with --no-header).
    #[arg(long, value_delimiter = ',')]
    names: Option<Vec<String>>,
    /// Field separator (one character; `\t` for tab) [default: `,`; for predict, the training
    /// file's].
    #[arg(long)]
    sep: Option<String>,
    /// Values that mean "missing", comma separated [default: `NA,?`; for predict, the training
    /// file's].
    #[arg(long, value_delimiter = ',')]
    na: Option<Vec<String>>,
    /// Lines to skip at the top of the file.
    #[arg(long, default_value_t = 0)]
    skip_rows: usize,
}

impl FormatArgs {
    /// The options these flags ask for; `--sep` and `--na`, when not given, are `defaults`'
    /// (the training file's, for predict). A given flag always wins.
    fn options(&self, defaults: &ReadOptions) -> Result<ReadOptions> {
        let sep = match self.sep.as_deref() {
            None => defaults.separator,
            Some("\\t" | "tab") => b'\t',
            Some(s) if s.len() == 1 => s.as_bytes()[0],
            Some(s) => return Err(Error::invalid("--sep", format!("'{s}' is not a single character"))),
        };
        if self.no_header && self.names.is_none() {
            return Err(Error::invalid("--names", "a file without a header needs --names"));
        }
        Ok(ReadOptions {
            has_header: !self.no_header,
            names: self.names.clone(),
            separator: sep,
            na_values: self.na.clone().unwrap_or_else(|| defaults.na_values.clone()),
            skip_rows: self.skip_rows,
            trim: true,
        })
    }
}

/// The data and its columns.
#[derive(Args, Clone)]
#[command(group(clap::ArgGroup::new("source").args(["csv", "dataset"]).required(true)))]
struct TableArgs {
    /// The table (CSV, or Parquet by extension).
    #[arg(long)]
    csv: Option<PathBuf>,
    /// A data set fetched with `cargo xtask fetch` (adult_sample), instead of --csv.
    #[arg(long)]
    dataset: Option<String>,
    #[command(flatten)]
    format: FormatArgs,
    /// The target column (default: the last one).
    #[arg(long)]
    target: Option<String>,
    /// Categorical columns, comma separated (default: inferred).
    #[arg(long, value_delimiter = ',')]
    cat: Option<Vec<String>>,
    /// Continuous columns, comma separated (default: inferred).
    #[arg(long, value_delimiter = ',')]
    cont: Option<Vec<String>>,
    /// Treat the target as classes even if it is numeric.
    #[arg(long, conflicts_with = "regression")]
    classification: bool,
    /// Treat the target as a number to predict.
    #[arg(long)]
    regression: bool,
    /// Share of rows to validate on (a random split, drawn from --seed).
    #[arg(long, default_value_t = 0.2, conflicts_with = "valid_col")]
    valid_pct: f64,
    /// Share of rows to hold out as a test set (a random split; evaluated once, after training).
    #[arg(long, default_value_t = 0.0, conflicts_with = "valid_col")]
    test_pct: f64,
    /// A boolean column marking validation rows, instead of a random split (default: none).
    #[arg(long)]
    valid_col: Option<String>,
}

/// The model's shape and its weight decay: the same flags for `train` and `lr-find`.
#[derive(Args, Clone)]
struct ModelArgs {
    /// Hidden layer sizes, comma separated, each at least 1.
    #[arg(long, value_delimiter = ',', default_value = "200,100", value_parser = clap::value_parser!(u64).range(1..).map(|v| v as usize))]
    layers: Vec<usize>,
    /// Dropout after the hidden layers, in [0, 1): one value for every layer, or one per layer,
    /// comma separated.
    #[arg(long, value_delimiter = ',', default_value = "0", allow_hyphen_values = true, value_parser = dropout)]
    ps: Vec<f64>,
    /// Dropout on the embeddings, in [0, 1).
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true, value_parser = dropout)]
    embed_p: f64,
    /// Weight decay, decoupled (AdamW-style) and not applied to biases and BatchNorm, as
    /// fastai's default.
    #[arg(long, default_value_t = 0.01, allow_hyphen_values = true, value_parser = non_negative)]
    wd: f64,
}

impl ModelArgs {
    /// The learner's settings, a single `--ps` value applying to every layer (fastai's scalar
    /// `ps`).
    fn config(&self) -> Result<TabularLearnerConfig> {
        let ps = match self.ps.as_slice() {
            [p] => vec![*p; self.layers.len()],
            ps if ps.len() == self.layers.len() => ps.to_vec(),
            ps => {
                return Err(Error::invalid(
                    "--ps",
                    format!(
                        "{} values for {} hidden layers (--layers {}): give one value for every layer, or one per layer",
                        ps.len(),
                        self.layers.len(),
                        self.layers.iter().map(|l| l.to_string()).collect::<Vec<_>>().join(",")
                    ),
                ));
            }
        };
        Ok(TabularLearnerConfig { layers: self.layers.clone(), ps, embed_p: self.embed_p, y_range: None, wd: self.wd })
    }
}

/// A dropout probability: a number in `[0, 1)`.
fn dropout(s: &str) -> std::result::Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("'{s}' is not a number"))?;
    if (0.0..1.0).contains(&v) { Ok(v) } else { Err(format!("{s} is not in [0, 1)")) }
}

/// A non-negative, finite number.
fn non_negative(s: &str) -> std::result::Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("'{s}' is not a number"))?;
    if v.is_finite() && v >= 0.0 { Ok(v) } else { Err(format!("{s} is not a non-negative, finite number")) }
}

/// Parses the command line, runs it, and turns an error into a message and a failure code.
pub fn main() -> ExitCode {
    kindling_core::cli::exit(run(Cli::parse()))
}

/// A table read, split and processed for training, with what the model file records of it.
struct Loaded {
    data: TabularData,
    read: ReadOptions,
    source: TrainingSource,
    record: SplitRecord,
}

/// `e`, when it is a problem with the data, reported against `file`.
fn in_file(file: &Path) -> impl Fn(Error) -> Error + '_ {
    move |e| match e {
        Error::Data(m) => Error::bad_file(file, m),
        e => e,
    }
}

/// The split `source` describes, over `table`; a `--valid-col` column is checked, used and
/// taken out of the table (it is no input to the model).
fn split_table(table: &mut Table, source: &TrainingSource) -> Result<Splits> {
    match &source.valid_col {
        Some(c) => {
            if table.get(c).is_none() {
                return Err(Error::Data(table.missing(&format!("--valid-col column '{c}'"), c)));
            }
            let splits = ColSplitter::new(c.clone()).split(&*table)?;
            table.remove(c);
            Ok(splits)
        }
        None => RandomSplitter::new(source.valid_pct, source.seed).with_test_pct(source.test_pct).split(&table.n_rows()),
    }
}

/// Reads the table, splits it, resolves the roles (printing them, the reason for the task kind,
/// any column left out and the split) and fits the procs.
fn load(args: &TableArgs, seed: u64) -> Result<Loaded> {
    let read = args.format.options(&ReadOptions::default())?;
    let (file, default_target) = match (&args.csv, &args.dataset) {
        (Some(csv), _) => (csv.clone(), None),
        (None, Some(name)) => crate::datasets::locate(name)?,
        (None, None) => return Err(Error::invalid("--csv", "give a table with --csv or a fetched data set with --dataset")),
    };
    let source = TrainingSource {
        csv: args.csv.as_ref().map(|_| std::fs::canonicalize(&file).unwrap_or_else(|_| file.clone()).to_string_lossy().into_owned()),
        dataset: args.csv.is_none().then(|| args.dataset.clone()).flatten(),
        valid_pct: args.valid_pct,
        test_pct: args.test_pct,
        valid_col: args.valid_col.clone(),
        seed,
    };
    let mut table = read_table(&file, &read, None)?;
    let splits = split_table(&mut table, &source).map_err(in_file(&file))?;
    let record = split_record(&source, &table, &splits);
    let target = args.target.as_deref().or(default_target);
    let asked = match (args.classification, args.regression) {
        (true, _) => Some(TaskKind::Classification),
        (_, true) => Some(TaskKind::Regression),
        _ => None,
    };
    let roles = resolve(&table, target, args.cat.clone(), args.cont.clone(), asked).map_err(in_file(&file))?;
    println!(
        "{} rows; target '{}' ({}); categorical: {}; continuous: {}",
        table.n_rows(),
        roles.target,
        kind_note(table.require(&roles.target)?, roles.kind, asked),
        if roles.cat.is_empty() { "-".into() } else { roles.cat.join(", ") },
        if roles.cont.is_empty() { "-".into() } else { roles.cont.join(", ") }
    );
    let unused = roles.unused(&table);
    if !unused.is_empty() {
        println!("dropped columns: {} (with both --cat and --cont given, only those columns are used)", unused.join(", "));
    }
    let (train, valid, test) = splits.sizes();
    println!("split: {train} train, {valid} valid, {test} test rows ({}, --seed {seed})", source.split_method());
    let data = TabularData::new(&table, roles, splits).map_err(in_file(&file))?;
    Ok(Loaded { data, read, source, record })
}

/// The seed `metrics.json` beside `model` records (the run's), for a model file from before
/// model files recorded their split.
fn recorded_seed(model: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(model.parent()?.join("metrics.json")).ok()?;
    serde_json::from_str::<serde_json::Value>(&text).ok()?["seed"].as_u64()
}

/// `interpret`: rebuilds the validation rows the model was measured on from what the model
/// file records, and writes the interpretation into `out`.
fn interpret(model: &Path, csv: Option<&Path>, k: usize, shuffles: usize, device: &DeviceChoice, out: Option<&Path>) -> Result<()> {
    let device = device.device()?;
    let p = TabularPredictor::load(model, &device)?;
    let file = match (csv, &p.pre.source) {
        (Some(c), _) => c.to_path_buf(),
        (None, Some(TrainingSource { dataset: Some(name), .. })) => crate::datasets::locate(name)?.0,
        (None, Some(TrainingSource { csv: Some(path), .. })) => {
            let path = PathBuf::from(path);
            if !path.exists() {
                return Err(Error::invalid(
                    "--csv",
                    format!("{} was trained on {}, which is no longer there: give the table with --csv", model.display(), path.display()),
                ));
            }
            path
        }
        (None, _) => {
            return Err(Error::invalid(
                "--csv",
                format!("{} does not record the table it was trained on (an older model file): give the table with --csv", model.display()),
            ));
        }
    };
    let source = match &p.pre.source {
        Some(s) => s.clone(),
        None => {
            let seed = recorded_seed(model).unwrap_or(42);
            eprintln!(
                "warning: {} does not record its split (an older model file): the validation rows are rebuilt as a random --valid-pct 0.2 split with --seed {seed}, and may hold training rows",
                model.display()
            );
            TrainingSource { csv: None, dataset: None, valid_pct: 0.2, test_pct: 0.0, valid_col: None, seed }
        }
    };
    let mut table = read_table(&file, &p.pre.read, None)?;
    let splits = split_table(&mut table, &source).map_err(in_file(&file))?;
    if let Some(r) = &p.split {
        r.check_same(&split_record(&source, &table, &splits)).map_err(|diff| {
            Error::bad_file(
                &file,
                format!(
                    "this table does not rebuild the validation rows {} was measured on ({diff}); interpreting it could score training rows",
                    model.display()
                ),
            )
        })?;
    }
    let procs = &p.pre.procs;
    let processed = procs.apply(&table, true).map_err(in_file(&file))?;
    let interp = TabularInterpretation::new(&p, &processed, &splits.valid, k, shuffles, source.seed)?;
    let out = out.map(Path::to_path_buf).unwrap_or_else(|| model.parent().map(PathBuf::from).unwrap_or_default());
    std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
    let metric = metric_name(procs);
    let sep = p.pre.read.separator as char;
    kindling_core::io::write_atomic(&out.join("top_losses.csv"), interp.top_losses_csv(&table, procs, sep).as_bytes())?;
    kindling_core::io::write_atomic(&out.join("feature_importance.csv"), interp.importance_csv(metric).as_bytes())?;
    let mut written = vec!["interpretation.txt", "top_losses.csv", "feature_importance.csv"];
    if let Outcome::Classification(i) = &interp.outcome {
        i.plot_confusion_matrix(&out.join("confusion_matrix.png"))?;
        written.insert(0, "confusion_matrix.png");
    }
    let text = format!("{} ({}, --seed {})\n{}", file.display(), source.split_method(), source.seed, interp.text(&table, procs, shuffles));
    kindling_core::io::write_atomic(&out.join("interpretation.txt"), text.as_bytes())?;
    print!("{text}");
    println!("\n{} written to {}", written.join(", "), out.display());
    Ok(())
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train { table, model, common } => {
            let cfg = model.config()?;
            prepare_run_dir(&common.out, common.resume)?;
            let device = common.device.device()?;
            device.seed(common.seed);
            let Loaded { data, read, source, record } = load(&table, common.seed)?;
            println!("model: {}", cfg.describe());
            let dls = data.dataloaders(common.bs, common.seed, &device)?;
            let (learn, config) = tabular_learner(&data, &dls, &cfg, &device);
            let (train, valid, test) = data.splits.sizes();
            let info = RunInfo { seed: common.seed, device: common.device.to_string(), splits: SplitSizes { train, valid, test } };
            let mut learn = attach_run_dir(learn, &common, info)?;
            start_from(&mut learn, &common, || tabular_header(&config, &data.procs, &read), &FITTED)?;
            let lr = train_lr(&mut learn, &common, DEFAULT_LR)?;
            learn.fit_one_cycle(common.epochs, lr)?;
            let path = common.out.join("model.safetensors");
            export_tabular_with_source(&path, learn.model(), &config, &data.procs, &read, Some(source), Some(record))?;
            if test > 0 {
                let test_dl = dls.test_loader(&data.splits)?;
                let eval = learn.evaluate(&test_dl)?;
                let m: Vec<String> = eval.metrics.iter().map(|(n, v)| format!("{n} {:.4}", v.unwrap_or(f64::NAN))).collect();
                println!("held-out test ({} rows): loss {:.4}, {}", eval.n_items, eval.loss.unwrap_or(f64::NAN), m.join(", "));
            }
            println!("model written to {}", path.display());
            Ok(())
        }
        Command::Predict { model, csv, format, out, device } => {
            let predictor = TabularPredictor::load(&model, &device.device()?)?;
            let trained = &predictor.pre.read;
            let read = format.options(trained)?;
            if format.na.is_some() && read.na_values != trained.na_values {
                eprintln!(
                    "note: reading {} with --na {}; the model was trained reading {} as missing",
                    csv.display(),
                    read.na_values.join(","),
                    trained.na_values.join(",")
                );
            }
            let (n, score) = predictor.predict_file(&csv, &read, &out)?;
            print!("{n} rows predicted into {}", out.display());
            match (score, predictor.pre.procs.roles.kind) {
                (Some(s), TaskKind::Classification) => println!("; accuracy against '{}': {s:.4}", predictor.pre.procs.roles.target),
                (Some(s), TaskKind::Regression) => println!("; RMSE against '{}': {s:.4}", predictor.pre.procs.roles.target),
                (None, _) => println!(),
            }
            Ok(())
        }
        Command::LrFind { table, model, common } => {
            let cfg = model.config()?;
            let device = common.device.device()?;
            device.seed(common.seed);
            let Loaded { data, .. } = load(&table, common.seed)?;
            println!("model: {}", cfg.describe());
            let dls = data.dataloaders(common.bs, common.seed, &device)?;
            let (learn, _) = tabular_learner(&data, &dls, &cfg, &device);
            run_lr_find(&mut learn.quiet(), &common).map(|_| ())
        }
        Command::Interpret { model, csv, k, shuffles, device, out } => interpret(&model, csv.as_deref(), k, shuffles, &device, out.as_deref()),
    }
}
