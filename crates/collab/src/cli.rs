//! The `kindling-collab` command line.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::builder::TypedValueParser as _;
use clap::{Arg, Args, Parser, Subcommand};
use kindling_core::cli::{LrFindArgs, TrainArgs, attach_run_dir, prepare_run_dir, run_lr_find, start_from, train_lr};
use kindling_core::data::split::{RandomSplitter, Splitter};
use kindling_core::learner::{RunInfo, SplitSizes};
use kindling_core::plot::ChartSpec;
use kindling_core::{DeviceChoice, Error, Result};
use kindling_tabular::read::{ReadOptions, read_table};

use crate::data::CollabData;
use crate::interpret::{validation_set, worst_predictions};
use crate::learner::{collab_learner, default_config};
use crate::model::CollabModelConfig;
use crate::output::{Cell, Format, OutputArgs, Table, note, write_new};
use crate::pca::pca;
use kindling_core::plot::labeled_scatter;
use crate::predict::{CollabPredictor, FITTED, collab_header, export_collab};
use crate::ratings::{RatingColumns, Ratings};
use crate::source::{RatingsSource, separator};
use crate::titles::Titles;

/// The learning rate `train` uses without `--lr` (fastbook's `fit_one_cycle(5, 5e-3)`).
pub const DEFAULT_LR: f64 = 5e-3;

const LR_HELP: &str = "Peak learning rate of the one-cycle schedule, or `find` to run lr_find first (writing lr_find.png and lr_find.json into --out) and train with its `valley` suggestion";
const TRAIN_SEED_HELP: &str = "Seed for the train/valid split, the shuffling and the initial weights";
const LR_FIND_SEED_HELP: &str = "Seed for the train/valid split, the shuffling and the initial weights (as `train`'s --seed)";
const DEVICE_HELP: &str = "Where to run: cpu; wgpu (a GPU) or ndarray in a build with that feature";

/// Help that says what the flags shared with other task binaries do in kindling-collab (which
/// trains at 5e-3 by default); the flags keep their place.
fn collab_help(a: Arg) -> Arg {
    match a.get_id().as_str() {
        "lr" => a.default_value("5e-3").help(LR_HELP),
        "device" => a.help(DEVICE_HELP),
        _ => a,
    }
}

/// [`collab_help`], and `train`'s seed, which draws no augmentation here.
fn train_help(a: Arg) -> Arg {
    match a.get_id().as_str() {
        "seed" => a.help(TRAIN_SEED_HELP),
        _ => collab_help(a),
    }
}

/// [`collab_help`], and what lr-find's seed and folder are for.
fn lr_find_help(a: Arg) -> Arg {
    match a.get_id().as_str() {
        "seed" => a.help(LR_FIND_SEED_HELP),
        "out" => a.help("Folder for the sweep's plot (lr_find.png) and its losses and suggestions (lr_find.json)"),
        _ => collab_help(a),
    }
}

