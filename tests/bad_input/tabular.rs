//! Bad input for the tabular command line: every case runs the real `tabular-cli` binary and
//! must fail with a message naming the file, row, column, header field or flag at fault, without
//! a panic and without touching its inputs.

use std::path::{Path, PathBuf};
use std::process::Command;

use burn::tensor::Device;
use kindling_core::data::split::{RandomSplitter, Splitter};
use kindling_core::export;
use kindling_tabular::prelude::*;
use kindling_tests::bad_input::{fails, scratch};
use kindling_tests::repo_root;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tabular-cli"))
}

fn adult() -> PathBuf {
    repo_root().join("datasets/adult-sample/adult.csv")
}

/// `train --csv <csv> --epochs 1 --out <dir>/run` followed by `extra`.
fn train(csv: &Path, dir: &Path, extra: &[&str]) -> Command {
    let mut c = bin();
    c.args(["train", "--csv"]).arg(csv).args(["--epochs", "1", "--out"]).arg(dir.join("run")).args(extra);
    c
}

/// Writes `text` to `dir/name`.
fn write(dir: &Path, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// A small, valid table: a categorical column `c`, continuous `x`, and a text target `y`.
fn small_csv(rows: impl Fn(usize) -> String) -> String {
    let mut s = String::from("c,x,y\n");
    for i in 0..40 {
        s.push_str(&rows(i));
        s.push('\n');
    }
    s
}

fn good_row(i: usize) -> String {
    format!("c{},{}.5,{}", i % 3, i, if i % 2 == 0 { "p" } else { "q" })
}

/// An untrained model of the Adult sample (the checks read shapes, not values).
fn model(dir: &Path) -> PathBuf {
    let table = read_table(&adult(), &ReadOptions::default(), None).unwrap();
    let cat = ["workclass", "education"].map(String::from).to_vec();
    let roles = resolve(&table, Some("salary"), Some(cat), Some(vec!["age".into()]), None).unwrap();
    let splits = RandomSplitter::new(0.2, 1).split(&table.n_rows()).unwrap();
    let data = TabularData::new(&table, roles, splits).unwrap();
    let device = Device::flex();
    let dls = data.dataloaders(64, 1, &device).unwrap();
    let (learn, config) = tabular_learner(&data, &dls, &TabularLearnerConfig::default(), &device);
    let path = dir.join("model.safetensors");
    export_tabular(&path, learn.model(), &config, &data.procs, &ReadOptions::default()).unwrap();
    path
}

/// `predict --model <model> --csv adult.csv --out <dir>/preds.csv`.
fn predict(model: &Path, dir: &Path) -> Command {
    let mut c = bin();
    c.args(["predict", "--model"]).arg(model).arg("--csv").arg(adult()).arg("--out").arg(dir.join("preds.csv"));
    c
}

#[test]
fn tabular_ragged_csv_names_the_file_and_line() {
    let d = scratch("tab-ragged");
    let csv = write(&d, "ragged.csv", "a,b,y\n1,2,x\n3,4,y\n5,6,7,z\n7,8,x\n");
    fails(train(&csv, &d, &["--target", "y"]), &[&csv], &["ragged.csv", "line 4"]);
}

#[test]
fn tabular_non_utf8_csv_names_the_file_and_line() {
    let d = scratch("tab-latin1");
    let mut bytes = small_csv(good_row).into_bytes();
    // "café" in Latin-1 on line 3.
    let at = bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').nth(1).unwrap().0 + 1;
    bytes.splice(at..at + 2, b"caf\xe9".iter().copied());
    let csv = write(&d, "latin1.csv", bytes);
    fails(train(&csv, &d, &["--target", "y"]), &[&csv], &["latin1.csv", "line 3", "UTF-8"]);
}

#[test]
fn tabular_missing_target_column_is_named_with_the_columns_there_are() {
    let d = scratch("tab-target");
    fails(train(&adult(), &d, &["--target", "salry"]), &[&adult()], &["'salry'", "salary"]);
}

#[test]
fn tabular_missing_cat_column_is_named() {
    let d = scratch("tab-cat");
    fails(train(&adult(), &d, &["--target", "salary", "--cat", "workclass,colour"]), &[&adult()], &["'colour'"]);
}

#[test]
fn tabular_text_column_given_as_continuous_is_named() {
    let d = scratch("tab-cont-text");
    fails(train(&adult(), &d, &["--target", "salary", "--cont", "age,workclass"]), &[&adult()], &["--cont", "'workclass'"]);
}

#[test]
fn tabular_infinity_in_a_continuous_column_names_column_row_and_file() {
    let d = scratch("tab-inf");
    let csv = write(&d, "inf.csv", small_csv(|i| if i == 6 { "c0,inf,p".into() } else { good_row(i) }));
    fails(train(&csv, &d, &["--target", "y", "--cont", "x"]), &[&csv], &["inf.csv", "'x'", "row 7", "inf"]);
}

#[test]
fn tabular_nan_in_a_continuous_column_names_column_row_and_the_na_flag() {
    let d = scratch("tab-nan");
    let csv = write(&d, "nan.csv", small_csv(|i| if i == 2 { "c0,NaN,p".into() } else { good_row(i) }));
    fails(train(&csv, &d, &["--target", "y", "--cat", "c", "--cont", "x"]), &[&csv], &["nan.csv", "'x'", "row 3", "--na"]);
}

#[test]
fn tabular_nan_in_a_regression_target_names_the_row() {
    let d = scratch("tab-nan-target");
    let csv = write(&d, "reg.csv", small_csv(|i| if i == 4 { "c1,4.5,NaN".into() } else { format!("c{},{i}.5,{}.25", i % 3, i * 3) }));
    fails(train(&csv, &d, &["--target", "y"]), &[&csv], &["reg.csv", "row 5", "'y'"]);
}

#[test]
fn tabular_single_class_target_is_refused() {
    let d = scratch("tab-one-class");
    let csv = write(&d, "one.csv", small_csv(|i| format!("c{},{i}.5,p", i % 3)));
    fails(train(&csv, &d, &["--target", "y"]), &[&csv], &["one.csv", "single class 'p'"]);
}

#[test]
fn tabular_empty_csv_is_named() {
    let d = scratch("tab-empty");
    let csv = write(&d, "empty.csv", "");
    fails(train(&csv, &d, &[]), &[&csv], &["empty.csv", "empty"]);
}

#[test]
fn tabular_header_only_csv_is_named() {
    let d = scratch("tab-header-only");
    let csv = write(&d, "header.csv", "c,x,y\n");
    fails(train(&csv, &d, &["--target", "y"]), &[&csv], &["header.csv", "empty"]);
}

#[test]
fn tabular_valid_pct_leaving_no_validation_rows_is_refused() {
    let d = scratch("tab-no-valid");
    let csv = write(&d, "small.csv", small_csv(good_row));
    fails(train(&csv, &d, &["--target", "y", "--valid-pct", "0.01"]), &[&csv], &["small.csv", "validation set empty", "valid_pct"]);
}

#[test]
fn tabular_model_file_of_another_task_is_refused() {
    let d = scratch("tab-wrong-task");
    let m = model(&d);
    let (mut header, _) = export::read(&m).unwrap();
    header.task = "collab".into();
    let other = d.join("collab.safetensors");
    export::reheader(&m, &other, &header).unwrap();
    fails(predict(&other, &d), &[&other, &adult()], &["collab.safetensors", "a collab model, not a tabular one"]);
}

#[test]
fn tabular_truncated_model_file_is_refused() {
    let d = scratch("tab-truncated");
    let m = model(&d);
    let bytes = std::fs::read(&m).unwrap();
    let cut = write(&d, "cut.safetensors", &bytes[..bytes.len() - 100]);
    fails(predict(&cut, &d), &[&cut, &adult()], &["cut.safetensors", "truncated"]);
}

#[test]
fn tabular_header_edited_model_file_names_the_field() {
    let d = scratch("tab-edited");
    let m = model(&d);
    let (header, _) = export::read(&m).unwrap();
    let mut v = serde_json::to_value(&header).unwrap();
    // One word dropped from workclass's vocabulary: `lookups[j]` and the embedding disagree.
    v["preprocessing"]["procs"]["categorify"]["vocabs"][0][1].as_array_mut().unwrap().pop();
    let edited = d.join("edited.safetensors");
    export::reheader(&m, &edited, &serde_json::from_value(v).unwrap()).unwrap();
    fails(predict(&edited, &d), &[&edited, &adult()], &["edited.safetensors", "preprocessing.procs.categorify.vocabs"]);
    // A class added to the header's list only (`classes[predicted[i]]`).
    let mut header = header;
    header.classes.push("maybe".into());
    export::reheader(&m, &edited, &header).unwrap();
    fails(predict(&edited, &d), &[&edited, &adult()], &["edited.safetensors", "`classes`"]);
}

#[test]
fn tabular_byte_edited_header_fails_its_checksum() {
    let d = scratch("tab-bytes");
    let m = model(&d);
    let mut bytes = std::fs::read(&m).unwrap();
    // Rename a class in place (same length), leaving the checksum as it was.
    let at = bytes.windows(5).position(|w| w == b">50K\\").expect("the header names the class");
    bytes[at + 1] = b'6';
    let edited = write(&d, "bytes.safetensors", bytes);
    fails(predict(&edited, &d), &[&edited, &adult()], &["bytes.safetensors", "checksum"]);
}

#[test]
fn tabular_zero_batch_size_is_refused() {
    let d = scratch("tab-bs0");
    fails(train(&adult(), &d, &["--bs", "0"]), &[&adult()], &["--bs"]);
}

#[test]
fn tabular_zero_epochs_is_refused() {
    let d = scratch("tab-epochs0");
    let mut c = bin();
    c.args(["train", "--csv"]).arg(adult()).args(["--epochs", "0", "--out"]).arg(d.join("run"));
    fails(c, &[&adult()], &["--epochs"]);
}

#[test]
fn tabular_negative_and_nan_learning_rates_are_refused() {
    let d = scratch("tab-lr");
    for lr in [&["--lr=-0.01"][..], &["--lr", "-0.01"], &["--lr", "NaN"], &["--lr", "inf"]] {
        fails(train(&adult(), &d, lr), &[&adult()], &["--lr"]);
    }
}

#[test]
fn tabular_out_that_is_a_file_is_refused() {
    let d = scratch("tab-out-file");
    let out = write(&d, "run", "not a folder");
    let mut c = bin();
    c.args(["train", "--csv"]).arg(adult()).args(["--epochs", "1", "--out"]).arg(&out);
    fails(c, &[&adult(), &out], &["--out", "is a file"]);
}

#[test]
fn tabular_predict_rows_without_an_input_column_name_it() {
    let d = scratch("tab-predict-cols");
    let m = model(&d);
    let rows = write(&d, "rows.csv", "age,workclass\n39,State-gov\n");
    let mut c = bin();
    c.args(["predict", "--model"]).arg(&m).arg("--csv").arg(&rows).arg("--out").arg(d.join("preds.csv"));
    fails(c, &[&m, &rows], &["'education'"]);
}

#[test]
fn tabular_train_without_data_names_both_sources() {
    let mut c = bin();
    c.arg("train");
    fails(c, &[], &["--csv <CSV>", "--dataset <DATASET>"]);
}
