//! Benchmarks on the shared data, printed as a markdown table; with `--peer PYTHON`, the
//! matching fastai script runs right after in the same session and the time ratio is printed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use burn::tensor::Device;
use kindling_core::data::split::{RandomSplitter, Splitter};

mod conv;
mod nlp;
mod segmentation;
mod serve;
mod ulmfit;
mod vision;

/// One line of the results table.
struct Row {
    name: String,
    data: String,
    metric: String,
    secs: f64,
    throughput: String,
    /// The peer's metric and seconds, or why it failed (the row is printed either way).
    peer: Option<Result<(String, f64), String>>,
}

fn data_dir(given: Option<PathBuf>) -> PathBuf {
    given
        .or_else(|| std::env::var_os("KINDLING_DATA").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"))
}

fn peer_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/peer")
}

/// The thread count every peer script pins (`torch.set_num_threads(2)` in `../shared/peer/`).
pub const PEER_THREADS: usize = 2;

/// Runs a peer script on the CPU (CUDA hidden, so a GPU machine does not change the
/// comparison) and returns (its metric text, its wall seconds).
fn run_peer(python: &Path, script: &str, args: &[String], metric_key: &str) -> Result<(String, f64), String> {
    run_peer_metrics(python, script, args, &[metric_key])
}

/// [`run_peer`] reporting several of the peer's `key=value` fields, in the order given.
fn run_peer_metrics(python: &Path, script: &str, args: &[String], metric_keys: &[&str]) -> Result<(String, f64), String> {
    run_peer_script(python, &peer_dir().join(script), args, metric_keys)
}

/// [`run_peer_metrics`] for a script at any path (the repository's own `xtask/peer/`).
fn run_peer_script(python: &Path, script: &Path, args: &[String], metric_keys: &[&str]) -> Result<(String, f64), String> {
    println!("peer: {} {} {}", python.display(), script.display(), args.join(" "));
    let out = Command::new(python)
        .arg(&script)
        .args(args)
        .env("CUDA_VISIBLE_DEVICES", "")
        .output()
        .map_err(|e| format!("{}: {e}", python.display()))?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    if !out.status.success() {
        return Err(format!("peer failed: {}\n{}", text, String::from_utf8_lossy(&out.stderr)));
    }
    let line = text.lines().rev().find(|l| l.contains("wall_s=")).ok_or_else(|| format!("peer printed no result: {text}"))?;
    let field = |k: &str| line.split_whitespace().find_map(|w| w.strip_prefix(&format!("{k}="))).map(str::to_string);
    let wall: f64 = field("wall_s").and_then(|v| v.parse().ok()).ok_or("no wall_s")?;
    let metrics: Vec<String> = metric_keys.iter().map(|k| format!("{k} {}", field(k).unwrap_or_default())).collect();
    Ok((metrics.join(", "), wall))
}

/// The benchmark's Adult setup (`../shared/peer/fastai_tabular_adult.py`): 6 categorical + 3
/// continuous columns, a random 20% valid split, bs 64, fastai's `tabular_learner` defaults,
/// `fit_one_cycle(3)` at 1e-3. `seed` seeds the split, the initialisation and the shuffling.
/// Returns (accuracy, valid loss, training rows).
fn adult_run(table: &kindling_tabular::Table, seed: u64) -> Result<(f64, f64, usize), String> {
    use kindling_tabular::datasets::{ADULT_CAT, ADULT_CONT};
    use kindling_tabular::prelude::*;
    let cats = ADULT_CAT.map(String::from).to_vec();
    let conts = ADULT_CONT.map(String::from).to_vec();
    let roles = resolve(table, Some("salary"), Some(cats), Some(conts), None).map_err(|e| e.to_string())?;
    let splits = RandomSplitter::new(0.2, seed).split(&table.n_rows()).map_err(|e| e.to_string())?;
    let data = TabularData::new(table, roles, splits).map_err(|e| e.to_string())?;
    let device = Device::flex();
    device.seed(seed);
    let dls = data.dataloaders(64, seed, &device).map_err(|e| e.to_string())?;
    let (learn, _) = tabular_learner(&data, &dls, &TabularLearnerConfig::default(), &device);
    let mut learn = learn.with_seed(seed).quiet();
    learn.fit_one_cycle(3, 1e-3).map_err(|e| e.to_string())?;
    let eval = learn.validate().map_err(|e| e.to_string())?;
    Ok((eval.metrics[0].1.unwrap_or(f64::NAN), eval.loss.unwrap_or(f64::NAN), data.splits.train.len()))
}

/// Splits other than the benchmark's, over which [`tabular`] reports the spread of accuracy.
/// The standard error of an accuracy near 0.84 on 6,512 valid rows is about 0.0045, so one
/// split's figure cannot tell a better model from a luckier split; the mean over 20 can.
const SPREAD_SEEDS: std::ops::RangeInclusive<u64> = 1..=20;