/// Collaborative filtering as fastai's `collab_learner` does it.
#[derive(Parser)]
#[command(name = "kindling-collab", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train on a ratings table and write the model, metrics.json and history.png into --out.
    #[command(mut_args(train_help))]
    Train {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        model: ModelFlags,
        #[command(flatten)]
        common: TrainArgs,
    },
    /// Predict ratings for the (user, item) pairs of a file; writes a CSV in the file's order.
    #[command(mut_args(collab_help))]
    Predict {
        #[command(flatten)]
        model: ModelArg,
        /// The pairs (user and item columns named as in training, or the first two columns).
        #[arg(long)]
        pairs: PathBuf,
        /// Field separator of the pairs file (`\t` for tab).
        #[arg(long, default_value = ",")]
        sep: String,
        /// Where to write the predictions (an existing file is kept unless --overwrite).
        #[arg(long, default_value = "predictions.csv")]
        out: PathBuf,
        /// Let --out replace an existing file.
        #[arg(long)]
        overwrite: bool,
    },
    /// The items a user would rate highest, among those they have not rated in training.
    #[command(mut_args(collab_help))]
    Recommend {
        #[command(flatten)]
        model: ModelArg,
        /// The user id.
        #[arg(long)]
        user: String,
        /// How many items to list.
        #[arg(short = 'n', long = "n", visible_short_alias = 'k', default_value_t = 10)]
        n: usize,
        #[command(flatten)]
        titles: TitlesArg,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// The items closest to one item (cosine similarity of their factors).
    #[command(mut_args(collab_help))]
    Similar {
        #[command(flatten)]
        model: ModelArg,
        /// The item: its id, or its title with --titles; case, punctuation and a trailing year
        /// such as "(1995)" may differ.
        #[arg(long)]
        item: String,
        /// How many items to list.
        #[arg(short = 'n', long = "n", visible_short_alias = 'k', default_value_t = 10)]
        n: usize,
        #[command(flatten)]
        titles: TitlesArg,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Chapter 8's look inside: the lowest and highest item biases, and a map of the most-rated
    /// items' factors (pca.png, pca.csv).
    #[command(mut_args(collab_help))]
    Analyze {
        #[command(flatten)]
        model: ModelArg,
        #[command(flatten)]
        titles: TitlesArg,
        /// Items listed at each end of the bias ranking.
        #[arg(short = 'n', long = "n", visible_short_alias = 'k', default_value_t = 5)]
        n: usize,
        /// How many of the most-rated items the PCA is computed on.
        #[arg(long, default_value_t = 1000)]
        top: usize,
        /// How many of those, the most rated first, are drawn with their names on the map.
        #[arg(long, default_value_t = 50)]
        label: usize,
        /// Folder to write pca.png and pca.csv into (existing ones are kept unless --overwrite).
        #[arg(long, default_value = "runs/analyze")]
        out: PathBuf,
        /// Let pca.png and pca.csv replace those already in --out.
        #[arg(long)]
        overwrite: bool,
        /// How to print the bias table: table (aligned, long names cut with …), csv or json.
        #[arg(long, value_enum, default_value_t = Format::Table, hide_possible_values = true)]
        format: Format,
    },
    /// The validation ratings predicted worst, from the model file alone (it records the
    /// ratings file and the split).
    #[command(mut_args(collab_help))]
    Interpret {
        #[command(flatten)]
        model: ModelArg,
        /// The ratings file, if it moved since training (default: where the model file records
        /// it was; a file whose validation ratings differ from the recorded split is refused).
        #[arg(long)]
        ratings: Option<PathBuf>,
        /// How many ratings to list.
        #[arg(short = 'n', long = "n", visible_short_alias = 'k', default_value_t = 10)]
        n: usize,
        #[command(flatten)]
        titles: TitlesArg,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Sweep learning rates on the model `train` builds from the same flags; writes
    /// lr_find.png and lr_find.json and suggests a rate.
    #[command(mut_args(lr_find_help))]
    LrFind {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        model: ModelFlags,
        #[command(flatten)]
        common: LrFindArgs,
    },
}

#[derive(Args, Clone)]
struct ModelArg {
    /// The model file written by `train`.
    #[arg(long)]
    model: PathBuf,
    /// Where to run.
    #[arg(long, default_value = "cpu")]
    device: DeviceChoice,
}

impl ModelArg {
    fn load(&self) -> Result<CollabPredictor> {
        CollabPredictor::load(&self.model, &self.device.device()?)
    }
}

#[derive(Args, Clone)]
struct TitlesArg {
    /// A table of item ids (first column) and titles (second column), MovieLens' movies.csv or
    /// u.item, to show titles beside ids and to find items by title.
    #[arg(long)]
    titles: Option<PathBuf>,
    /// Field separator of --titles (`\t` for tab) [default: `,` for a .csv file, tab otherwise].
    #[arg(long, requires = "titles")]
    titles_sep: Option<String>,
}

impl TitlesArg {
    fn read(&self, p: &CollabPredictor) -> Result<Option<Titles>> {
        self.titles.as_ref().map(|path| Titles::read(path, self.titles_sep.as_deref(), &p.pre.items)).transpose()
    }
}

/// The model flags `train` and `lr-find` share, so that lr-find sweeps the model train builds.
#[derive(Args, Clone, Debug)]
struct ModelFlags {
    /// Factors per user and item of the dot-product model (at least 1; the neural model sizes its
    /// embeddings by fastai's rule instead).
    #[arg(long, default_value_t = 50, conflicts_with = "use_nn", value_parser = clap::value_parser!(u64).range(1..).map(|v| v as usize))]
    n_factors: usize,
    /// Use the neural model (EmbeddingNN) instead of the dot product.
    #[arg(long)]
    use_nn: bool,
    /// Hidden layers of the neural model, comma separated, each at least 1 (needs --use-nn)
    /// [default: 100,50].
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u64).range(1..).map(|v| v as usize))]
    layers: Option<Vec<usize>>,
    /// Range of the predicted ratings: `LOW,HIGH` or `LOW HIGH` (a negative LOW as
    /// `--y-range=-1,1` or `--y-range -1 1`), finite, LOW below HIGH [default: 0 to the highest
    /// rating + 0.5, fastai's 0,5.5 for 1 to 5 stars].
    #[arg(long, value_name = "LOW,HIGH", num_args = 1..=2, value_delimiter = ',', allow_negative_numbers = true, value_parser = finite_f64)]
    y_range: Option<Vec<f64>>,
    /// Weight decay (fastbook: 0.1).
    #[arg(long, default_value_t = 0.1, allow_hyphen_values = true, value_parser = non_negative_f64)]
    wd: f64,
}

