//! `cargo xtask`: the project's orchestration.
//!
//! - `fetch NAME [--from PATH|URL] [--to DIR]`, `list`: data sets with checksums, into a cache;
//! - `run PIPELINE`: the book's experiments as pipelines of the task commands (`ch1`, `ch2`, `ch4`);
//! - `bench TASK|all [--peer PYTHON]`: benchmarks on `../shared/data`, side by side with fastai;
//! - `check-debug`: the bad-input suite in the debug profile, where arithmetic overflow panics.

// mimalloc, keeping freed memory (see kindling_core::allocator).
kindling_core::mimalloc_allocator!();

mod bench;
mod check_debug;
mod fetch;
mod manifest;
mod pipeline;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Download (or import) a data set, check it, and unpack it into the cache.
    Fetch {
        /// The data set (a manifest name, or fastai's URLs constant such as ADULT_SAMPLE).
        name: String,
        /// Import from this URL, local archive, or (for plain-file data sets) local folder.
        #[arg(long)]
        from: Option<String>,
        /// The cache root (default: $KINDLING_HOME or ~/.kindling).
        #[arg(long)]
        to: Option<PathBuf>,
        /// Seconds without data after which a download counts as stalled.
        #[arg(long, default_value_t = 30)]
        idle_timeout: u64,
    },
    /// Every data set with its state in the cache.
    List {
        /// The cache root.
        #[arg(long)]
        to: Option<PathBuf>,
    },
    /// Run one of the book's pipelines: `ch1` (tabular, collab, vision, segmentation), `ch2` (clean the data, retrain, serve), `ch4` (text classification).
    Run {
        /// The pipeline (without one, the list of pipelines).
        pipeline: Option<String>,
    },
    /// Run benchmarks (`tabular`, `collab`, `backends`, `all` of these, `vision`, `segmentation`, `nlp`, `ulmfit`, `ulmfit-quick`, `serve`, `conv` or `conv-unet`) and print a table.
    Bench {
        /// What to benchmark.
        what: String,
        /// Also run the matching fastai script with this Python and print the time ratio.
        #[arg(long)]
        peer: Option<PathBuf>,
        /// The data folder (default: $KINDLING_DATA or ../shared/data).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Threads for kindling: the default, 2, matches the peer scripts' `torch.set_num_threads(2)`.
        #[arg(long, default_value_t = bench::PEER_THREADS)]
        threads: usize,
    },
    /// Run the bad-input suite (tests/bad_input) built in the debug profile, where arithmetic
    /// overflow panics instead of wrapping. Builds every dependency once more, unoptimised.
    CheckDebug,
}

fn main() -> ExitCode {
    keep_freed_memory();
    let result = match Cli::parse().command {
        Command::Fetch { name, from, to, idle_timeout } => (|| {
            let m = manifest::Manifest::find(&manifest::manifests_dir(), &name)?;
            let cache = fetch::Cache::new(to.unwrap_or_else(fetch::default_home));
            let timeouts = fetch::download::Timeouts { idle: std::time::Duration::from_secs(idle_timeout), ..Default::default() };
            let dir = cache.fetch(&m, from.as_deref(), timeouts)?;
            println!("{} is ready in {}", m.name, dir.display());
            if let Some(reads) = &m.reads {
                println!("the {} task reads: {reads}", m.task);
            }
            println!("licence: {}\ncite: {}", m.licence, m.citation);
            Ok(())
        })(),
        Command::List { to } => (|| {
            let cache = fetch::Cache::new(to.unwrap_or_else(fetch::default_home));
            println!("| data set | fastai | task | state | description |\n|---|---|---|---|---|");
            for m in manifest::Manifest::load_all(&manifest::manifests_dir())? {
                println!("| {} | {} | {} | {} | {} |", m.name, m.fastai.as_deref().unwrap_or("-"), m.task, cache.state(&m), m.description);
            }
            Ok(())
        })(),
        Command::Run { pipeline: Some(pipeline) } => pipeline::run(&pipeline),
        Command::Run { pipeline: None } => {
            println!("{}", pipeline::LIST);
            Ok(())
        }
        Command::Bench { what, peer, data, threads } => bench::run(&what, peer.as_deref(), data, threads),
        Command::CheckDebug => check_debug::run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