fn tabular(data: &Path, peer: Option<&Path>) -> Result<Vec<Row>, String> {
    use kindling_tabular::datasets::adult_read_options;
    use kindling_tabular::read::read_table;
    let file = data.join("adult/adult.data");
    let table = read_table(&file, &adult_read_options(), None).map_err(|e| e.to_string())?;
    // Timed as the peer times it: from the loaded table to the validated model.
    let t = Instant::now();
    let (acc, loss, n_train) = adult_run(&table, 42)?;
    let secs = t.elapsed().as_secs_f64();
    let peer = match peer {
        Some(py) => Some(run_peer(py, "fastai_tabular_adult.py", &[file.to_string_lossy().to_string(), "3".into()], "accuracy")),
        None => None,
    };
    let t = Instant::now();
    let accs: Vec<f64> = SPREAD_SEEDS.map(|seed| adult_run(&table, seed).map(|r| r.0)).collect::<Result<_, _>>()?;
    let spread_secs = t.elapsed().as_secs_f64();
    let mean = accs.iter().sum::<f64>() / accs.len() as f64;
    let sd = (accs.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (accs.len() - 1) as f64).sqrt();
    let (lo, hi) = accs.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &a| (lo.min(a), hi.max(a)));
    Ok(vec![
        Row {
            name: "tabular: Adult, fit_one_cycle(3), bs 64".into(),
            data: format!("{} rows, 20% valid (seed 42)", table.n_rows()),
            metric: format!("accuracy {acc:.4} (valid loss {loss:.4})"),
            secs,
            throughput: format!("{:.0} rows/s", (n_train * 3) as f64 / secs),
            peer,
        },
        Row {
            name: format!("tabular: the same on {} other splits", accs.len()),
            data: format!("seeds {}–{}", SPREAD_SEEDS.start(), SPREAD_SEEDS.end()),
            metric: format!("accuracy mean {mean:.4}, sd {sd:.4}, {lo:.4}–{hi:.4}"),
            secs: spread_secs,
            throughput: format!("{:.2} s a run", spread_secs / accs.len() as f64),
            peer: None,
        },
    ])
}

fn collab(data: &Path, peer: Option<&Path>) -> Result<Row, String> {
    use kindling_collab::learner::{collab_learner, default_config};
    use kindling_collab::ratings::{RatingColumns, Ratings};
    use kindling_tabular::read::ReadOptions;
    let file = data.join("movielens-100k/ml-100k.inter");
    let ratings = Ratings::read(&file, &ReadOptions { separator: b'\t', ..ReadOptions::default() }, &RatingColumns::default()).map_err(|e| e.to_string())?;
    let t = Instant::now();
    let splits = RandomSplitter::new(0.2, 42).split(&ratings.len()).map_err(|e| e.to_string())?;
    let n = ratings.len();
    let data = kindling_collab::CollabData::new(ratings, splits).map_err(|e| e.to_string())?;
    let device = Device::flex();
    device.seed(42);
    let dls = data.dataloaders(64, 42, &device).map_err(|e| e.to_string())?;
    let config = default_config(&data, 50, None, Some((0.0, 5.5)));
    let mut learn = collab_learner(&data, &dls, &config, 0.1, &device).with_seed(42);
    learn.fit_one_cycle(5, 5e-3).map_err(|e| e.to_string())?;
    let eval = learn.validate().map_err(|e| e.to_string())?;
    let secs = t.elapsed().as_secs_f64();
    let peer = match peer {
        Some(py) => Some(run_peer(py, "fastai_collab_ml100k.py", &[file.to_string_lossy().to_string(), "5".into()], "valid_mse")),
        None => None,
    };
    Ok(Row {
        name: "collab: MovieLens 100k, 50 factors, fit_one_cycle(5, 5e-3, wd 0.1)".into(),
        data: format!("{n} ratings, 20% valid (seed 42)"),
        metric: format!("valid MSE {:.4}", eval.loss.unwrap_or(f64::NAN)),
        secs,
        throughput: format!("{:.0} ratings/s", data.splits.train.len() as f64 * 5.0 / secs),
        peer,
    })
}

/// Matmul and convolution throughput of each compiled CPU backend, forward and backward.
fn backends() -> Result<Vec<Row>, String> {
    let mut rows = Vec::new();
    for choice in [kindling_core::DeviceChoice::Cpu, kindling_core::DeviceChoice::Ndarray] {
        let Ok(device) = choice.device() else {
            println!("({choice} is not compiled in: build xtask with --features {choice} to measure it)");
            continue;
        };
        let label = if choice == kindling_core::DeviceChoice::Cpu { "flex" } else { "ndarray" };
        rows.extend(backend_rows(label, &device));
    }
    Ok(rows)
}