impl ModelFlags {
    /// The model these flags describe for `data`.
    fn config(&self, data: &CollabData) -> Result<CollabModelConfig> {
        if self.layers.is_some() && !self.use_nn {
            return Err(Error::invalid("--layers", "sizes the neural model's hidden layers: add --use-nn, or leave --layers out"));
        }
        let y_range = match self.y_range.as_deref() {
            None => None,
            Some(&[lo, hi]) if lo < hi => Some((lo, hi)),
            Some(v) => {
                let given = v.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",");
                return Err(Error::invalid("--y-range", format!("'{given}' is not two numbers LOW,HIGH with LOW below HIGH (as 0,5.5)")));
            }
        };
        Ok(default_config(data, self.n_factors, self.use_nn.then(|| self.layers.clone().unwrap_or_else(|| vec![100, 50])), y_range))
    }
}

#[derive(Args, Clone)]
#[command(group(clap::ArgGroup::new("source").args(["ratings", "dataset"]).required(true)))]
struct DataArgs {
    /// The ratings table (CSV/TSV, or Parquet by extension).
    #[arg(long)]
    ratings: Option<PathBuf>,
    /// A data set fetched with `cargo xtask fetch` (ml_sample, ml_100k), instead of --ratings.
    #[arg(long)]
    dataset: Option<String>,
    /// User column (case and punctuation may differ) [default: the first].
    #[arg(long)]
    user: Option<String>,
    /// Item column (case and punctuation may differ) [default: the second].
    #[arg(long)]
    item: Option<String>,
    /// Rating column (case and punctuation may differ) [default: the third].
    #[arg(long)]
    rating: Option<String>,
    /// Field separator (`\t` for tab) of --ratings (a --dataset's layout is known).
    #[arg(long, default_value = ",", conflicts_with = "dataset")]
    sep: String,
    /// --ratings has no header line (a --dataset's layout is known).
    #[arg(long, conflicts_with = "dataset")]
    no_header: bool,
    /// Share of ratings to validate on (above 0, below 1).
    #[arg(long, default_value_t = 0.2, value_parser = fraction)]
    valid_pct: f64,
}

/// A finite number (one end of --y-range).
fn finite_f64(s: &str) -> std::result::Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("'{s}' is not a number (--y-range takes LOW,HIGH, as 0,5.5)"))?;
    if v.is_finite() { Ok(v) } else { Err(format!("{s} is not a finite number")) }
}

/// A finite number of at least 0 (weight decay).
fn non_negative_f64(s: &str) -> std::result::Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("'{s}' is not a number"))?;
    if v.is_finite() && v >= 0.0 { Ok(v) } else { Err(format!("{s} is not a finite number of at least 0")) }
}

/// A share strictly between 0 and 1.
fn fraction(s: &str) -> std::result::Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("'{s}' is not a number"))?;
    if v > 0.0 && v < 1.0 { Ok(v) } else { Err(format!("{s} is not a share above 0 and below 1")) }
}

