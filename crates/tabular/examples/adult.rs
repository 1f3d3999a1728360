//! Chapter 1's tabular model: salary from census data, with fastai's defaults.
//!
//! ```text
//! cargo run --release -p kindling-tabular --example adult [-- FILE [SEED [EPOCHS]]]
//! ```
//!
//! FILE is a CSV with a header (default: the committed `datasets/adult-sample/adult.csv`), or
//! the raw UCI `adult.data` (no header, detected by its name).

use std::path::PathBuf;
use std::time::Instant;

use kindling_core::prelude::*;
use kindling_tabular::prelude::*;

// Tensor code allocates many small buffers: mimalloc is about a third faster here.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

const NAMES: &str = "age,workclass,fnlwgt,education,education-num,marital-status,occupation,relationship,race,sex,capital-gain,capital-loss,hours-per-week,native-country,salary";

fn main() -> kindling_core::Result<()> {
    let mut args = std::env::args().skip(1);
    let file = args.next().map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../datasets/adult-sample/adult.csv"));
    let seed: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(42);
    let epochs: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(3);
    let read = if file.file_name().is_some_and(|n| n == "adult.data") {
        ReadOptions { has_header: false, names: Some(NAMES.split(',').map(String::from).collect()), ..ReadOptions::default() }
    } else {
        ReadOptions::default()
    };

    let table = read_table(&file, &read, None)?;
    let t = Instant::now();
    let cat = ["workclass", "education", "marital-status", "occupation", "relationship", "race"].map(String::from).to_vec();
    let cont = ["age", "fnlwgt", "education-num"].map(String::from).to_vec();
    let roles = resolve(&table, Some("salary"), Some(cat), Some(cont), None)?;
    let splits = RandomSplitter::new(0.2, seed).split(&table.n_rows())?;
    let data = TabularData::new(&table, roles, splits)?;
    let device = Device::flex();
    device.seed(seed);
    let dls = data.dataloaders(64, seed, &device)?;
    let (learn, _config) = tabular_learner(&data, &dls, &TabularLearnerConfig::default(), &device);
    let mut learn = learn.with_seed(seed);
    learn.fit_one_cycle(epochs, 1e-3)?;
    let eval = learn.validate()?;
    println!(
        "{} rows, seed {seed}: accuracy {:.4}, valid loss {:.4}, {:.2} s",
        table.n_rows(),
        eval.metrics[0].1.unwrap_or(f64::NAN),
        eval.loss.unwrap_or(f64::NAN),
        t.elapsed().as_secs_f64()
    );
    Ok(())
}
