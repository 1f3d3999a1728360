//! kindling-tabular on the real UCI Adult data: fastai's embedding sizes and parameter count,
//! procs fitted on the training rows, CSV/Parquet parity, bad input, and the command line from
//! training to predicting the real test file.

use std::path::PathBuf;
use std::process::Command;

use burn::tensor::Device;
use kindling_core::data::split::{RandomSplitter, Splitter};
use kindling_core::nn::emb_sz_rule;
use kindling_tabular::datasets::{ADULT_CAT as CATS, ADULT_COLUMNS, ADULT_CONT as CONTS, adult_read_options};
use kindling_tabular::prelude::*;
use kindling_tests::{golden, repo_root, shared};

fn adult() -> Table {
    read_table(&shared().join("data/adult/adult.data"), &adult_read_options(), None).unwrap()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kindling-tab-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn emb_sz_rule_matches_fastai() {
    for (n, w) in golden()["emb_sz_rule"].as_object().unwrap() {
        assert_eq!(emb_sz_rule(n.parse().unwrap()) as u64, w.as_u64().unwrap(), "n = {n}");
    }
}

#[test]
fn adult_model_has_fastai_parameter_count() {
    let g = &golden()["tabular_model_adult"];
    let cards: Vec<usize> = g["emb_szs"].as_array().unwrap().iter().map(|p| p[0].as_u64().unwrap() as usize).collect();
    let config = TabularModelConfig::new(&cards, 3, 2);
    let want: Vec<(usize, usize)> = g["emb_szs"].as_array().unwrap().iter().map(|p| (p[0].as_u64().unwrap() as usize, p[1].as_u64().unwrap() as usize)).collect();
    assert_eq!(config.emb_szs, want);
    assert_eq!(kindling_core::nn::num_params(&config.init(&Device::flex())) as u64, g["n_params"].as_u64().unwrap());
}

#[test]
fn procs_are_fitted_on_the_training_rows_of_adult() {
    let table = adult();
    assert_eq!(table.n_rows(), 32_561);
    let roles = resolve(&table, Some("salary"), Some(CATS.map(String::from).to_vec()), Some(CONTS.map(String::from).to_vec()), None).unwrap();
    let splits = RandomSplitter::new(0.2, 42).split(&table.n_rows()).unwrap();
    let data = TabularData::new(&table, roles, splits.clone()).unwrap();
    let procs = &data.procs;
    assert_eq!(procs.classes, vec!["<=50K", ">50K"]);
    // workclass has missing values ('?'): '#na#' first, then the sorted training values.
    let (name, vocab) = &procs.categorify.vocabs[0];
    assert_eq!(name, "workclass");
    assert_eq!(vocab[0], "#na#");
    assert!(vocab[1..].windows(2).all(|w| w[0] < w[1]));
    assert!(!vocab.contains(&"?".to_string()));
    assert_eq!(vocab.len(), 9, "8 workclasses + #na#");
    // No continuous column has missing values here, so there are no _na columns.
    assert_eq!(procs.cat_names().len(), 6);
    // Medians and means are those of the training rows only.
    let Column::Numeric { values, .. } = table.get("age").unwrap() else { panic!() };
    let mut train_ages: Vec<f64> = splits.train.iter().map(|&i| values[i].unwrap()).collect();
    let mean = train_ages.iter().sum::<f64>() / train_ages.len() as f64;
    train_ages.sort_by(f64::total_cmp);
    let m = train_ages.len();
    let median = if m % 2 == 1 { train_ages[m / 2] } else { (train_ages[m / 2 - 1] + train_ages[m / 2]) / 2.0 };
    assert_eq!(procs.fill.medians[0], ("age".to_string(), median));
    assert!((procs.normalize.means[0] - mean).abs() < 1e-9);
    let train_norm: Vec<f64> = splits.train.iter().map(|&i| data.processed.conts[i * 3] as f64).collect();
    assert!((train_norm.iter().sum::<f64>() / train_norm.len() as f64).abs() < 1e-5, "train ages normalise to mean 0");
}

#[test]
fn csv_and_parquet_read_the_same_table() {
    use polars::prelude::*;
    let dir = tmp("parquet");
    let csv = repo_root().join("datasets/adult-sample/adult.csv");
    let from_csv = read_table(&csv, &ReadOptions::default(), None).unwrap();
    let mut df = CsvReadOptions::default()
        .with_has_header(true)
        .try_into_reader_with_file_path(Some(csv.clone()))
        .unwrap()
        .finish()
        .unwrap();
    let pq = dir.join("adult.parquet");
    ParquetWriter::new(std::fs::File::create(&pq).unwrap()).finish(&mut df).unwrap();
    let from_parquet = read_table(&pq, &ReadOptions::default(), None).unwrap();
    assert_eq!(from_csv, from_parquet);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn bad_tables_get_clear_errors() {
    let dir = tmp("bad");
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let ragged = write("ragged.csv", "a,b,y\n1,2,x\n3,4,y\n5,6,7,z\n7,8,x\n");
    let err = read_table(&ragged, &ReadOptions::default(), None).unwrap_err().to_string();
    assert!(err.contains("ragged.csv") && err.contains("line 4 has 4 fields"), "{err}");

    let empty = write("empty.csv", "");
    let err = read_table(&empty, &ReadOptions::default(), None).unwrap_err().to_string();
    assert!(err.contains("empty.csv") && err.contains("empty"), "{err}");

    let t = read_table(&write("ok.csv", "a,b,y\n1,2,x\n3,4,y\n"), &ReadOptions::default(), None).unwrap();
    let err = resolve(&t, Some("salary"), None, None, None).unwrap_err().to_string();
    assert!(err.contains("'salary'") && err.contains("a, b, y"), "{err}");
    let err = read_table(&dir.join("nope.csv"), &ReadOptions::default(), None).unwrap_err().to_string();
    assert!(err.contains("nope.csv"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn predict_handles_unseen_categories_nan_and_infinity_without_panicking() {
    let table = read_table(&repo_root().join("datasets/adult-sample/adult.csv"), &ReadOptions::default(), None).unwrap();
    let roles = resolve(&table, Some("salary"), Some(CATS.map(String::from).to_vec()), Some(CONTS.map(String::from).to_vec()), None).unwrap();
    let splits = RandomSplitter::new(0.2, 1).split(&table.n_rows()).unwrap();
    let data = TabularData::new(&table, roles, splits).unwrap();
    let device = Device::flex();
    let dls = data.dataloaders(64, 1, &device).unwrap();
    let (learn, config) = tabular_learner(&data, &dls, &TabularLearnerConfig::default(), &device);
    let dir = tmp("unseen");
    let model = dir.join("model.safetensors");
    export_tabular(&model, learn.model(), &config, &data.procs, &ReadOptions::default()).unwrap();

    let new = dir.join("new.csv");
    std::fs::write(&new, "age,workclass,fnlwgt,education,education-num,marital-status,occupation,relationship,race\n\
        nan,Space-force,1,Bachelors,13,Never-married,Astronaut,Not-in-family,White\n\
        inf,,2,Masters,?,Married-civ-spouse,Sales,Husband,Other\n\
        39,State-gov,77516,Bachelors,13,Never-married,Adm-clerical,Not-in-family,White\n").unwrap();
    let predictor = TabularPredictor::load(&model, &device).unwrap();
    let out = dir.join("preds.csv");
    let (n, score) = predictor.predict_file(&new, &ReadOptions::default(), &out).unwrap();
    assert_eq!((n, score), (3, None));
    let text = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4);
    assert!(lines[0].ends_with("prediction,prob_<=50K,prob_>50K"), "{}", lines[0]);
    assert!(lines[1].starts_with(",Space-force,1,"), "row order and raw values kept: {}", lines[1]);
    assert!(lines[3].starts_with("39,State-gov"));
    // Every row, the NaN, infinite and unseen ones included, gets real probabilities.
    for line in &lines[1..] {
        let fields: Vec<&str> = line.split(',').collect();
        let probs: Vec<f64> = fields[fields.len() - 2..].iter().map(|p| p.parse().unwrap()).collect();
        assert!(probs.iter().all(|p| p.is_finite() && (0.0..=1.0).contains(p)), "{line}");
        assert!((probs.iter().sum::<f64>() - 1.0).abs() < 1e-4, "probabilities sum to 1: {line}");
        let predicted = fields[fields.len() - 3];
        let best = if probs[0] >= probs[1] { "<=50K" } else { ">50K" };
        assert_eq!(predicted, best, "the prediction is the likelier class: {line}");
    }
    // A missing input column is an error naming it.
    std::fs::write(&new, "age,workclass\n1,x\n").unwrap();
    let err = predictor.predict_file(&new, &ReadOptions::default(), &out).unwrap_err().to_string();
    assert!(err.contains("'fnlwgt'") || err.contains("'education'"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

fn tabular_bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tabular-cli"))
}

/// The share of the most frequent value of `target` among `rows` (labels compared without
/// adult.test's trailing period): the accuracy of always predicting the majority class.
fn majority_accuracy(table: &Table, target: &str, rows: &[usize]) -> f64 {
    let col = table.get(target).unwrap();
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for &i in rows {
        *counts.entry(col.category(i).unwrap().trim_end_matches('.').to_string()).or_default() += 1;
    }
    *counts.values().max().unwrap() as f64 / rows.len() as f64
}

/// Runs the command line; panics with its output when it fails. Returns stdout.
fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{cmd:?} failed\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
}


#[test]
fn command_line_trains_then_predicts_the_real_test_file() {
    let dir = tmp("cli");
    let out = dir.join("run");
    let train = tabular_bin()
        .args(["train", "--csv"])
        .arg(repo_root().join("datasets/adult-sample/adult.csv"))
        .args(["--target", "salary", "--cat", &CATS.join(","), "--cont", &CONTS.join(","), "--epochs", "3", "--test-pct", "0.1", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&train.stdout);
    assert!(train.status.success(), "{}\n{}", stdout, String::from_utf8_lossy(&train.stderr));
    assert!(stdout.contains("epoch") && stdout.contains("accuracy") && stdout.contains("held-out test (500 rows)"), "{stdout}");
    // With both --cat and --cont given, only those are used, and the rest are named.
    assert!(
        stdout.contains("dropped columns: sex, capital-gain, capital-loss, hours-per-week, native-country"),
        "{stdout}"
    );
    let metrics: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(metrics["epochs"].as_array().unwrap().len(), 3);
    assert_eq!(metrics["splits"]["train"].as_u64().unwrap(), 3500);
    // The validation rows the command measured on (its default seed, 42), and what always
    // predicting their majority class scores there: the model must beat it clearly.
    let sample = read_table(&repo_root().join("datasets/adult-sample/adult.csv"), &ReadOptions::default(), None).unwrap();
    let splits = RandomSplitter::new(0.2, 42).with_test_pct(0.1).split(&sample.n_rows()).unwrap();
    assert_eq!(metrics["splits"]["valid"].as_u64().unwrap() as usize, splits.valid.len());
    let majority = majority_accuracy(&sample, "salary", &splits.valid);
    let acc = metrics["final"]["accuracy"].as_f64().unwrap();
    assert!(acc >= majority + 0.03, "valid accuracy {acc:.4} does not beat the majority class ({majority:.4}) by 0.03");
    assert!(out.join("history.png").exists());

    let preds = dir.join("test-preds.csv");
    let predict = tabular_bin()
        .args(["predict", "--model"])
        .arg(out.join("model.safetensors"))
        .arg("--csv")
        .arg(shared().join("data/adult/adult.test"))
        .args(["--no-header", "--skip-rows", "1", "--names", &ADULT_COLUMNS.join(","), "--out"])
        .arg(&preds)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&predict.stdout);
    assert!(predict.status.success(), "{}", String::from_utf8_lossy(&predict.stderr));
    assert!(stdout.contains("16281 rows predicted") && stdout.contains("accuracy"), "{stdout}");
    let acc: f64 = stdout.rsplit(": ").next().unwrap().trim().parse().unwrap();
    let test_rows = read_table(
        &shared().join("data/adult/adult.test"),
        &ReadOptions { skip_rows: 1, ..adult_read_options() },
        None,
    )
    .unwrap();
    let majority = majority_accuracy(&test_rows, "salary", &(0..test_rows.n_rows()).collect::<Vec<_>>());
    assert!(acc >= majority + 0.03, "test accuracy {acc:.4} does not beat the majority class ({majority:.4}) by 0.03: {stdout}");
    assert_eq!(std::fs::read_to_string(&preds).unwrap().lines().count(), 16_282);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn predict_reads_with_the_users_na_and_sep_when_given_and_the_training_files_otherwise() {
    let dir = tmp("na");
    // A model whose training file was read with `--na ?` and `--sep ;`.
    let table = read_table(&repo_root().join("datasets/adult-sample/adult.csv"), &ReadOptions::default(), None).unwrap();
    let roles = resolve(&table, Some("salary"), Some(CATS.map(String::from).to_vec()), Some(CONTS.map(String::from).to_vec()), None).unwrap();
    let data = TabularData::new(&table, roles, RandomSplitter::new(0.2, 1).split(&table.n_rows()).unwrap()).unwrap();
    let device = Device::flex();
    let dls = data.dataloaders(64, 1, &device).unwrap();
    let (learn, config) = tabular_learner(&data, &dls, &TabularLearnerConfig::default(), &device);
    let model = dir.join("model.safetensors");
    let trained = ReadOptions { separator: b';', na_values: vec!["?".into()], ..ReadOptions::default() };
    export_tabular(&model, learn.model(), &config, &data.procs, &trained).unwrap();

    // A value read as missing is written back empty, so the output shows which were.
    let rows = dir.join("rows.csv");
    std::fs::write(&rows, "age;workclass;fnlwgt;education;education-num;marital-status;occupation;relationship;race\n\
        39;?;77516;Bachelors;13;Never-married;UNKNOWN;Not-in-family;White\n").unwrap();
    let preds = dir.join("preds.csv");
    let predict = |extra: &[&str]| {
        let out = tabular_bin().args(["predict", "--model"]).arg(&model).arg("--csv").arg(&rows).arg("--out").arg(&preds).args(extra).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let text = std::fs::read_to_string(&preds).unwrap();
        (text.lines().nth(1).unwrap().to_string(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    // No flags: the training file's separator and NA markers.
    let (row, _) = predict(&[]);
    assert!(row.starts_with("39;;77516;Bachelors;13;Never-married;UNKNOWN;"), "{row}");
    // The user's --na wins (the old code replaced it with the training file's), and is noted.
    let (row, stderr) = predict(&["--na", "UNKNOWN"]);
    assert!(row.starts_with("39;?;77516;Bachelors;13;Never-married;;"), "{row}");
    assert!(stderr.contains("--na UNKNOWN") && stderr.contains("trained reading ? as missing"), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_numeric_target_with_two_values_trains_as_a_classification_unless_told_otherwise() {
    let dir = tmp("titanic");
    // Titanic-like rows: `survived` is 0/1, mostly decided by `sex`.
    let mut csv = String::from("pclass,sex,age,fare,survived\n");
    for i in 0..300 {
        let female = i % 2 == 0;
        let survived = if i % 10 == 3 { !female } else { female };
        let _ = std::fmt::Write::write_fmt(
            &mut csv,
            format_args!("{},{},{}.5,{}.25,{}\n", 1 + i % 3, if female { "female" } else { "male" }, 18 + i % 50, 7 + i % 90, u8::from(survived)),
        );
    }
    let file = dir.join("titanic.csv");
    std::fs::write(&file, csv).unwrap();
    let train = |out: &str, extra: &[&str]| {
        let stdout = run_ok(tabular_bin().args(["train", "--csv"]).arg(&file).args(["--target", "survived", "--epochs", "1", "--bs", "16", "--out"]).arg(dir.join(out)).args(extra));
        let metrics: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join(out).join("metrics.json")).unwrap()).unwrap();
        (stdout, metrics)
    };
    let (stdout, metrics) = train("cls", &[]);
    assert!(
        stdout.contains("target 'survived' (classification: a numeric target with exactly two values, 0 and 1; pass --regression"),
        "{stdout}"
    );
    assert!(metrics["final"]["accuracy"].as_f64().is_some(), "{metrics}");
    let p = TabularPredictor::load(&dir.join("cls/model.safetensors"), &Device::flex()).unwrap();
    assert_eq!(p.pre.procs.classes, vec!["0", "1"]);

    let (stdout, metrics) = train("reg", &["--regression"]);
    assert!(stdout.contains("target 'survived' (regression, as asked)"), "{stdout}");
    assert!(metrics["final"]["accuracy"].is_null() && metrics["final"]["rmse"].as_f64().is_some(), "{metrics}");
    std::fs::remove_dir_all(dir).unwrap();
}