fn backend_rows(label: &str, device: &Device) -> Vec<Row> {
    let t = kindling_core::bench::measure(device);
    vec![
        Row {
            name: format!("{label}: matmul 1024×1024"),
            data: "f32".into(),
            metric: format!("{:.1} ms", t.matmul_ms),
            secs: t.matmul_ms / 1e3,
            throughput: format!("{:.1} GFLOP/s", t.matmul_gflops),
            peer: None,
        },
        Row {
            name: format!("{label}: conv 3→32, 3×3, forward + backward"),
            data: "32×3×64×64 f32".into(),
            metric: format!("{:.1} ms", t.conv_ms),
            secs: t.conv_ms / 1e3,
            throughput: format!("{:.1} GFLOP/s", t.conv_gflops),
            peer: None,
        },
    ]
}

/// The machine, as the table's heading records it: CPU model, cores, kindling's threads and
/// device, and the peer's threads and device.
fn machine_line(threads: usize, peer: Option<&Path>) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| t.lines().find_map(|l| l.strip_prefix("model name").map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())))
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let peer = match peer {
        Some(py) => format!("fastai peer: {} threads (pinned in its scripts), device cpu (CUDA hidden), {}", PEER_THREADS, py.display()),
        None => "no peer (pass --peer PYTHON)".into(),
    };
    format!("machine: {cpu}, {cores} cores; kindling: {threads} threads, device cpu (flex); {peer}")
}

/// Runs `what` (`tabular`, `collab`, `backends`, `all` of these; `vision`, which takes about
/// ten minutes here with its peer; `segmentation`, chapter 1's U-Net on mnist-scenes (about half an hour with its peer); `nlp`, chapter 4's fine-tuning of MiniLM; `ulmfit` (over an hour with its peer) or `ulmfit-quick`, chapter 10's three stages and the from-scratch classifier; `serve`, `kindling-web serve`'s latency and
/// throughput under 16 clients, batching on and off; `conv`, the convolution kernel layer by layer, or `conv-unet`, the same for the segmentation U-Net) on
/// `threads` threads and prints the table, headed by the machine, the thread counts and the
/// devices of both sides. A peer that fails is reported in its row; kindling's rows still print.
pub fn run(what: &str, peer: Option<&Path>, data: Option<PathBuf>, threads: usize) -> Result<(), String> {
    if threads == 0 {
        return Err("--threads must be at least 1".into());
    }
    rayon::ThreadPoolBuilder::new().num_threads(threads).build_global().map_err(|e| format!("cannot start {threads} threads: {e}"))?;
    if peer.is_some() && threads != PEER_THREADS {
        println!("note: the peer scripts pin {PEER_THREADS} threads; kindling runs on {threads}, so the ratio is not like for like");
    }
    let data = data_dir(data);
    let mut rows = Vec::new();
    let all = what == "all";
    if all || what == "backends" {
        rows.extend(backends()?);
    }
    if all || what == "tabular" {
        rows.extend(tabular(&data, peer)?);
    }
    if all || what == "collab" {
        rows.push(collab(&data, peer)?);
    }
    if what == "vision" {
        rows.extend(vision::fashion_mnist(&data, peer)?);
    }
    if what == "segmentation" {
        rows.extend(segmentation::mnist_scenes(&data, peer)?);
    }
    if what == "serve" {
        rows.extend(serve::load_test(&data, &nlp::models_dir(), peer)?);
    }
    if what == "nlp" {
        rows.extend(nlp::amazon(&data, &nlp::models_dir(), peer)?);
    }
    if what == "ulmfit" || what == "ulmfit-quick" {
        rows.extend(ulmfit::run(&data, peer, what == "ulmfit-quick")?);
    }
    if what == "conv" {
        rows.extend(conv::resnet18_small_layers());
    }
    if what == "conv-unet" {
        rows.extend(conv::unet_resnet18_layers());
    }
    if rows.is_empty() {
        return Err(format!("no benchmark '{what}'; there are: tabular, collab, backends, all, vision, segmentation, nlp, ulmfit, ulmfit-quick, serve, conv, conv-unet"));
    }
    println!("\n{}\n", machine_line(threads, peer));
    println!("| benchmark | data | result | kindling s | throughput | fastai result | fastai s | speed-up |");
    println!("|---|---|---|---|---|---|---|---|");
    let mut failures = Vec::new();
    for r in rows {
        let (pm, ps, ratio) = match &r.peer {
            Some(Ok((m, s))) => (m.clone(), format!("{s:.1}"), format!("{:.2}×", s / r.secs)),
            Some(Err(e)) => {
                failures.push(format!("{}: {e}", r.name));
                ("peer failed (below)".into(), "-".into(), "-".into())
            }
            None => ("-".into(), "-".into(), "-".into()),
        };
        println!("| {} | {} | {} | {:.2} | {} | {pm} | {ps} | {ratio} |", r.name, r.data, r.metric, r.secs, r.throughput);
    }
    for f in &failures {
        println!("\npeer failure: {f}");
    }
    Ok(())
}