impl DataArgs {
    fn load(&self, seed: u64) -> Result<CollabData> {
        let (file, read, dataset) = match (&self.ratings, &self.dataset) {
            (Some(file), _) => {
                let mut read = ReadOptions { separator: separator(&self.sep)?, has_header: !self.no_header, ..ReadOptions::default() };
                if self.no_header {
                    read.names = Some(vec!["user".into(), "item".into(), "rating".into(), "timestamp".into()]);
                }
                (file.clone(), read, None)
            }
            (None, Some(name)) => {
                let (file, read) = crate::datasets::locate(name)?;
                (file, read, Some(name.to_ascii_lowercase()))
            }
            (None, None) => return Err(Error::invalid("--ratings", "give a table with --ratings or a fetched data set with --dataset")),
        };
        let cols = RatingColumns { user: self.user.clone(), item: self.item.clone(), rating: self.rating.clone() };
        let ratings = Ratings::read(&file, &read, &cols)?;
        let (lo, hi) = ratings.range();
        println!(
            "{} ratings of '{}' by '{}' in '{}', from {lo} to {hi}{}",
            ratings.len(),
            ratings.columns.1,
            ratings.columns.0,
            ratings.columns.2,
            if ratings.duplicates_dropped > 0 { format!("; {} repeated (user, item) ratings dropped, keeping the last", ratings.duplicates_dropped) } else { String::new() }
        );
        if let Some(first) = ratings.skipped_rows.first() {
            println!("{} ratings without a user or item id were skipped (the first is row {first})", ratings.skipped_rows.len());
        }
        let splits = RandomSplitter::new(self.valid_pct, seed).split(&ratings.len())?;
        let mut data = CollabData::new(ratings, splits)?;
        data.source = Some(RatingsSource::new(&file, dataset, &read, self.valid_pct, seed));
        Ok(data)
    }
}

