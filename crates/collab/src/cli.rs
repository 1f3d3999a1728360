//! The `kindling-collab` command line.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::TypedValueParser as _;
use clap::{Args, Parser, Subcommand};
use kindling_core::cli::{LrFindArgs, TrainArgs, attach_run_dir, prepare_run_dir, run_lr_find, train_lr};
use kindling_core::data::split::{RandomSplitter, Splitter};
use kindling_core::learner::{RunInfo, SplitSizes};
use kindling_core::plot::{ChartSpec, scatter_labeled};
use kindling_core::{DeviceChoice, Error, Result};
use kindling_tabular::read::{ReadOptions, read_table};

use crate::data::CollabData;
use crate::learner::{collab_learner, default_config};
use crate::pca::pca;
use crate::predict::{CollabPredictor, export_collab};
use crate::ratings::{RatingColumns, Ratings};

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
    Train {
        #[command(flatten)]
        data: DataArgs,
        /// Factors per user and item of the dot-product model (at least 1; the neural model
        /// sizes its embeddings by fastai's rule instead).
        #[arg(long, default_value_t = 50, conflicts_with = "use_nn", value_parser = clap::value_parser!(u64).range(1..).map(|v| v as usize))]
        n_factors: usize,
        /// Use the neural model (EmbeddingNN) instead of the dot product.
        #[arg(long)]
        use_nn: bool,
        /// Hidden layers of the neural model, comma separated, each at least 1 (needs --use-nn;
        /// default 100,50).
        #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u64).range(1..).map(|v| v as usize))]
        layers: Option<Vec<usize>>,
        /// Output range `low,high`, finite and low below high (default: 0 to the highest
        /// rating + 0.5).
        #[arg(long, allow_hyphen_values = true, value_parser = y_range)]
        y_range: Option<(f64, f64)>,
        /// Weight decay (fastbook: 0.1).
        #[arg(long, default_value_t = 0.1, allow_hyphen_values = true, value_parser = non_negative_f64)]
        wd: f64,
        #[command(flatten)]
        common: TrainArgs,
    },
    /// Predict ratings for the (user, item) pairs of a file; writes a CSV in the file's order.
    Predict {
        #[command(flatten)]
        model: ModelArg,
        /// The pairs (user and item columns named as in training, or the first two columns).
        #[arg(long)]
        pairs: PathBuf,
        /// Field separator of the pairs file.
        #[arg(long, default_value = ",")]
        sep: String,
        /// Where to write the predictions.
        #[arg(long, default_value = "predictions.csv")]
        out: PathBuf,
    },
    /// The items a user would rate highest, among those they have not rated.
    Recommend {
        #[command(flatten)]
        model: ModelArg,
        /// The user id.
        #[arg(long)]
        user: String,
        /// How many.
        #[arg(short, long, default_value_t = 10)]
        n: usize,
    },
    /// The items closest to one item (cosine similarity of their factors).
    Similar {
        #[command(flatten)]
        model: ModelArg,
        /// The item id.
        #[arg(long)]
        item: String,
        /// How many.
        #[arg(short, long, default_value_t = 10)]
        n: usize,
    },
    /// Chapter 8's look inside: item biases, and a PCA map of the most-rated items' factors.
    Analyze {
        #[command(flatten)]
        model: ModelArg,
        /// A table of item id (first column) and title (second column) to label items with.
        #[arg(long)]
        titles: Option<PathBuf>,
        /// Field separator of the titles table (needs --titles; default tab).
        #[arg(long)]
        titles_sep: Option<String>,
        /// Items listed at each end of the bias ranking.
        #[arg(long, default_value_t = 5)]
        n: usize,
        /// Most-rated items in the PCA, and how many of them to label.
        #[arg(long, default_value_t = 1000)]
        top: usize,
        /// Labelled points on the map.
        #[arg(long, default_value_t = 50)]
        label: usize,
        /// Where to write pca.png.
        #[arg(long, default_value = "runs/analyze")]
        out: PathBuf,
    },
    /// Sweep learning rates and suggest one.
    LrFind {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        common: LrFindArgs,
    },
}

#[derive(Args, Clone)]
struct ModelArg {
    /// The model file written by `train`.
    #[arg(long)]
    model: PathBuf,
    /// Where to run: cpu or wgpu.
    #[arg(long, default_value = "cpu")]
    device: DeviceChoice,
}

impl ModelArg {
    fn load(&self) -> Result<CollabPredictor> {
        CollabPredictor::load(&self.model, &self.device.device()?)
    }
}

