//! The `kindling-tabular` command line as a fastai user meets it in the first hour (issue #20):
//! `--help` shows every default, `lr-find` sweeps the model `train` builds (`--layers --ps
//! --embed-p --wd`), `--wd` acts, a wrong `--sep` and a misspelt column are named with what
//! was meant, and `interpret` (confusion matrix, top losses, permutation importance) needs
//! nothing but the model file. Every case runs the real binary.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use burn::tensor::Device;
use kindling_core::data::split::{RandomSplitter, Splitter};
use kindling_tabular::datasets::{ADULT_CAT as CATS, ADULT_COLUMNS, ADULT_CONT as CONTS, adult_read_options};
use kindling_tabular::prelude::*;
use kindling_tests::bad_input::fails;
use kindling_tests::{repo_root, shared};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tabular-cli"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kindling-tabcli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn adult() -> PathBuf {
    repo_root().join("datasets/adult-sample/adult.csv")
}

/// Runs the command; panics with its output when it fails. Returns stdout and stderr.
fn run_ok(cmd: &mut Command) -> (String, String) {
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{cmd:?} failed\n{stdout}\n{stderr}");
    (stdout, stderr)
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// The line of `text` that starts with `prefix`.
fn line<'a>(text: &'a str, prefix: &str) -> &'a str {
    text.lines().find(|l| l.starts_with(prefix)).unwrap_or_else(|| panic!("no line starting with {prefix:?} in\n{text}"))
}

/// 400 rows: `signal` (a, b, c, d) decides `y` (a and b are "yes"; one row in 20 flipped),
/// `noise` is unrelated, and `is_valid` marks every fifth row.
fn signal_csv(dir: &Path) -> PathBuf {
    let mut s = String::from("signal,noise,is_valid,y\n");
    for i in 0..400usize {
        let signal = ["a", "b", "c", "d"][(i * 7 + i / 13) % 4];
        let yes = matches!(signal, "a" | "b") != (i % 20 == 7);
        let _ = writeln!(s, "{signal},{}.5,{},{}", (i * 7919) % 1000, u8::from(i % 5 == 0), if yes { "yes" } else { "no" });
    }
    let p = dir.join("signal.csv");
    std::fs::write(&p, s).unwrap();
    p
}

/// 400 rows of a regression: `y = 3 x + 2 [g = p]` plus a little wobble; `z` is unrelated.
fn regression_csv(dir: &Path) -> PathBuf {
    let mut s = String::from("x,g,z,y\n");
    for i in 0..400usize {
        let x = ((i * 37) % 100) as f64 / 10.0;
        let g = if (i / 3) % 2 == 0 { "p" } else { "q" };
        let z = ((i * 7919) % 1000) as f64 / 100.0;
        let y = 3.0 * x + if g == "p" { 2.0 } else { 0.0 } + ((i % 7) as f64 - 3.0) * 0.05;
        let _ = writeln!(s, "{x},{g},{z},{y:.3}");
    }
    let p = dir.join("reg.csv");
    std::fs::write(&p, s).unwrap();
    p
}

/// The `--help` of a subcommand.
fn help(sub: &str) -> String {
    run_ok(bin().args([sub, "--help"])).0
}

#[test]
fn help_shows_every_default_and_what_lr_find_writes() {
    let train = help("train");
    assert!(line(&train, "      --lr <LR|find>").contains("[default: 1e-3]"), "{train}");
    assert!(line(&train, "      --ps <PS>").contains("[default: 0]"), "{train}");
    assert!(line(&train, "      --wd <WD>").contains("[default: 0.01]"), "{train}");
    assert!(line(&train, "      --layers <LAYERS>").contains("[default: 200,100]"), "{train}");
    let lr_find = help("lr-find");
    assert!(lr_find.contains("lr_find.png and lr_find.json"), "{lr_find}");
    for flag in ["--layers <LAYERS>", "--ps <PS>", "--embed-p <EMBED_P>", "--wd <WD>"] {
        assert!(lr_find.contains(flag), "lr-find takes {flag} as train does\n{lr_find}");
    }
    let interpret = help("interpret");
    assert!(interpret.contains("  -k, --k <K>"), "{interpret}");
    // That every other option shows its default too: tests/help.rs.
}