/// Parses the command line, runs it, and turns an error into a message and a failure code.
pub fn main() -> ExitCode {
    kindling_core::cli::exit(run(Cli::parse()))
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train { data, model, common } => {
            // The data and the model flags first: a run folder is made only for a run that can start.
            let data = data.load(common.seed)?;
            let config = model.config(&data)?;
            prepare_run_dir(&common.out, common.resume)?;
            let device = common.device.device()?;
            device.seed(common.seed);
            println!("{} users and {} items in training (plus the #na# slot)", data.users.len() - 1, data.items.len() - 1);
            let dls = data.dataloaders(common.bs, common.seed, &device)?;
            let learn = collab_learner(&data, &dls, &config, model.wd, &device);
            println!("{}", describe(&config, model.wd, learn.model()));
            let (train, valid, test) = data.splits.sizes();
            let info = RunInfo { seed: common.seed, device: common.device.to_string(), splits: SplitSizes { train, valid, test } };
            let mut learn = attach_run_dir(learn, &common, info)?;
            start_from(&mut learn, &common, || collab_header(&config, &data), &FITTED)?;
            let lr = train_lr(&mut learn, &common, DEFAULT_LR)?;
            learn.fit_one_cycle(common.epochs, lr)?;
            let path = common.out.join("model.safetensors");
            export_collab(&path, learn.model(), &config, &data)?;
            println!("model written to {}", path.display());
            Ok(())
        }
        Command::Predict { model, pairs, sep, out, overwrite } => predict(&model, &pairs, &sep, &out, overwrite),
        Command::Recommend { model, user, n, titles, output } => {
            let p = model.load()?;
            let titles = titles.read(&p)?;
            let u = p.find_user(&user, "--user")?;
            let recs = p.recommend_row(u, n)?;
            output.note(&format!("The {} items user {} would rate highest, of those they did not rate in training:", recs.len(), p.pre.users.ids[u]));
            let mut table = item_table(&["rank", "item"], titles.as_ref(), &["predicted"]);
            for (k, s) in recs.iter().enumerate() {
                table.push(item_row(k, &s.item, titles.as_ref().and_then(|t| t.get(s.row)), Cell::Num(s.score, 3)));
            }
            output.emit(&table)
        }
        Command::Similar { model, item, n, titles, output } => {
            let p = model.load()?;
            let titles = titles.read(&p)?;
            let row = p.find_item(&item, titles.as_ref(), "--item")?;
            let name = titles.as_ref().and_then(|t| t.get(row)).unwrap_or(&p.pre.items.ids[row]);
            let like = p.similar_row(row, n)?;
            output.note(&format!("The {} items most like '{name}' (cosine similarity of their factors):", like.len()));
            let mut table = item_table(&["rank", "item"], titles.as_ref(), &["similarity"]);
            for (k, s) in like.iter().enumerate() {
                table.push(item_row(k, &s.item, titles.as_ref().and_then(|t| t.get(s.row)), Cell::Num(s.score, 3)));
            }
            output.emit(&table)
        }
        Command::Analyze { model, titles, n, top, label, out, overwrite, format } => {
            let p = model.load()?;
            let titles = titles.read(&p)?;
            analyze(&p, titles.as_ref(), n, top, label, &out, overwrite, format)
        }
        Command::Interpret { model, ratings, n, titles, output } => {
            let p = model.load()?;
            let titles = titles.read(&p)?;
            let (data, splits) = validation_set(&p, &model.model, ratings.as_deref())?;
            let it = worst_predictions(&p, &data, &splits, n)?;
            output.note(&format!(
                "{} validation ratings: MSE {:.4} (RMSE {:.4}){}. The {} predicted worst:",
                it.n_valid,
                it.mse,
                it.mse.sqrt(),
                if it.unseen > 0 { format!("; {} of them by a user or of an item not in training", it.unseen) } else { String::new() },
                it.worst.len()
            ));
            let mut table = Table::new(&["rank", "user", "item"]);
            if titles.is_some() {
                table.headers.push("title".into());
            }
            table.headers.extend(["rating", "predicted", "sq_error"].map(String::from));
            // Half stars show as 4.5; finer scales keep their digits.
            let rating_decimals = if it.worst.iter().all(|m| (m.rating * 10.0).fract() == 0.0) { 1 } else { 3 };
            for (k, m) in it.worst.iter().enumerate() {
                let mut row = vec![Cell::Int(k as i64 + 1), Cell::text(&m.user), Cell::text(&m.item)];
                if let Some(t) = &titles {
                    row.push(t.get(m.item_row).map_or(Cell::Empty, Cell::text));
                }
                row.extend([Cell::Num(m.rating as f64, rating_decimals), Cell::Num(m.predicted as f64, 3), Cell::Num(m.sq_error(), 3)]);
                table.push(row);
            }
            output.emit(&table)
        }
        Command::LrFind { data, model, common } => {
            let data = data.load(common.seed)?;
            let config = model.config(&data)?;
            let device = common.device.device()?;
            device.seed(common.seed);
            let dls = data.dataloaders(common.bs, common.seed, &device)?;
            let mut learn = collab_learner(&data, &dls, &config, model.wd, &device).quiet();
            println!("{}", describe(&config, model.wd, learn.model()));
            run_lr_find(&mut learn, &common).map(|_| ())
        }
    }
}

/// The model in words, as `train` and `lr-find` print it before they start.
fn describe(c: &CollabModelConfig, wd: f64, model: &crate::model::CollabModel) -> String {
    let range = c.y_range.map_or(String::new(), |(lo, hi)| format!(", predictions in {lo} to {hi}"));
    let params = kindling_core::nn::num_params(model);
    match &c.nn_layers {
        None => format!("model: the dot product (EmbeddingDotBias), {} factors{range}, weight decay {wd}; {params} parameters", c.n_factors),
        Some(layers) => format!(
            "model: the neural model (EmbeddingNN), embeddings of {} and {}, hidden layers {}{range}, weight decay {wd}; {params} parameters",
            kindling_core::nn::emb_sz_rule(c.n_users),
            kindling_core::nn::emb_sz_rule(c.n_items),
            layers.iter().map(|l| l.to_string()).collect::<Vec<_>>().join(",")
        ),
    }
}

