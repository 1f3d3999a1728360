//! Bad input for the collab command line: bad ratings tables, bad flags, ids the model never
//! saw, and model files that are not what they claim to be.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use kindling_tests::bad_input::{fails, scratch};

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_collab-cli"))
}

/// 24 users rating most of 16 films, 1 to 5 stars: enough for a one-epoch model.
fn good_ratings() -> String {
    let mut s = String::from("user,item,rating\n");
    for u in 0..24 {
        for i in 0..16 {
            if (u * 5 + i * 3) % 7 != 0 {
                s.push_str(&format!("u{u},film {i},{}\n", 1 + (u + 2 * i) % 5));
            }
        }
    }
    s
}

/// A scratch folder holding `ratings.csv` with `text`; returns (folder, file).
fn ratings_file(name: &str, text: &[u8]) -> (PathBuf, PathBuf) {
    let dir = scratch(&format!("collab-{name}"));
    let file = dir.join("ratings.csv");
    std::fs::write(&file, text).unwrap();
    (dir, file)
}

/// `train --ratings FILE --epochs 1 --out DIR/run` and `extra`.
fn train(file: &Path, dir: &Path, extra: &[&str]) -> Command {
    let mut c = cli();
    c.args(["train", "--ratings"]).arg(file).args(["--epochs", "1", "--bs", "32", "--out"]).arg(dir.join("run")).args(extra);
    c
}

/// A small dot-product model trained once for the tests that need one (read-only).
fn model() -> &'static Path {
    static MODEL: OnceLock<PathBuf> = OnceLock::new();
    MODEL.get_or_init(|| {
        let (dir, file) = ratings_file("model", good_ratings().as_bytes());
        let out = train(&file, &dir, &["--n-factors", "4"]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        dir.join("run/model.safetensors")
    })
}

/// A copy of the trained model in its own scratch folder.
fn model_copy(name: &str) -> (PathBuf, PathBuf) {
    let dir = scratch(&format!("collab-{name}"));
    let path = dir.join("model.safetensors");
    std::fs::copy(model(), &path).unwrap();
    (dir, path)
}

fn recommend(model: &Path, user: &str) -> Command {
    let mut c = cli();
    c.args(["recommend", "--model"]).arg(model).args(["--user", user]);
    c
}

#[test]
fn a_missing_user_column_is_named_with_the_file() {
    let (dir, file) = ratings_file("no-user", good_ratings().as_bytes());
    fails(train(&file, &dir, &["--user", "customer"]), &[&dir], &["'customer'", "ratings.csv"]);
}

#[test]
fn a_missing_item_column_is_named_with_the_file() {
    let (dir, file) = ratings_file("no-item", good_ratings().as_bytes());
    fails(train(&file, &dir, &["--item", "movie"]), &[&dir], &["'movie'", "ratings.csv"]);
}

#[test]
fn a_missing_rating_column_is_named_with_the_file() {
    let (dir, file) = ratings_file("no-rating", good_ratings().as_bytes());
    fails(train(&file, &dir, &["--rating", "stars"]), &[&dir], &["'stars'", "ratings.csv"]);
    // Without --rating the third column is the rating: a two-column table has none.
    let (dir, file) = ratings_file("two-columns", b"user,item\nu1,a\nu2,b\n");
    fails(train(&file, &dir, &[]), &[&dir], &["ratings.csv", "no rating column"]);
}

#[test]
fn a_rating_that_is_not_a_number_is_named_by_row() {
    let (dir, file) = ratings_file("text-rating", b"user,item,rating\nu1,a,4\nu1,b,great\nu2,a,3\n");
    fails(train(&file, &dir, &[]), &[&dir], &["ratings.csv", "row 2", "great"]);
}

#[test]
fn nan_and_infinite_ratings_are_named_by_row() {
    let (dir, file) = ratings_file("nan-rating", b"user,item,rating\nu1,a,4\nu2,b,3\nu1,b,NaN\n");
    fails(train(&file, &dir, &[]), &[&dir], &["ratings.csv", "row 3", "'rating'"]);
    let (dir, file) = ratings_file("inf-rating", b"user,item,rating\nu1,a,inf\nu2,b,3\nu1,b,2\n");
    fails(train(&file, &dir, &[]), &[&dir], &["ratings.csv", "row 1", "'rating'"]);
}

#[test]
fn an_empty_ratings_file_is_named() {
    let (dir, file) = ratings_file("empty", b"");
    fails(train(&file, &dir, &[]), &[&dir], &["ratings.csv"]);
    let (dir, file) = ratings_file("header-only", b"user,item,rating\n");
    fails(train(&file, &dir, &[]), &[&dir], &["ratings.csv", "no ratings"]);
}

