//! The `kindling-web` command line: `clean` (the cleaner page, or a log undone or replayed)
//! and `serve` (the model server).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use kindling_core::{DeviceChoice, Error, Result};

use crate::clean::{CleanError, KINDLING_DIR, ModelStamp};
use crate::serve::load::ModelSource;
use crate::serve::worker::BatchOptions;

/// Chapter 2's data cleaner page and a one-binary model server.
#[derive(Parser)]
#[command(name = "kindling-web", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the cleaner page for an image folder ranked by a model (--model), or undo (--undo)
    /// or replay (--apply) an edit log without the page.
    ///
    /// Images labelled by class folders are moved by Apply (a relabelled one into its new class
    /// folder, a deleted one into DIR/.kindling/trash/). Images labelled by a CSV (--labels-csv)
    /// are not moved, and the CSV is not changed: Apply writes a new CSV beside it.
    Clean {
        /// The image classifier that ranks the images (a kindling-vision model file).
        #[arg(long, required_unless_present_any = ["undo", "apply"])]
        model: Option<PathBuf>,
        /// The image folder, labelled by class folders; with --labels-csv, the folder the CSV's
        /// files are relative to (default: the CSV's folder). The edit logs go into its
        /// .kindling folder. Default with --undo and --apply: the folder holding the log's
        /// .kindling folder.
        #[arg(long, required_unless_present_any = ["undo", "apply", "labels_csv"])]
        images: Option<PathBuf>,
        /// A CSV labelling the images, as `kindling-vision --labels-csv` reads it: a header,
        /// then the file (relative to --images) and its label in the first two columns. The
        /// page works the same, but no image is moved and this CSV is never changed: Apply
        /// writes a new CSV beside it, NAME.cleaned-YYYYmmdd-HHMMSS.csv, where relabelled rows
        /// have their new label and deleted rows are left out (other rows and columns as they
        /// were); --undo moves that new CSV into .kindling/trash/. With --apply: the CSV to
        /// replay a CSV log's decisions on (default: the one it was made on).
        #[arg(long, visible_alias = "csv", conflicts_with = "undo")]
        labels_csv: Option<PathBuf>,
        /// Put back every file an applied log moved (a labels-CSV log: move the new CSV it
        /// wrote into .kindling/trash/; nothing is unlinked).
        #[arg(long, conflicts_with_all = ["apply", "model"])]
        undo: Option<PathBuf>,
        /// Carry out a log's decisions again on the folder as it is now (for scripts).
        #[arg(long, conflicts_with = "model")]
        apply: Option<PathBuf>,
        #[command(flatten)]
        net: NetArgs,
        #[arg(long, default_value = "cpu", help = kindling_core::cli::DEVICE_HELP)]
        device: DeviceChoice,
    },
    /// Serve a model: a page that fits it, POST /predict, GET /health, GET /model.
    Serve {
        /// A kindling model file (vision, segmentation, tabular, collab or text).
        #[arg(long, required_unless_present = "pretrained", conflicts_with = "pretrained")]
        model: Option<PathBuf>,
        /// The architecture of --pretrained.
        #[arg(long, requires = "pretrained", default_value = "efficientnet-lite0")]
        arch: String,
        /// Pretrained ImageNet weights (e.g. ../shared/models/efficientnet-lite0/efficientnet_lite0.safetensors).
        #[arg(long)]
        pretrained: Option<PathBuf>,
        /// Class names, one per line (default: imagenet_classes.txt beside --pretrained).
        #[arg(long, requires = "pretrained")]
        classes: Option<PathBuf>,
        #[command(flatten)]
        net: NetArgs,
        /// Most requests answered by one forward pass (1 turns batching off).
        #[arg(long, default_value_t = 16)]
        max_batch: usize,
        /// Longest wait, in milliseconds, for more requests to join a batch.
        #[arg(long, default_value_t = 5)]
        max_wait_ms: u64,
        /// Most requests waiting for the model; more get a 503.
        #[arg(long, default_value_t = 256)]
        queue: usize,
        #[arg(long, default_value = "cpu", help = kindling_core::cli::DEVICE_HELP)]
        device: DeviceChoice,
    },
}

/// Where to listen.
#[derive(Args, Clone)]
struct NetArgs {
    /// The port (0 picks a free one; the address is printed as `listening on http://...`).
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
}

/// Parses the command line, runs it, and turns an error into a message and a failure code.
pub fn main() -> ExitCode {
    kindling_core::cli::exit(run(Cli::parse()))
}