#[derive(Args, Clone)]
struct DataArgs {
    /// The ratings table (CSV/TSV, or Parquet by extension).
    #[arg(long, required_unless_present = "dataset")]
    ratings: Option<PathBuf>,
    /// A data set fetched with `cargo xtask fetch` (ml_sample, ml_100k), instead of --ratings.
    #[arg(long, conflicts_with = "ratings")]
    dataset: Option<String>,
    /// User column (default: the first).
    #[arg(long)]
    user: Option<String>,
    /// Item column (default: the second).
    #[arg(long)]
    item: Option<String>,
    /// Rating column (default: the third).
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

fn separator(s: &str) -> Result<u8> {
    match s {
        "\\t" | "tab" | "\t" => Ok(b'\t'),
        s if s.len() == 1 => Ok(s.as_bytes()[0]),
        s => Err(Error::invalid("--sep", format!("'{s}' is not a single character"))),
    }
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

/// `--y-range low,high`: two finite numbers, low below high.
fn y_range(s: &str) -> std::result::Result<(f64, f64), String> {
    let v: Vec<f64> = s.split(',').map(|x| x.trim().parse::<f64>()).collect::<std::result::Result<_, _>>().map_err(|_| format!("'{s}' is not two numbers `low,high`"))?;
    match v[..] {
        [lo, hi] if lo.is_finite() && hi.is_finite() && lo < hi => Ok((lo, hi)),
        _ => Err(format!("'{s}' is not two finite numbers `low,high` with low below high")),
    }
}

impl DataArgs {
    fn load(&self, seed: u64) -> Result<CollabData> {
        let (file, read) = match (&self.ratings, &self.dataset) {
            (Some(file), _) => {
                let mut read = ReadOptions { separator: separator(&self.sep)?, has_header: !self.no_header, ..ReadOptions::default() };
                if self.no_header {
                    read.names = Some(vec!["user".into(), "item".into(), "rating".into(), "timestamp".into()]);
                }
                (file.clone(), read)
            }
            (None, Some(name)) => crate::datasets::locate(name)?,
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
        CollabData::new(ratings, splits)
    }
}

/// Parses the command line, runs it, and turns an error into a message and a failure code.
pub fn main() -> ExitCode {
    kindling_core::cli::exit(run(Cli::parse()))
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train { data, n_factors, use_nn, layers, y_range, wd, common } => {
            if layers.is_some() && !use_nn {
                return Err(Error::invalid("--layers", "sizes the neural model's hidden layers: add --use-nn, or leave --layers out"));
            }
            // The data first: a run folder is made only for data that can be trained on.
            let data = data.load(common.seed)?;
            prepare_run_dir(&common.out, common.resume)?;
            let device = common.device.device()?;
            device.seed(common.seed);
            println!("{} users and {} items in training (plus the #na# slot)", data.users.len() - 1, data.items.len() - 1);
            let dls = data.dataloaders(common.bs, common.seed, &device)?;
            let config = default_config(&data, n_factors, use_nn.then(|| layers.unwrap_or_else(|| vec![100, 50])), y_range);
            let learn = collab_learner(&data, &dls, &config, wd, &device);
            let (train, valid, test) = data.splits.sizes();
            let info = RunInfo { seed: common.seed, device: common.device.to_string(), splits: SplitSizes { train, valid, test } };
            let mut learn = attach_run_dir(learn, &common, info)?;
            let lr = train_lr(&mut learn, &common, 5e-3)?;
            learn.fit_one_cycle(common.epochs, lr)?;
            let path = common.out.join("model.safetensors");
            export_collab(&path, learn.model(), &config, &data)?;
            println!("model written to {}", path.display());
            Ok(())
        }
        Command::Predict { model, pairs, sep, out } => {
            let p = model.load()?;
            let read = ReadOptions { separator: separator(&sep)?, ..ReadOptions::default() };
            let table = read_table(&pairs, &read, None)?;
            let (uc, ic) = (&p.pre.columns.0, &p.pre.columns.1);
            let pick = |name: &String, k: usize| table.get(name).or_else(|| table.columns.get(k)).ok_or_else(|| Error::bad_file(&pairs, format!("no '{name}' column, and no column {} to use instead; the columns are: {}", k + 1, table.names.join(", "))));
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
            for (u, i) in &ids {
                let note = match (p.pre.users.get(u), p.pre.items.get(i)) {
                    (Some(_), Some(_)) => None,
                    (None, _) => Some("unknown user"),
                    (_, None) => Some("unknown item"),
                };
                let _ = match note {
                    None => writeln!(csv, "{u},{i},{:.4},", preds.next().expect("one per known pair")),
                    Some(note) => writeln!(csv, "{u},{i},,{note}"),
                };
            }
            kindling_core::io::write_atomic(&out, csv.as_bytes())?;
            println!("{n} pairs predicted into {} ({} with an id unseen in training)", out.display(), n - known.len());
            Ok(())
        }
        Command::Recommend { model, user, n } => {
            for (k, s) in model.load()?.recommend(&user, n)?.iter().enumerate() {
                println!("{:>3}. {:<50} {:.3}", k + 1, s.item, s.score);
            }
            Ok(())
        }
        Command::Similar { model, item, n } => {
            for (k, s) in model.load()?.similar(&item, n)?.iter().enumerate() {
                println!("{:>3}. {:<50} {:.3}", k + 1, s.item, s.score);
            }
            Ok(())
        }
        Command::Analyze { model, titles, titles_sep, n, top, label, out } => {
            if titles_sep.is_some() && titles.is_none() {
                return Err(Error::invalid("--titles-sep", "is the separator of the --titles table: give --titles too, or leave --titles-sep out"));
            }
            analyze(&model.load()?, titles, titles_sep.as_deref().unwrap_or("\\t"), n, top, label, &out)
        }
        Command::LrFind { data, common } => {
            let device = common.device.device()?;
            device.seed(common.seed);
            let data = data.load(common.seed)?;
            let dls = data.dataloaders(common.bs, common.seed, &device)?;
            let config = default_config(&data, 50, None, None);
            run_lr_find(&mut collab_learner(&data, &dls, &config, 0.1, &device).quiet(), &common).map(|_| ())
        }
    }
}

fn analyze(p: &CollabPredictor, titles: Option<PathBuf>, sep: &str, n: usize, top: usize, label: usize, out: &std::path::Path) -> Result<()> {
    let mut names: Vec<String> = p.pre.items.ids.clone();
    if let Some(path) = titles {
        let t = read_table(&path, &ReadOptions { separator: separator(sep)?, ..ReadOptions::default() }, None)?;
        if t.columns.len() < 2 {
            return Err(Error::bad_file(&path, "needs an id column and a title column"));
        }
        let map: std::collections::HashMap<String, String> =
            (0..t.n_rows()).filter_map(|k| Some((t.columns[0].category(k)?, t.columns[1].category(k)?))).collect();
        for name in names.iter_mut().skip(1) {
            if let Some(title) = map.get(name) {
                *name = title.clone();
            }
        }
    }
    // Only items rated in training have learned factors.
    let rated: Vec<usize> = (1..names.len()).filter(|&i| p.pre.item_counts[i] > 0).collect();
    match p.item_biases() {
        Some(bias) => {
            let bias = bias?;
            let mut order = rated.clone();
            order.sort_by(|&a, &b| bias[a].total_cmp(&bias[b]));
            let show = |idx: &[usize]| idx.iter().map(|&i| format!("{} ({:.3})", names[i], bias[i])).collect::<Vec<_>>().join("; ");
            println!("lowest item biases (liked less than their ratings' users would predict): {}", show(&order[..n.min(order.len())]));
            let hi: Vec<usize> = order.iter().rev().take(n).copied().collect();
            println!("highest item biases: {}", show(&hi));
        }
        None => println!("no item bias listing: the neural model (--use-nn) has no bias per item (the dot-product model has)"),
    }
    let mut by_count = rated;
    by_count.sort_by(|&a, &b| p.pre.item_counts[b].cmp(&p.pre.item_counts[a]).then(a.cmp(&b)));
    by_count.truncate(top);
    let (f, d) = p.item_factors()?;
    if d < 2 {
        println!("no PCA map: it plots two principal components of the item factors, and this model has {d} factor{} per item", if d == 1 { "" } else { "s" });
        return Ok(());
    }
    if by_count.len() < 2 || label == 0 {
        println!("no PCA map: it needs at least 2 items (--top {top}; {} were rated in training) and 1 label (--label {label})", p.pre.item_counts.iter().filter(|&&c| c > 0).count());
        return Ok(());
    }
    let x: Vec<f32> = by_count.iter().flat_map(|&i| f[i * d..(i + 1) * d].iter().copied()).collect();
    let comps = pca(&x, by_count.len(), d, 2);
    let points: Vec<(f64, f64, String)> = by_count.iter().take(label).enumerate().map(|(r, &i)| (comps[r * 2], comps[r * 2 + 1], names[i].clone())).collect();
    let path = out.join("pca.png");
    scatter_labeled(&path, &ChartSpec { title: "Item factors: first two principal components", x_label: "PC 1", y_label: "PC 2", log_x: false }, &points)?;
    println!("PCA of the {} most-rated items' factors written to {} ({} labelled)", by_count.len(), path.display(), points.len());
    Ok(())
}