#[test]
fn lr_find_sweeps_the_model_train_builds_on_the_same_rows() {
    let dir = tmp("lrfind");
    let csv = signal_csv(&dir);
    let model = ["--layers", "20,10", "--ps", "0.1", "--embed-p", "0.05", "--wd", "0.05"];
    let data = ["--target", "y", "--cat", "signal", "--cont", "noise", "--test-pct", "0.25", "--bs", "16"];
    let (swept, _) = run_ok(bin().args(["lr-find", "--csv"]).arg(&csv).args(data).args(model).args(["--num-it", "10", "--out"]).arg(dir.join("lr")));
    let (trained, _) = run_ok(bin().args(["train", "--csv"]).arg(&csv).args(data).args(model).args(["--epochs", "1", "--out"]).arg(dir.join("run")));
    let m = line(&swept, "model: ");
    assert_eq!(m, "model: layers 20,10; dropout ps 0.1,0.1; embed_p 0.05; wd 0.05", "one --ps value is every layer's");
    assert_eq!(m, line(&trained, "model: "), "lr-find sweeps the model train builds");
    // --test-pct acts in lr-find too: the sweep trains on the rows train trains on.
    let split = line(&swept, "split: ");
    assert_eq!(split, "split: 220 train, 80 valid, 100 test rows (random, --valid-pct 0.2, --test-pct 0.25, --seed 42)");
    assert_eq!(split, line(&trained, "split: "));
    // --wd changes the sweep (its losses), so it is applied, not just printed.
    let losses = |wd: &str, out: &str| {
        run_ok(bin().args(["lr-find", "--csv"]).arg(&csv).args(data).args(["--wd", wd, "--num-it", "20", "--out"]).arg(dir.join(out)));
        json(&dir.join(out).join("lr_find.json"))["losses"].clone()
    };
    assert_ne!(losses("0", "wd0"), losses("1", "wd1"));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn wd_changes_training_and_model_flags_are_checked() {
    let dir = tmp("wd");
    let csv = signal_csv(&dir);
    let train = |out: &str, extra: &[&str]| {
        run_ok(bin().args(["train", "--csv"]).arg(&csv).args(["--target", "y", "--epochs", "1", "--bs", "16", "--lr", "1e-2", "--out"]).arg(dir.join(out)).args(extra));
        json(&dir.join(out).join("metrics.json"))["final"]["valid_loss"].as_f64().unwrap()
    };
    let (none, heavy) = (train("wd0", &["--wd", "0"]), train("wd05", &["--wd", "0.5"]));
    assert_ne!(none, heavy, "--wd is applied");
    assert_eq!(train("default", &[]), train("wd001", &["--wd", "0.01"]), "the default is fastai's 0.01");
    let bad = |extra: &[&str], expect: &[&str]| {
        let mut c = bin();
        c.args(["train", "--csv"]).arg(&csv).args(["--target", "y", "--out"]).arg(dir.join("bad")).args(extra);
        fails(c, &[&csv], expect);
    };
    bad(&["--wd", "-1"], &["--wd"]);
    bad(&["--wd", "NaN"], &["--wd"]);
    bad(&["--ps", "1.5"], &["--ps", "[0, 1)"]);
    bad(&["--ps", "0.1,0.2,0.3"], &["--ps", "3 values for 2 hidden layers"]);
    bad(&["--embed-p", "1"], &["--embed-p"]);
    bad(&["--ps", "-0.1"], &["--ps", "[0, 1)"]);
    bad(&["--layers", "100,0"], &["--layers"]);
    // A random split's shares do not apply to a split by column: refused, not ignored.
    bad(&["--valid-col", "is_valid", "--valid-pct", "0.3"], &["--valid-pct", "--valid-col"]);
    bad(&["--valid-col", "is_valid", "--test-pct", "0.1"], &["--test-pct", "--valid-col"]);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_wrong_separator_is_detected_and_the_likely_one_named() {
    let dir = tmp("sep");
    let train = |csv: &Path, extra: &[&str]| {
        let mut c = bin();
        c.args(["train", "--csv"]).arg(csv).args(["--epochs", "1", "--out"]).arg(dir.join("run")).args(extra);
        c
    };
    // The comma-separated sample read with `;`: one column, and the error says to use `,`.
    fails(train(&adult(), &["--sep", ";", "--target", "salary"]), &[&adult()], &["adult.csv", "single column", "15 fields", "pass --sep ','"]);
    // A semicolon file read with the default `,`.
    let text = std::fs::read_to_string(adult()).unwrap();
    let semi = dir.join("semi.csv");
    std::fs::write(&semi, text.replace(',', ";")).unwrap();
    fails(train(&semi, &["--target", "salary"]), &[&semi], &["semi.csv", "pass --sep ';'"]);
    fails(train(&semi, &[]), &[&semi], &["semi.csv", "pass --sep ';'"]);
    // A tab-separated one.
    let tabs = dir.join("tabs.tsv");
    std::fs::write(&tabs, text.replace(',', "\t")).unwrap();
    fails(train(&tabs, &["--target", "salary"]), &[&tabs], &["tabs.tsv", "pass --sep '\\t'"]);
    // Pipes, read as `;`.
    let pipes = dir.join("pipes.csv");
    std::fs::write(&pipes, text.replace(',', "|")).unwrap();
    fails(train(&pipes, &["--sep", ";"]), &[&pipes], &["pipes.csv", "pass --sep '|'"]);
    // The raw UCI file without a header, --names given: the separator is named, not the count.
    let raw = shared().join("data/adult/adult.data");
    fails(train(&raw, &["--no-header", "--names", &ADULT_COLUMNS.join(","), "--sep", ";"]), &[&raw], &["adult.data", "pass --sep ','"]);
    // predict reads with the training file's separator; a file written with another is named.
    let model = untrained_model(&dir);
    let mut c = bin();
    c.args(["predict", "--model"]).arg(&model).arg("--csv").arg(&semi).arg("--out").arg(dir.join("p.csv"));
    fails(c, &[&semi, &model], &["semi.csv", "pass --sep ';'"]);
    // The right separator reads, and a genuine one-column file is no separator problem.
    run_ok(bin().args(["predict", "--model"]).arg(&model).arg("--csv").arg(&semi).args(["--sep", ";", "--out"]).arg(dir.join("p.csv")));
    let one = dir.join("one.csv");
    std::fs::write(&one, "age\n1\n2\n").unwrap();
    let err = fails(train(&one, &[]), &[&one], &["one.csv"]);
    assert!(!err.contains("--sep"), "{err}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// An untrained model of the Adult sample (every input column the CLI tests use).
fn untrained_model(dir: &Path) -> PathBuf {
    let table = read_table(&adult(), &ReadOptions::default(), None).unwrap();
    let roles = resolve(&table, Some("salary"), Some(CATS.map(String::from).to_vec()), Some(CONTS.map(String::from).to_vec()), None).unwrap();
    let data = TabularData::new(&table, roles, RandomSplitter::new(0.2, 1).split(&table.n_rows()).unwrap()).unwrap();
    let device = Device::flex();
    let dls = data.dataloaders(64, 1, &device).unwrap();
    let (learn, config) = tabular_learner(&data, &dls, &TabularLearnerConfig::default(), &device);
    let path = dir.join("untrained.safetensors");
    export_tabular(&path, learn.model(), &config, &data.procs, &ReadOptions::default()).unwrap();
    path
}

#[test]
fn a_missing_column_is_named_with_the_closest_ones() {
    let dir = tmp("dym");
    let train = |csv: &Path, extra: &[&str]| {
        let mut c = bin();
        c.args(["train", "--csv"]).arg(csv).args(["--epochs", "1", "--out"]).arg(dir.join("run")).args(extra);
        c
    };
    let a = adult();
    // Case first: `Salary` is `salary`.
    fails(train(&a, &["--target", "Salary"]), &[&a], &["adult.csv", "--target column 'Salary'", "did you mean 'salary'?", "the columns are: age,"]);
    fails(train(&a, &["--target", "salry"]), &[&a], &["did you mean 'salary'?"]);
    fails(train(&a, &["--cat", "workclas,race"]), &[&a], &["--cat column 'workclas'", "did you mean 'workclass'?"]);
    fails(train(&a, &["--cont", "Age"]), &[&a], &["--cont column 'Age'", "did you mean 'age'?"]);
    fails(train(&a, &["--cont", "education_num"]), &[&a], &["did you mean 'education-num'?"]);
    let err = fails(train(&a, &["--cat", "colour"]), &[&a], &["--cat column 'colour' does not exist; the columns are"]);
    assert!(!err.contains("did you mean"), "nothing is close to 'colour': {err}");
    let csv = signal_csv(&dir);
    fails(train(&csv, &["--valid-col", "is_vaild"]), &[&csv], &["signal.csv", "--valid-col column 'is_vaild'", "did you mean 'is_valid'?"]);
    // predict names the file and the column the model needs.
    let model = untrained_model(&dir);
    let renamed = dir.join("renamed.csv");
    std::fs::write(&renamed, std::fs::read_to_string(&a).unwrap().replacen("education,", "Education,", 1)).unwrap();
    let mut c = bin();
    c.args(["predict", "--model"]).arg(&model).arg("--csv").arg(&renamed).arg("--out").arg(dir.join("p.csv"));
    fails(c, &[&renamed, &model], &["renamed.csv", "column 'education' does not exist (did you mean 'Education'?)"]);
    std::fs::remove_dir_all(dir).unwrap();
}

/// The rows of a CSV written by `interpret` (header first), split at `,`.
fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path).unwrap().lines().map(|l| l.split(',').map(String::from).collect()).collect()
}

/// The number after `label ` in `text`.
fn number_after(text: &str, label: &str) -> f64 {
    let at = text.find(label).unwrap_or_else(|| panic!("no {label:?} in\n{text}")) + label.len();
    text[at..].split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-')).next().unwrap().parse().unwrap()
}

#[test]
fn interpret_needs_only_the_model_file_and_scores_the_recorded_validation_rows() {
    let dir = tmp("interp");
    // A copy of the sample, to change and move later.
    let csv = dir.join("adult.csv");
    std::fs::copy(adult(), &csv).unwrap();
    let run = dir.join("run");
    run_ok(
        bin()
            .args(["train", "--csv"])
            .arg(&csv)
            .args(["--target", "salary", "--cat", &CATS.join(","), "--cont", &CONTS.join(","), "--epochs", "2", "--test-pct", "0.1", "--out"])
            .arg(&run),
    );
    let model = run.join("model.safetensors");
    let (stdout, _) = run_ok(bin().args(["interpret", "--model"]).arg(&model));
    // The validation rows of training (seed 42, --valid-pct 0.2, --test-pct 0.1), measured as
    // training measured them.
    let table = read_table(&csv, &ReadOptions::default(), None).unwrap();
    let splits = RandomSplitter::new(0.2, 42).with_test_pct(0.1).split(&table.n_rows()).unwrap();
    assert!(stdout.contains(&format!("{} validation rows, accuracy", splits.valid.len())), "{stdout}");
    let metrics = json(&run.join("metrics.json"));
    let trained = metrics["final"]["accuracy"].as_f64().unwrap();
    let acc = number_after(&stdout, "validation rows, accuracy ");
    assert!((acc - trained).abs() < 1e-3, "interpret's accuracy {acc} is training's {trained}");
    assert!(stdout.contains("random, --valid-pct 0.2, --test-pct 0.1, --seed 42"), "{stdout}");
    for f in ["confusion_matrix.png", "interpretation.txt", "top_losses.csv", "feature_importance.csv"] {
        assert!(run.join(f).exists(), "{f} is written beside the model");
    }
    assert!(stdout.contains("most confused") && stdout.contains("precision"), "{stdout}");
    // Top losses: ten validation rows, highest loss first, with the rows' own values.
    let top = csv_rows(&run.join("top_losses.csv"));
    assert_eq!(top[0][..5], ["row", "salary", "predicted", "probability", "loss"]);
    assert_eq!(top.len(), 11);
    let losses: Vec<f64> = top[1..].iter().map(|r| r[4].parse().unwrap()).collect();
    assert!(losses.windows(2).all(|w| w[0] >= w[1]), "{losses:?}");
    for r in &top[1..] {
        let i: usize = r[0].parse::<usize>().unwrap() - 1;
        assert!(splits.valid.contains(&i), "row {} is a validation row", i + 1);
        assert_eq!(r[1], table.get("salary").unwrap().category(i).unwrap());
        assert_ne!(r[1], r[2], "the highest losses are mistakes here");
        for (j, name) in top[0].iter().enumerate().skip(5) {
            assert_eq!(r[j], table.get(name).unwrap().category(i).unwrap_or_default(), "column {name} of row {}", i + 1);
        }
    }
    // Permutation importance: every input column once, sorted by the drop.
    let imp = csv_rows(&run.join("feature_importance.csv"));
    assert_eq!(imp[0], ["column", "accuracy_shuffled", "accuracy_drop"]);
    let mut cols: Vec<&str> = imp[1..].iter().map(|r| r[0].as_str()).collect();
    cols.sort();
    let mut want: Vec<&str> = CATS.iter().chain(CONTS.iter()).copied().collect();
    want.sort();
    assert_eq!(cols, want);
    let drops: Vec<f64> = imp[1..].iter().map(|r| r[2].parse().unwrap()).collect();
    assert!(drops.windows(2).all(|w| w[0] >= w[1]) && drops[0] > 0.0, "{drops:?}");
    // -k and --out.
    run_ok(bin().args(["interpret", "--model"]).arg(&model).args(["-k", "3", "--shuffles", "1", "--out"]).arg(dir.join("k3")));
    assert_eq!(csv_rows(&dir.join("k3/top_losses.csv")).len(), 4);

    // A changed validation row is noticed: interpreting it could score training rows.
    let original = std::fs::read_to_string(&csv).unwrap();
    let v = splits.valid[0];
    let mut lines: Vec<String> = original.lines().map(String::from).collect();
    lines[v + 1] = lines[v + 1].replacen(",", ",0", 1);
    std::fs::write(&csv, lines.join("\n") + "\n").unwrap();
    let mut c = bin();
    c.args(["interpret", "--model"]).arg(&model).arg("--out").arg(dir.join("changed"));
    fails(c, &[&csv, &model], &["adult.csv", "validation rows", "the data changed"]);
    // Rows added: another split altogether.
    std::fs::write(&csv, original.clone() + &original.lines().nth(1).unwrap().to_string() + "\n").unwrap();
    let mut c = bin();
    c.args(["interpret", "--model"]).arg(&model).arg("--out").arg(dir.join("changed"));
    fails(c, &[&csv, &model], &[&format!("{} items, this data has {}", table.n_rows(), table.n_rows() + 1)]);
    // Moved: the recorded path is gone, and --csv gives the new one.
    std::fs::write(&csv, &original).unwrap();
    let moved = dir.join("moved.csv");
    std::fs::rename(&csv, &moved).unwrap();
    let mut c = bin();
    c.args(["interpret", "--model"]).arg(&model).arg("--out").arg(dir.join("moved-out"));
    fails(c, &[&model], &["--csv", "adult.csv", "no longer there"]);
    let (again, _) = run_ok(bin().args(["interpret", "--model"]).arg(&model).arg("--csv").arg(&moved).arg("--out").arg(dir.join("moved-out")));
    assert!((number_after(&again, "validation rows, accuracy ") - acc).abs() < 1e-9);

    // A model file that records no table (written by the library, or an older kindling): --csv
    // is asked for by name, and then used with a warning.
    let old = untrained_model(&dir);
    let mut c = bin();
    c.args(["interpret", "--model"]).arg(&old);
    fails(c, &[&old], &["--csv", "does not record the table"]);
    let (_, stderr) = run_ok(bin().args(["interpret", "--model"]).arg(&old).arg("--csv").arg(adult()).arg("--out").arg(dir.join("old")));
    assert!(stderr.contains("does not record its split"), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn interpret_ranks_the_column_the_target_depends_on_first_with_a_valid_col_split() {
    let dir = tmp("signal");
    let csv = signal_csv(&dir);
    let run = dir.join("run");
    let (trained, _) = run_ok(
        bin()
            .args(["train", "--csv"])
            .arg(&csv)
            .args(["--target", "y", "--valid-col", "is_valid", "--epochs", "4", "--bs", "16", "--lr", "1e-2", "--out"])
            .arg(&run),
    );
    assert!(line(&trained, "split: ").starts_with("split: 320 train, 80 valid, 0 test rows (column, --valid-col is_valid"), "{trained}");
    let (stdout, _) = run_ok(bin().args(["interpret", "--model"]).arg(run.join("model.safetensors")));
    assert!(stdout.contains("80 validation rows"), "{stdout}");
    let imp = csv_rows(&run.join("feature_importance.csv"));
    assert_eq!(imp[1][0], "signal", "{imp:?}");
    let drop = |name: &str| imp.iter().find(|r| r[0] == name).unwrap()[2].parse::<f64>().unwrap();
    assert!(drop("signal") > 0.2, "shuffling the signal costs accuracy: {imp:?}");
    assert!(drop("noise").abs() < 0.1, "shuffling noise costs little: {imp:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn interpret_of_a_regression_shows_the_largest_squared_errors_and_the_rise_in_rmse() {
    let dir = tmp("reg");
    let csv = regression_csv(&dir);
    let run = dir.join("run");
    run_ok(bin().args(["train", "--csv"]).arg(&csv).args(["--target", "y", "--cat", "g", "--cont", "x,z", "--epochs", "5", "--bs", "16", "--lr", "1e-2", "--out"]).arg(&run));
    let (stdout, _) = run_ok(bin().args(["interpret", "--model"]).arg(run.join("model.safetensors")).args(["-k", "5"]));
    assert!(!run.join("confusion_matrix.png").exists(), "no confusion matrix for a regression");
    let rmse = number_after(&stdout, "validation rows, rmse ");
    let trained = json(&run.join("metrics.json"))["final"]["rmse"].as_f64().unwrap();
    assert!((rmse - trained).abs() < 1e-3 * trained.max(1.0), "interpret's RMSE {rmse} is training's {trained}");
    assert!(stdout.contains("largest squared error") && stdout.contains("rise in RMSE"), "{stdout}");
    let top = csv_rows(&run.join("top_losses.csv"));
    assert_eq!(top[0], ["row", "y", "predicted", "loss", "g", "x", "z"]);
    assert_eq!(top.len(), 6);
    let mut last = f64::INFINITY;
    for r in &top[1..] {
        let (actual, predicted, loss): (f64, f64, f64) = (r[1].parse().unwrap(), r[2].parse().unwrap(), r[3].parse().unwrap());
        assert!((loss - (predicted - actual).powi(2)).abs() < 1e-2 * loss.max(1.0), "{r:?}");
        assert!(loss <= last, "largest first");
        last = loss;
    }
    let imp = csv_rows(&run.join("feature_importance.csv"));
    assert_eq!(imp[0], ["column", "rmse_shuffled", "rmse_rise"]);
    assert_eq!(imp[1][0], "x", "y is mostly 3 x: {imp:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn interpret_on_the_full_adult_data_rereads_it_as_training_did() {
    // The raw UCI file: no header, names and separator given to train only.
    let dir = tmp("full");
    let raw = shared().join("data/adult/adult.data");
    let run = dir.join("run");
    run_ok(
        bin()
            .args(["train", "--csv"])
            .arg(&raw)
            .args(["--no-header", "--names", &ADULT_COLUMNS.join(","), "--target", "salary", "--cat", &CATS.join(","), "--cont", &CONTS.join(","), "--epochs", "1", "--out"])
            .arg(&run),
    );
    let (stdout, _) = run_ok(bin().args(["interpret", "--model"]).arg(run.join("model.safetensors")).args(["--shuffles", "1"]));
    let n = read_table(&raw, &adult_read_options(), None).unwrap().n_rows();
    assert!(stdout.contains(&format!("{} validation rows", n / 5)), "{stdout}");
    let acc = number_after(&stdout, "validation rows, accuracy ");
    let trained = json(&run.join("metrics.json"))["final"]["accuracy"].as_f64().unwrap();
    assert!((acc - trained).abs() < 1e-3 && acc > 0.78, "{acc} vs {trained}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// `train --from MODEL` (fastai's "fit again"): the run starts from the finished model's
/// weights, not from a new model, also when MODEL is named through `runs/latest`, which the new
/// run moves; other model flags or another vocabulary are refused naming what differs.
#[test]
fn train_from_a_finished_model_continues_it() {
    let dir = tmp("from");
    let csv = signal_csv(&dir);
    let train = |out: &Path, extra: &[&str]| {
        run_ok(bin().args(["train", "--csv"]).arg(&csv).args(["--target", "y", "--bs", "16", "--out"]).arg(out).args(extra));
        json(&out.join("metrics.json"))["final"]["valid_loss"].as_f64().unwrap()
    };
    let trained = train(&dir.join("first"), &["--epochs", "3", "--lr", "1e-2"]);
    // One more epoch at a rate too small to move the weights: the loss it ends with is near
    // the finished model's (BatchNorm's running statistics still follow the data), far from a
    // new model's under the same flags (about ln 2).
    let model = dir.join("first/model.safetensors");
    let again = train(&dir.join("again"), &["--epochs", "1", "--lr", "1e-7", "--from", model.to_str().unwrap()]);
    let fresh = train(&dir.join("fresh"), &["--epochs", "1", "--lr", "1e-7"]);
    assert!((again - trained).abs() < 0.3 * trained, "from the model: {again}, the model: {trained}");
    assert!(fresh > 2.0 * trained, "a new model: {fresh}, the trained one: {trained}");

    // Through runs/latest, from the working directory as a user types it.
    let (out, _) = run_ok(bin().current_dir(&dir).args(["train", "--csv"]).arg(&csv).args(["--target", "y", "--epochs", "1"]));
    assert!(out.contains("run folder: runs/"), "{out}");
    let (out, _) = run_ok(bin().current_dir(&dir).args(["train", "--csv"]).arg(&csv).args(["--target", "y", "--epochs", "1", "--from", "runs/latest/model.safetensors"]));
    assert!(out.contains("run folder: runs/tabular-") && out.contains("-1/model.safetensors"), "the model of the run before: {out}");

    let bad = |extra: &[&str], expect: &[&str]| {
        let mut c = bin();
        c.args(["train", "--csv"]).arg(&csv).args(["--target", "y", "--out"]).arg(dir.join("bad")).args(extra);
        fails(c, &[&csv, &model], expect);
    };
    let from = ["--from", model.to_str().unwrap()];
    bad(&[&from[..], &["--layers", "50"]].concat(), &["--from", "layers: [50] (the model file: [200,100])"]);
    bad(&[&from[..], &["--cat", "signal,noise"]].concat(), &["--from", "procs"]);
    bad(&["--from", dir.to_str().unwrap()], &["--from", "is a folder"]);
    bad(&[&from[..], &["--resume"]].concat(), &["--from", "--resume"]);
    std::fs::remove_dir_all(dir).unwrap();
}