#[test]
fn a_ragged_csv_is_named() {
    let (dir, file) = ratings_file("ragged", b"user,item,rating\nu1,a,4\nu2,b,3,extra,fields\nu3,c\n");
    fails(train(&file, &dir, &[]), &[&dir], &["ratings.csv"]);
}

#[test]
fn a_csv_that_is_not_utf8_is_named() {
    let (dir, file) = ratings_file("latin1", b"user,item,rating\nu1,caf\xe9,4\nu2,na\xefve,3\n");
    fails(train(&file, &dir, &[]), &[&dir], &["ratings.csv"]);
}

#[test]
fn a_missing_ratings_file_is_named() {
    let dir = scratch("collab-no-file");
    fails(train(&dir.join("nowhere.csv"), &dir, &[]), &[&dir], &["nowhere.csv"]);
}

#[test]
fn zero_factors_are_refused_at_train_time() {
    let (dir, file) = ratings_file("zero-factors", good_ratings().as_bytes());
    fails(train(&file, &dir, &["--n-factors", "0"]), &[&dir], &["--n-factors"]);
    assert!(!dir.join("run").exists(), "a refused run leaves no run folder");
}

#[test]
fn flags_that_would_be_ignored_are_refused() {
    let (dir, file) = ratings_file("ignored", good_ratings().as_bytes());
    // --sep and --no-header describe --ratings: a fetched data set's layout is known.
    let mut c = cli();
    c.args(["train", "--dataset", "ml_sample", "--sep", ";", "--out"]).arg(dir.join("run"));
    fails(c, &[&dir], &["--sep", "--dataset"]);
    let mut c = cli();
    c.args(["lr-find", "--dataset", "ml_100k", "--no-header", "--out"]).arg(dir.join("lr"));
    fails(c, &[&dir], &["--no-header", "--dataset"]);
    // The neural model has no --n-factors, the dot-product one no --layers.
    fails(train(&file, &dir, &["--use-nn", "--n-factors", "8"]), &[&dir], &["--n-factors", "--use-nn"]);
    fails(train(&file, &dir, &["--layers", "20,10"]), &[&dir], &["--layers", "--use-nn"]);
    // --titles-sep describes --titles.
    let mut c = cli();
    c.args(["analyze", "--model"]).arg(model()).args(["--titles-sep", ";", "--out"]).arg(&dir);
    fails(c, &[&dir], &["--titles-sep", "--titles"]);
}

#[test]
fn bad_model_flags_are_named() {
    let (dir, file) = ratings_file("model-flags", good_ratings().as_bytes());
    fails(train(&file, &dir, &["--layers", "20,0", "--use-nn"]), &[&dir], &["--layers"]);
    fails(train(&file, &dir, &["--y-range", "5,1"]), &[&dir], &["--y-range"]);
    fails(train(&file, &dir, &["--y-range", "0,inf"]), &[&dir], &["--y-range"]);
    fails(train(&file, &dir, &["--valid-pct", "0"]), &[&dir], &["--valid-pct"]);
    fails(train(&file, &dir, &["--valid-pct", "1.5"]), &[&dir], &["--valid-pct"]);
    fails(train(&file, &dir, &["--wd", "NaN"]), &[&dir], &["--wd"]);
    fails(train(&file, &dir, &["--wd", "-1"]), &[&dir], &["--wd"]);
}

#[test]
fn bad_shared_training_flags_are_named() {
    let (dir, file) = ratings_file("train-flags", good_ratings().as_bytes());
    fails(train(&file, &dir, &["--bs", "0"]), &[&dir], &["--bs"]);
    fails(train(&file, &dir, &["--epochs", "0"]), &[&dir], &["--epochs"]);
    fails(train(&file, &dir, &["--lr", "NaN"]), &[&dir], &["--lr"]);
    fails(train(&file, &dir, &["--lr", "-0.01"]), &[&dir], &["--lr"]);
}

#[test]
fn an_out_folder_that_is_a_file_is_refused() {
    let (dir, file) = ratings_file("out-file", good_ratings().as_bytes());
    std::fs::write(dir.join("run"), "not a folder").unwrap();
    fails(train(&file, &dir, &[]), &[&dir], &["--out", "run"]);
}

#[test]
fn an_unknown_user_is_named() {
    fails(recommend(model(), "nobody"), &[model()], &["'nobody'", "training data"]);
}

#[test]
fn an_unknown_item_is_named() {
    let mut c = cli();
    c.args(["similar", "--model"]).arg(model()).args(["--item", "No Such Film"]);
    fails(c, &[model()], &["'No Such Film'", "training data"]);
}

