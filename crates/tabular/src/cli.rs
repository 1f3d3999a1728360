//! The `kindling-tabular` command line: train, predict and lr-find on CSV or Parquet tables.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use kindling_core::cli::{LrFindArgs, TrainArgs, attach_run_dir, prepare_run_dir, run_lr_find, train_lr};
use kindling_core::data::split::{ColSplitter, RandomSplitter, Splitter};
use kindling_core::learner::{RunInfo, SplitSizes};
use kindling_core::{DeviceChoice, Error, Result};
use crate::prelude::*;
use crate::roles::kind_note;

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
        /// Where to run: cpu or wgpu.
        #[arg(long, default_value = "cpu")]
        device: DeviceChoice,
    },
    /// Sweep learning rates and suggest one (writes lr_find.png).
    LrFind {
        #[command(flatten)]
        table: TableArgs,
        #[command(flatten)]
        common: LrFindArgs,
    },
}

/// How to read the file.
#[derive(Args, Clone)]
struct FormatArgs {
    /// The file has no header line (then give --names).
    #[arg(long)]
    no_header: bool,
    /// Column names, comma separated.
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
struct TableArgs {
    /// The table (CSV, or Parquet by extension).
    #[arg(long, required_unless_present = "dataset")]
    csv: Option<PathBuf>,
    /// A data set fetched with `cargo xtask fetch` (adult_sample), instead of --csv.
    #[arg(long, conflicts_with = "csv")]
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
    /// Share of rows to validate on.
    #[arg(long, default_value_t = 0.2)]
    valid_pct: f64,
    /// Share of rows to hold out as a test set (evaluated once, after training).
    #[arg(long, default_value_t = 0.0)]
    test_pct: f64,
    /// A boolean column marking validation rows (instead of a random split).
    #[arg(long)]
    valid_col: Option<String>,
}

/// The model's shape.
#[derive(Args, Clone)]
struct ModelArgs {
    /// Hidden layer sizes, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "200,100")]
    layers: Vec<usize>,
    /// Dropout after each hidden layer, comma separated.
    #[arg(long, value_delimiter = ',')]
    ps: Option<Vec<f64>>,
    /// Dropout on the embeddings.
    #[arg(long, default_value_t = 0.0)]
    embed_p: f64,
}

/// Parses the command line, runs it, and turns an error into a message and a failure code.
pub fn main() -> ExitCode {
    kindling_core::cli::exit(run(Cli::parse()))
}

/// Reads the table, splits it, resolves the roles (printing them, the reason for the task kind
/// and any column left out) and fits the procs.
fn load(args: &TableArgs, seed: u64) -> Result<(TabularData, ReadOptions)> {
    let read = args.format.options(&ReadOptions::default())?;
    let (file, default_target) = match (&args.csv, &args.dataset) {
        (Some(csv), _) => (csv.clone(), None),
        (None, Some(name)) => crate::datasets::locate(name)?,
        (None, None) => return Err(Error::invalid("--csv", "give a table with --csv or a fetched data set with --dataset")),
    };
    // A problem with the data is reported against the file it is in.
    let in_file = |e: Error| match e {
        Error::Data(m) => Error::bad_file(&file, m),
        e => e,
    };
    let mut table = read_table(&file, &read, None)?;
    let splits = match &args.valid_col {
        Some(c) => ColSplitter::new(c.clone()).split(&table),
        None => RandomSplitter::new(args.valid_pct, seed).with_test_pct(args.test_pct).split(&table.n_rows()),
    }
    .map_err(in_file)?;
    // The column that made the split is no input to the model.
    if let Some(c) = &args.valid_col {
        table.remove(c);
    }
    let target = args.target.as_deref().or(default_target);
    let asked = match (args.classification, args.regression) {
        (true, _) => Some(TaskKind::Classification),
        (_, true) => Some(TaskKind::Regression),
        _ => None,
    };
    let roles = resolve(&table, target, args.cat.clone(), args.cont.clone(), asked).map_err(in_file)?;
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
    Ok((TabularData::new(&table, roles, splits).map_err(in_file)?, read))
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train { table, model, common } => {
            prepare_run_dir(&common.out, common.resume)?;
            let device = common.device.device()?;
            device.seed(common.seed);
            let (data, read) = load(&table, common.seed)?;
            let dls = data.dataloaders(common.bs, common.seed, &device)?;
            let cfg = TabularLearnerConfig { layers: model.layers.clone(), ps: model.ps.clone().unwrap_or_default(), embed_p: model.embed_p, y_range: None };
            let (learn, config) = tabular_learner(&data, &dls, &cfg, &device);
            let (train, valid, test) = data.splits.sizes();
            let info = RunInfo { seed: common.seed, device: common.device.to_string(), splits: SplitSizes { train, valid, test } };
            let mut learn = attach_run_dir(learn, &common, info)?;
            let lr = train_lr(&mut learn, &common, 1e-3)?;
            learn.fit_one_cycle(common.epochs, lr)?;
            let path = common.out.join("model.safetensors");
            export_tabular(&path, learn.model(), &config, &data.procs, &read)?;
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
        Command::LrFind { table, common } => {
            let device = common.device.device()?;
            device.seed(common.seed);
            let (data, _) = load(&table, common.seed)?;
            let dls = data.dataloaders(common.bs, common.seed, &device)?;
            let (learn, _) = tabular_learner(&data, &dls, &TabularLearnerConfig::default(), &device);
            run_lr_find(&mut learn.quiet(), &common).map(|_| ())
        }
    }
}