/// A table of items: `lead` columns, `item`, a `title` column when there are titles, then `tail`.
fn item_table(lead: &[&str], titles: Option<&Titles>, tail: &[&str]) -> Table {
    let mut t = Table::new(lead);
    if titles.is_some() {
        t.headers.push("title".into());
    }
    t.headers.extend(tail.iter().map(|s| s.to_string()));
    t
}

/// Rank `k + 1`, the item, its title when there are titles, and `value`.
fn item_row(k: usize, item: &str, title: Option<&str>, value: Cell) -> Vec<Cell> {
    vec![Cell::Int(k as i64 + 1), Cell::text(item)].into_iter().chain(title.map(Cell::text)).chain([value]).collect()
}

fn predict(model: &ModelArg, pairs: &Path, sep: &str, out: &Path, overwrite: bool) -> Result<()> {
    if out.exists() && !overwrite {
        return Err(Error::invalid("--out", format!("{} already exists: pass --overwrite to replace it, or choose another file", out.display())));
    }
    let p = model.load()?;
    let read = ReadOptions { separator: separator(sep)?, ..ReadOptions::default() };
    let table = read_table(pairs, &read, None)?;
    let (uc, ic) = (&p.pre.columns.0, &p.pre.columns.1);
    let pick = |name: &String, k: usize| {
        table.get(name).or_else(|| table.columns.get(k)).ok_or_else(|| {
            Error::bad_file(pairs, format!("no '{name}' column, and no column {} to use instead; the columns are: {}", k + 1, table.names.join(", ")))
        })
    };
    let (users, items) = (pick(uc, 0)?, pick(ic, 1)?);
    let mut csv = format!("{uc},{ic},prediction,note\n");
    let mut known = Vec::new();
    let n = table.n_rows();
    let ids: Vec<(String, String)> = (0..n).map(|k| (users.category(k).unwrap_or_default(), items.category(k).unwrap_or_default())).collect();
    for (u, i) in &ids {
        if let (Some(u), Some(i)) = (p.pre.users.get(u), p.pre.items.get(i)) {
            known.push((u, i));
        }
    }
    let mut preds = p.predict_rows(&known)?.into_iter();
    let field = |s: &str| if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() };
    for (u, i) in &ids {
        let note = match (p.pre.users.get(u), p.pre.items.get(i)) {
            (Some(_), Some(_)) => None,
            (None, _) => Some("unknown user"),
            (_, None) => Some("unknown item"),
        };
        let (u, i) = (field(u), field(i));
        let _ = match note {
            None => writeln!(csv, "{u},{i},{:.4},", preds.next().expect("one per known pair")),
            Some(note) => writeln!(csv, "{u},{i},,{note}"),
        };
    }
    write_new(out, csv.as_bytes(), overwrite, "--out")?;
    println!("{n} pairs predicted into {} ({} with an id unseen in training)", out.display(), n - known.len());
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn analyze(p: &CollabPredictor, titles: Option<&Titles>, n: usize, top: usize, label: usize, out: &Path, overwrite: bool, format: Format) -> Result<()> {
    let (png, csv) = (out.join("pca.png"), out.join("pca.csv"));
    if !overwrite && let Some(there) = [&png, &csv].into_iter().find(|f| f.exists()) {
        return Err(Error::invalid("--out", format!("{} already exists: pass --overwrite to replace pca.png and pca.csv, or choose another --out", there.display())));
    }
    let name = |i: usize| titles.and_then(|t| t.get(i)).unwrap_or(&p.pre.items.ids[i]).to_string();
    // Only items rated in training have learned factors.
    let rated: Vec<usize> = (1..p.pre.items.len()).filter(|&i| p.pre.item_counts[i] > 0).collect();
    let mut table = item_table(&["end", "rank", "item"], titles, &["bias", "ratings"]);
    match p.item_biases() {
        Some(bias) => {
            let bias = bias?;
            let mut order = rated.clone();
            order.sort_by(|&a, &b| bias[a].total_cmp(&bias[b]).then(a.cmp(&b)));
            let ends = [("lowest", order.iter().take(n).copied().collect::<Vec<_>>()), ("highest", order.iter().rev().take(n).copied().collect())];
            for (end, rows) in ends {
                for (k, &i) in rows.iter().enumerate() {
                    let mut row = vec![Cell::text(end)];
                    row.extend(item_row(k, &p.pre.items.ids[i], titles.and_then(|t| t.get(i)), Cell::Num(bias[i] as f64, 3)));
                    row.push(Cell::Int(p.pre.item_counts[i] as i64));
                    table.push(row);
                }
            }
            if format == Format::Table {
                // Two tables a person reads side by side in their mind: the rank restarts.
                for (end, what) in [("lowest", "liked less than their ratings' users would predict"), ("highest", "liked more than their users' ratings would predict")] {
                    let mut part = Table { headers: table.headers[1..].to_vec(), rows: Vec::new() };
                    part.rows = table.rows.iter().filter(|r| r[0] == Cell::text(end)).map(|r| r[1..].to_vec()).collect();
                    println!("{} item biases ({what}):", if end == "lowest" { "Lowest" } else { "Highest" });
                    print!("{}", part.render(Format::Table));
                }
            } else {
                print!("{}", table.render(format));
            }
        }
        None => {
            note(format, "no item bias listing: the neural model (--use-nn) has no bias per item (the dot-product model has)");
            if format != Format::Table {
                print!("{}", table.render(format));
            }
        }
    }
    let mut by_count = rated;
    by_count.sort_by(|&a, &b| p.pre.item_counts[b].cmp(&p.pre.item_counts[a]).then(a.cmp(&b)));
    by_count.truncate(top);
    let (f, d) = p.item_factors()?;
    if d < 2 {
        note(format, &format!("no PCA map: it plots two principal components of the item factors, and this model has {d} factor{} per item", if d == 1 { "" } else { "s" }));
        return Ok(());
    }
    if by_count.len() < 2 || label == 0 {
        note(
            format,
            &format!("no PCA map: it needs at least 2 items (--top {top}; {} were rated in training) and 1 label (--label {label})", p.pre.item_counts.iter().filter(|&&c| c > 0).count()),
        );
        return Ok(());
    }
    let x: Vec<f32> = by_count.iter().flat_map(|&i| f[i * d..(i + 1) * d].iter().copied()).collect();
    let comps = pca(&x, by_count.len(), d, 2);
    let mut coords = item_table(&["item"], titles, &["ratings", "pc1", "pc2"]);
    for (r, &i) in by_count.iter().enumerate() {
        let mut row = vec![Cell::text(&p.pre.items.ids[i])];
        if let Some(t) = titles {
            row.push(t.get(i).map_or(Cell::Empty, Cell::text));
        }
        row.extend([Cell::Int(p.pre.item_counts[i] as i64), Cell::Num(comps[r * 2], 5), Cell::Num(comps[r * 2 + 1], 5)]);
        coords.push(row);
    }
    let points: Vec<(f64, f64, String)> = by_count.iter().take(label).enumerate().map(|(r, &i)| (comps[r * 2], comps[r * 2 + 1], name(i))).collect();
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    labeled_scatter(&png, &ChartSpec { title: "Item factors: first two principal components", x_label: "PC 1", y_label: "PC 2", log_x: false }, &points)?;
    write_new(&csv, coords.render(Format::Csv).as_bytes(), true, "--out")?;
    note(
        format,
        &format!("PCA of the {} most-rated items' factors: map in {} ({} labelled), coordinates in {}", by_count.len(), png.display(), points.len(), csv.display()),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn y_range_takes_one_comma_pair_or_two_values() {
        for args in [&["--y-range", "0,5.5"][..], &["--y-range", "0", "5.5"], &["--y-range=-1,1"], &["--y-range", "-1", "1"]] {
            let cli = Cli::try_parse_from([&["kindling-collab", "train", "--ratings", "r.csv"][..], args, &["--epochs", "2"]].concat());
            let Ok(Cli { command: Command::Train { model, common, .. } }) = cli else { panic!("{args:?} was refused") };
            assert_eq!(model.y_range.as_ref().map(Vec::len), Some(2), "{args:?}");
            assert_eq!(common.epochs, 2, "{args:?}: --epochs is not eaten by --y-range");
        }
    }
}