#[test]
fn a_model_file_of_another_task_is_named() {
    use burn::module::Module;
    let dir = scratch("collab-other-task");
    let path = dir.join("tabular.safetensors");
    let linear = burn::nn::LinearConfig::new(3, 2).init(&burn::tensor::Device::flex());
    let header = kindling_core::export::ModelHeader::new("tabular", serde_json::json!({}), serde_json::json!({}), vec!["a".into(), "b".into()]);
    kindling_core::export::export(&path, &linear.valid(), &header).unwrap();
    fails(recommend(&path, "u1"), &[&dir], &["tabular.safetensors", "a tabular model"]);
}

#[test]
fn missing_zero_byte_and_truncated_model_files_are_named() {
    let dir = scratch("collab-missing-model");
    fails(recommend(&dir.join("absent.safetensors"), "u1"), &[&dir], &["absent.safetensors"]);
    std::fs::write(dir.join("empty.safetensors"), b"").unwrap();
    fails(recommend(&dir.join("empty.safetensors"), "u1"), &[&dir], &["empty.safetensors"]);
    let (dir, path) = model_copy("truncated");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
    fails(recommend(&path, "u1"), &[&dir], &["model.safetensors", "truncated"]);
}

#[test]
fn a_model_file_with_flipped_bytes_fails_its_checksum() {
    let (dir, path) = model_copy("flipped");
    let mut bytes = std::fs::read(&path).unwrap();
    let k = bytes.len() - 10;
    bytes[k] ^= 0x55;
    std::fs::write(&path, &bytes).unwrap();
    fails(recommend(&path, "u1"), &[&dir], &["model.safetensors", "checksum"]);
}

/// A copy of the model whose header `edit` changed, with its checksum recomputed as a
/// hand-edit with the right tool would leave it.
fn edited_model(name: &str, edit: impl FnOnce(&mut kindling_core::export::ModelHeader)) -> (PathBuf, PathBuf) {
    let dir = scratch(&format!("collab-{name}"));
    let path = dir.join("edited.safetensors");
    let (mut header, _) = kindling_core::export::read(model()).unwrap();
    edit(&mut header);
    kindling_core::export::reheader(model(), &path, &header).unwrap();
    (dir, path)
}

#[test]
fn header_edited_model_files_name_the_field() {
    // The last user's `seen` list dropped: recommending for them indexed past the end.
    let (dir, path) = edited_model("edit-seen", |h| {
        h.preprocessing["seen"].as_array_mut().unwrap().pop();
    });
    fails(recommend(&path, "u9"), &[&dir], &["edited.safetensors", "preprocessing.seen"]);
    // An item count dropped: analyze indexed past the end.
    let (dir, path) = edited_model("edit-counts", |h| {
        h.preprocessing["item_counts"].as_array_mut().unwrap().pop();
    });
    let mut c = cli();
    c.args(["analyze", "--model"]).arg(&path).arg("--out").arg(dir.join("analysis"));
    fails(c, &[&dir], &["edited.safetensors", "preprocessing.item_counts"]);
    // One more item than the embedding has rows: `similar` sliced past the factors.
    let (dir, path) = edited_model("edit-items", |h| {
        h.preprocessing["items"]["ids"].as_array_mut().unwrap().push("film 99".into());
    });
    let mut c = cli();
    c.args(["similar", "--model"]).arg(&path).args(["--item", "film 99"]);
    fails(c, &[&dir], &["edited.safetensors", "preprocessing.items.ids"]);
    // A size that does not match the weights is refused before a model is built.
    let (dir, path) = edited_model("edit-users", |h| h.arch["n_users"] = serde_json::json!(1u64 << 40));
    fails(recommend(&path, "u1"), &[&dir], &["edited.safetensors", "arch.n_users"]);
}

#[test]
fn bad_pairs_and_titles_files_are_named() {
    let dir = scratch("collab-pairs");
    let mut c = cli();
    c.args(["predict", "--model"]).arg(model()).arg("--pairs").arg(dir.join("pairs.csv")).arg("--out").arg(dir.join("p.csv"));
    fails(c, &[&dir, model()], &["pairs.csv"]);
    std::fs::write(dir.join("pairs.csv"), "who\nu1\n").unwrap();
    let mut c = cli();
    c.args(["predict", "--model"]).arg(model()).arg("--pairs").arg(dir.join("pairs.csv")).arg("--out").arg(dir.join("p.csv"));
    fails(c, &[&dir, model()], &["pairs.csv", "'item'"]);
    let titles = dir.join("titles.tsv");
    std::fs::write(&titles, "film 1\nfilm 2\n").unwrap();
    let mut c = cli();
    c.args(["analyze", "--model"]).arg(model()).arg("--titles").arg(&titles).arg("--out").arg(&dir);
    fails(c, &[&dir, model()], &["titles.tsv", "title column"]);
}

#[test]
fn collab_train_without_data_names_both_sources() {
    let mut c = cli();
    c.arg("train");
    fails(c, &[], &["--ratings <RATINGS>", "--dataset <DATASET>"]);
}