/// The folder an edit log belongs to: the parent of its `.kindling` folder.
fn images_of_log(log: &Path) -> Result<PathBuf> {
    let dir = log.parent().filter(|d| d.file_name().is_some_and(|n| n == KINDLING_DIR)).and_then(Path::parent);
    dir.map(Path::to_path_buf).ok_or_else(|| Error::invalid("--images", format!("{} is not inside a {KINDLING_DIR} folder: give the image folder", log.display())))
}

fn clean_error(e: CleanError) -> Error {
    match e {
        CleanError::Log(e) => e,
        other => Error::Data(other.to_string()),
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Clean { model, images, labels_csv, undo, apply, net, device } => {
            if let Some(log) = undo {
                let images = match images { Some(i) => i, None => images_of_log(&log)? };
                let undone = crate::clean::undo(&images, &log).map_err(clean_error)?;
                match undone.csv.as_ref().and_then(|c| c.trashed.as_ref().map(|t| (c, t))) {
                    Some((c, t)) => println!("{} moved to {}; {} marked undone", c.written.display(), images.join(t).display(), log.display()),
                    None => {
                        let n = undone.edits.iter().filter(|e| e.to.is_some()).count();
                        println!("{n} file(s) put back; {} marked undone", log.display());
                    }
                }
                return Ok(());
            }
            if let Some(log) = apply {
                let images = match images { Some(i) => i, None => images_of_log(&log)? };
                let applied = crate::clean::replay_onto(&images, &log, labels_csv.as_deref()).map_err(clean_error)?;
                match applied.new_csv() {
                    Some(csv) => println!("{} row(s) changed, written to {}; log written to {}", applied.changed(), csv.display(), applied.log_path.display()),
                    None => println!("{} file(s) moved; log written to {}", applied.moved(), applied.log_path.display()),
                }
                return Ok(());
            }
            let Some(model) = model else {
                return Err(Error::invalid("clean", "give --model and --images (or --labels-csv), or --undo LOG, or --apply LOG"));
            };
            // A labels CSV is read and checked before the model loads: its faults come first.
            let table = labels_csv.as_deref().map(crate::clean::LabelsCsv::read).transpose()?;
            let images = match (images, &labels_csv) {
                (Some(i), _) => i,
                (None, Some(csv)) => csv.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf(),
                (None, None) => return Err(Error::invalid("clean", "give --images DIR or --labels-csv FILE")),
            };
            if !images.is_dir() {
                return Err(Error::invalid("--images", format!("{} is not a folder", images.display())));
            }
            let device = device.device()?;
            let predictor = kindling_vision::predict::VisionPredictor::load(&model, &device)?;
            let ranking = match &table {
                Some(t) => crate::rank::Ranking::of_csv(&predictor, &images, t, &device)?,
                None => crate::rank::Ranking::of_folder(&predictor, &images, &device)?,
            };
            let labelled = labels_csv.as_ref().map(|c| format!(" labelled by {}", c.display())).unwrap_or_default();
            println!("{} images of {} classes{labelled} ranked by {}", ranking.items.len(), ranking.classes.len(), model.display());
            let state = crate::cleaner::CleanState { images, model: ModelStamp::of(&model)?, ranking, csv: labels_csv };
            let rt = crate::http::run::runtime()?;
            rt.block_on(async {
                let listener = crate::http::run::bind(&net.host, net.port).await?;
                crate::http::run::serve(listener, crate::cleaner::router(state)).await
            })
        }
        Command::Serve { model, arch, pretrained, classes, net, max_batch, max_wait_ms, queue, device } => {
            if max_batch == 0 {
                return Err(Error::invalid("--max-batch", "must be at least 1"));
            }
            if queue == 0 {
                return Err(Error::invalid("--queue", "must be at least 1"));
            }
            let source = match (model, pretrained) {
                (Some(m), _) => ModelSource::File(m),
                (None, Some(w)) => {
                    let list = classes.unwrap_or_else(|| w.with_file_name("imagenet_classes.txt"));
                    let text = std::fs::read_to_string(&list).map_err(|e| Error::io(&list, e))?;
                    ModelSource::Pretrained { arch, weights: w, classes: text.lines().map(String::from).collect() }
                }
                (None, None) => return Err(Error::invalid("serve", "give --model FILE, or --pretrained FILE with --arch")),
            };
            let opts = BatchOptions { max_batch, max_wait: Duration::from_millis(max_wait_ms), queue };
            let (q, info) = crate::serve::load::load(&source, &device.device()?, opts)?;
            println!("serving a {} model", info["task"].as_str().unwrap_or("?"));
            let state = crate::serve::ServeState::new(q, info);
            let rt = crate::http::run::runtime()?;
            rt.block_on(async {
                let listener = crate::http::run::bind(&net.host, net.port).await?;
                crate::http::run::serve(listener, crate::serve::router(state)).await
            })
        }
    }
}
