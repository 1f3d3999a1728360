//! A small task binary over the MNIST 3-vs-7 sample, built only from kindling-core's shared
//! pieces (flags, run directory, checkpoints, export). The resume tests drive it as a real
//! process and kill it mid-run.

// Tensor code allocates many small buffers: mimalloc is about a third faster than the
// system allocator on the tabular benchmark.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use burn::module::Module;
use clap::{Parser, Subcommand};
use kindling_core::cli::{LrFindArgs, TrainArgs, attach_run_dir, prepare_run_dir, run_lr_find, train_lr};
use kindling_core::export::{self, ModelHeader};
use kindling_core::learner::{Callback, CrossEntropyLoss, Ctx, Event, Learner, RunInfo, SplitSizes};
use kindling_core::metrics::Accuracy;
use kindling_tests::{Mlp, loaders, mnist37_items};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train and export `model.safetensors` into --out.
    Train {
        #[command(flatten)]
        common: TrainArgs,
        /// Folder with the idx files (default: datasets/mnist-3-7).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Hidden units.
        #[arg(long, default_value_t = 64)]
        hidden: usize,
        /// Sleep this long after each epoch (lets a test kill the process between epochs).
        #[arg(long, default_value_t = 0)]
        epoch_pause_ms: u64,
    },
    /// Sweep learning rates.
    LrFind {
        #[command(flatten)]
        common: LrFindArgs,
        #[arg(long)]
        data: Option<PathBuf>,
    },
}

struct Pause(u64);

impl<M> Callback<M> for Pause {
    fn name(&self) -> &str {
        "Pause"
    }
    fn order(&self) -> i32 {
        100
    }
    fn on(&mut self, event: Event, _: &mut Ctx<'_, M>) -> kindling_core::Result<()> {
        if event == Event::AfterEpoch {
            std::thread::sleep(Duration::from_millis(self.0));
        }
        Ok(())
    }
}

fn main() -> ExitCode {
    kindling_core::cli::exit(run(Cli::parse()))
}

fn run(cli: Cli) -> kindling_core::Result<()> {
    match cli.command {
        Command::Train { common, data, hidden, epoch_pause_ms } => {
            prepare_run_dir(&common.out, common.resume)?;
            let device = common.device.device()?;
            device.seed(common.seed);
            let (dls, splits) = loaders(mnist37_items(data)?, common.bs, common.seed);
            let model = Mlp::new(784, hidden, 2, &device);
            let (train, valid, test) = splits.sizes();
            let info = RunInfo { seed: common.seed, device: common.device.to_string(), splits: SplitSizes { train, valid, test } };
            let learner = Learner::new(model, &dls, CrossEntropyLoss).with_metrics(vec![Box::new(Accuracy::default())]);
            let mut learner = attach_run_dir(learner, &common, info)?.with_callback(Pause(epoch_pause_ms));
            let lr = train_lr(&mut learner, &common, 1e-2)?;
            learner.fit_one_cycle(common.epochs, lr)?;
            let header = ModelHeader::new("mnist37", serde_json::json!({ "hidden": hidden }), serde_json::json!({}), vec!["3".into(), "7".into()]);
            export::export(&common.out.join("model.safetensors"), &learner.model().valid(), &header)?;
            Ok(())
        }
        Command::LrFind { common, data } => {
            let device = common.device.device()?;
            device.seed(common.seed);
            let (dls, _) = loaders(mnist37_items(data)?, common.bs, common.seed);
            let mut learner = Learner::new(Mlp::new(784, 64, 2, &device), &dls, CrossEntropyLoss).quiet();
            run_lr_find(&mut learner, &common).map(|_| ())
        }
    }
}
