//! Chapter 1's tabular model: salary from census data, with fastai's defaults.
//!
//! ```text
//! cargo run --release -p kindling-tabular --example adult [-- FILE [SEEDS [EPOCHS [LR [WD [PS [EMBED_P [LAYERS]]]]]]]]
//! ```
//!
//! FILE is a CSV with a header (default: the committed `datasets/adult-sample/adult.csv`), or
//! the raw UCI `adult.data` (no header, detected by its name). SEEDS is one seed (default 42)
//! or several, comma separated: each seeds the split, the initialisation and the shuffling, and
//! with several the mean accuracy is printed too, which tells a real improvement from the luck
//! of one split. LR (default 1e-3), WD (Adam's decoupled weight decay, default 0.01), PS
//! (dropout after each hidden layer, default 0) and EMBED_P (embedding dropout, default 0) are
//! fastai's defaults. LAYERS is the hidden layer sizes, comma separated (default 200,100).

use std::path::PathBuf;
use std::time::Instant;

use kindling_core::optim::{OptimizerConfig, ParamGroups};
use kindling_core::prelude::*;
use kindling_tabular::datasets::{ADULT_CAT, ADULT_CONT, adult_read_options};
use kindling_tabular::prelude::*;

// Tensor code allocates many small buffers: mimalloc is about a third faster here.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> kindling_core::Result<()> {
    let mut args = std::env::args().skip(1);
    let file = args.next().map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../datasets/adult-sample/adult.csv"));
    let seeds: Vec<u64> = args.next().map(|s| s.split(',').filter_map(|v| v.trim().parse().ok()).collect()).unwrap_or_else(|| vec![42]);
    let mut number = |default: f64| args.next().and_then(|s| s.parse::<f64>().ok()).unwrap_or(default);
    let epochs = number(3.0) as usize;
    let (lr, wd, ps, embed_p) = (number(1e-3), number(0.01), number(0.0), number(0.0));
    let layers: Option<Vec<usize>> = args.next().map(|s| s.split(',').filter_map(|v| v.trim().parse().ok()).collect());
    let read = if file.file_name().is_some_and(|n| n == "adult.data") {
        adult_read_options()
    } else {
        ReadOptions::default()
    };

    let table = read_table(&file, &read, None)?;
    let mut accuracies = Vec::new();
    for &seed in &seeds {
        let t = Instant::now();
        let cat = ADULT_CAT.map(String::from).to_vec();
        let cont = ADULT_CONT.map(String::from).to_vec();
        let roles = resolve(&table, Some("salary"), Some(cat), Some(cont), None)?;
        let splits = RandomSplitter::new(0.2, seed).split(&table.n_rows())?;
        let data = TabularData::new(&table, roles, splits)?;
        let device = Device::flex();
        device.seed(seed);
        let dls = data.dataloaders(64, seed, &device)?;
        let defaults = TabularLearnerConfig::default();
        let layers = layers.clone().unwrap_or(defaults.layers);
        let config = TabularLearnerConfig { ps: vec![ps; layers.len()], embed_p, layers, ..defaults };
        let (learn, _config) = tabular_learner(&data, &dls, &config, &device);
        let mut learn = learn.with_seed(seed).with_optimizer(OptimizerConfig { wd, ..OptimizerConfig::adam() }, ParamGroups::single());
        if seeds.len() > 1 {
            learn = learn.quiet();
        }
        learn.fit_one_cycle(epochs, lr)?;
        let eval = learn.validate()?;
        let accuracy = eval.metrics[0].1.unwrap_or(f64::NAN);
        accuracies.push(accuracy);
        println!("{} rows, seed {seed}: accuracy {accuracy:.4}, valid loss {:.4}, {:.2} s", table.n_rows(), eval.loss.unwrap_or(f64::NAN), t.elapsed().as_secs_f64());
    }
    if seeds.len() > 1 {
        println!("mean accuracy over {} seeds: {:.4}", seeds.len(), accuracies.iter().sum::<f64>() / accuracies.len() as f64);
    }
    Ok(())
}
