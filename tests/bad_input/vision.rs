//! Bad input for the vision command line: every case runs the real `vision-cli` binary and must
//! fail with a message naming the file, header field or flag at fault, without a panic and
//! without touching its inputs.
//!
//! A JPEG saved with a `.png` name is not among them: as PIL (and so fastai) does, kindling reads
//! the format from the bytes, and such a file loads (`a_jpeg_named_png_loads_by_its_content` in
//! `crates/vision/src/data/decode.rs`). A `.png` holding text is the bad case instead.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use kindling_core::data::idx::IdxArray;
use kindling_core::export;
use kindling_tests::bad_input::{fails, scratch};
use kindling_tests::{repo_root, shared};

fn cli() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vision-cli"))
}

fn mnist37() -> PathBuf {
    repo_root().join("datasets/mnist-3-7")
}

/// The flags of the tiny training run the model-file cases share.
const TINY: [&str; 12] = ["--arch", "resnet18-small", "--limit-train", "64", "--limit-valid", "32", "--epochs", "1", "--bs", "32", "--seed", "5"];

/// A one-epoch resnet18-small on 64 digits of the committed 3-vs-7 sample, trained once for the
/// cases that need a model file (read-only: each case edits a copy).
fn model() -> &'static Path {
    static MODEL: OnceLock<PathBuf> = OnceLock::new();
    MODEL.get_or_init(|| {
        let dir = scratch("vision-model");
        let out = cli().args(["train", "--mnist"]).arg(mnist37()).args(TINY).arg("--no-aug").arg("--out").arg(dir.join("run")).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        dir.join("run/model.safetensors")
    })
}

/// CRC-32 (IEEE), as PNG chunks and gzip trailers carry it.
fn crc32(bytes: &[u8]) -> u32 {
    !bytes.iter().fold(!0u32, |mut c, &b| {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 == 1 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 };
        }
        c
    })
}

/// `bytes` as a gzip file of stored (uncompressed) deflate blocks.
fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let chunks: Vec<&[u8]> = if bytes.is_empty() { vec![&[][..]] } else { bytes.chunks(65_535).collect() };
    for (i, c) in chunks.iter().enumerate() {
        out.push(u8::from(i + 1 == chunks.len()));
        out.extend((c.len() as u16).to_le_bytes());
        out.extend((!(c.len() as u16)).to_le_bytes());
        out.extend_from_slice(c);
    }
    out.extend(crc32(bytes).to_le_bytes());
    out.extend((bytes.len() as u32).to_le_bytes());
    out
}

/// An idx file of unsigned bytes: the header for `dims`, then `data`.
fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut out = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        out.extend(d.to_be_bytes());
    }
    out.extend_from_slice(data);
    out
}

/// A folder holding one images/labels idx pair (gzipped, as `--mnist` reads them).
fn idx_pair(name: &str, images: &[u8], labels: &[u8]) -> PathBuf {
    let dir = scratch(&format!("vision-{name}"));
    std::fs::write(dir.join("images-idx3-ubyte.gz"), gzip(images)).unwrap();
    std::fs::write(dir.join("labels-idx1-ubyte.gz"), gzip(labels)).unwrap();
    dir
}

/// A small PNG of one colour.
fn png(w: u32, h: u32, shade: u8) -> Vec<u8> {
    let img = image::DynamicImage::ImageRgb8(image::RgbImage::from_pixel(w, h, image::Rgb([shade, 255 - shade, shade / 2])));
    let mut out = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
    out
}

/// A folder of 8×8 PNGs, 6 in each of `classes`, labelled by their parent folder.
fn image_folder(name: &str, classes: &[&str]) -> PathBuf {
    let dir = scratch(&format!("vision-{name}"));
    for (k, class) in classes.iter().enumerate() {
        std::fs::create_dir_all(dir.join(class)).unwrap();
        for i in 0..6u8 {
            std::fs::write(dir.join(class).join(format!("{i}.png")), png(8, 8, (k as u8) * 100 + i * 10)).unwrap();
        }
    }
    dir
}

/// `train --images DIR --size 8 …` with `extra`, writing into DIR's sibling `run`.
fn train_images(dir: &Path, extra: &[&str]) -> Command {
    let mut c = cli();
    c.args(["train", "--images"]).arg(dir).args(["--arch", "resnet18-small", "--size", "8", "--epochs", "1", "--out"]).arg(dir.with_extension("run")).args(extra);
    c
}

/// A folder of good images plus `bad` written as `cat/<name>`: training refuses before it
/// starts, naming the file and saying `why`.
fn one_bad_image(name: &str, bad: &[u8], why: &str) {
    let dir = image_folder(&format!("bad-{name}"), &["cat", "dog"]);
    std::fs::write(dir.join("cat").join(name), bad).unwrap();
    fails(train_images(&dir, &[]), &[&dir], &[name, why]);
}

#[test]
fn a_corrupt_image_is_named() {
    let mut bytes = png(8, 8, 1)[..16].to_vec();
    bytes.extend(b"\x00\x00garbage where the image data should be, and more garbage".iter());
    one_bad_image("corrupt.png", &bytes, "corrupt.png");
}

#[test]
fn a_zero_byte_image_is_named() {
    one_bad_image("empty.png", b"", "empty file");
}

#[test]
fn a_truncated_png_is_named() {
    let img = image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(64, 64, |x, y| image::Rgb([(x * 4) as u8, (y * 4) as u8, (x ^ y) as u8])));
    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png).unwrap();
    one_bad_image("truncated.png", &bytes[..bytes.len() / 2], "corrupt or truncated");
}

#[test]
fn a_png_declaring_100000_by_100000_pixels_is_refused_before_decoding() {
    let mut bytes = png(1, 1, 0);
    bytes[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    bytes[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    one_bad_image("huge.png", &bytes, "100000×100000 pixels is more than");
}

#[test]
fn a_png_that_holds_text_is_named() {
    one_bad_image("notes.png", b"these are my notes, not pixels\n", "not an image");
}

#[test]
fn an_idx_file_with_a_zero_dimension_is_refused() {
    let dir = idx_pair("idx-zero", &idx(&[2, 0, 28], &[]), &idx(&[2], &[3, 7]));
    let mut c = cli();
    c.args(["train", "--mnist"]).arg(&dir).args(["--epochs", "1", "--out"]).arg(dir.join("run"));
    fails(c, &[&dir.join("images-idx3-ubyte.gz")], &["images-idx3-ubyte.gz", "0×28 pixels"]);
}

#[test]
fn an_idx_file_with_huge_dimensions_is_refused() {
    for (name, dims) in [("idx-huge", [u32::MAX, 28, 28]), ("idx-overflow", [u32::MAX, u32::MAX, u32::MAX])] {
        let dir = idx_pair(name, &idx(&dims, &[1, 2, 3]), &idx(&[2], &[3, 7]));
        let mut c = cli();
        c.args(["train", "--mnist"]).arg(&dir).args(["--epochs", "1", "--out"]).arg(dir.join("run"));
        fails(c, &[&dir.join("images-idx3-ubyte.gz")], &["images-idx3-ubyte.gz", "idx header"]);
    }
}

#[test]
fn a_size_of_zero_is_refused_by_name() {
    let dir = image_folder("size0", &["cat", "dog"]);
    for method in ["crop", "pad"] {
        let mut c = cli();
        c.args(["train", "--images"]).arg(&dir).args(["--size", "0", "--method", method, "--out"]).arg(dir.with_extension("run"));
        fails(c, &[&dir], &["--size"]);
    }
    let mut c = cli();
    c.args(["show-batch", "--mnist"]).arg(mnist37()).args(["--size", "0", "--out"]).arg(dir.with_extension("png"));
    fails(c, &[&mnist37()], &["--size"]);
}

#[test]
fn a_single_class_folder_is_refused() {
    let dir = image_folder("one-class", &["cat"]);
    let stderr = fails(train_images(&dir, &[]), &[&dir], &["at least two classes", "cat"]);
    assert!(stderr.contains(&dir.display().to_string()), "{stderr}");
}

#[test]
fn an_empty_folder_is_refused() {
    let dir = scratch("vision-empty");
    fails(train_images(&dir, &[]), &[&dir], &["no images found", &dir.display().to_string()]);
}

#[test]
fn an_empty_validation_set_is_refused_naming_the_flag() {
    let dir = image_folder("no-valid", &["cat", "dog"]);
    fails(train_images(&dir, &["--valid-pct", "0"]), &[&dir], &["validation set is empty", "--valid-pct 0"]);
    let mut c = cli();
    c.args(["train", "--mnist"]).arg(mnist37()).args(["--limit-valid", "0", "--epochs", "1", "--out"]).arg(dir.with_extension("run"));
    fails(c, &[&mnist37()], &["validation set is empty", "--limit-valid 0"]);
}

/// Flags that once were silently ignored: each either acts or is refused by name.
#[test]
fn flags_that_cannot_act_are_refused_by_name() {
    let dir = image_folder("flags", &["cat", "dog"]);
    // Two sources: --dataset used to win over --images without a word.
    let mut c = cli();
    c.args(["train", "--dataset", "pets", "--images"]).arg(&dir).arg("--out").arg(dir.with_extension("run"));
    fails(c, &[&dir], &["--dataset", "--images"]);
    let mut c = cli();
    c.args(["train", "--mnist"]).arg(mnist37()).arg("--images").arg(&dir).arg("--out").arg(dir.with_extension("run"));
    fails(c, &[&dir, &mnist37()], &["--mnist", "--images"]);
    // --valid-pct cannot move a split made by train/valid folders or by idx files.
    let split = scratch("vision-folders");
    for (part, class) in [("train", "cat"), ("train", "dog"), ("valid", "cat"), ("valid", "dog")] {
        std::fs::create_dir_all(split.join(part).join(class)).unwrap();
        std::fs::write(split.join(part).join(class).join("a.png"), png(8, 8, 9)).unwrap();
    }
    fails(train_images(&split, &["--valid-pct", "0.5"]), &[&split], &["--valid-pct", "train/valid folders"]);
    let mut c = cli();
    c.args(["train", "--mnist"]).arg(shared().join("data/fashion-mnist")).args(["--valid-pct", "0.3", "--out"]).arg(dir.with_extension("run"));
    fails(c, &[], &["--valid-pct", "t10k-*"]);
    // A label regex and a labels CSV are two ways to label: one at a time.
    std::fs::write(dir.join("labels.csv"), "file,label\ncat/0.png,cat\ndog/0.png,dog\n").unwrap();
    let mut c = cli();
    c.args(["train", "--images"]).arg(&dir).args(["--label-regex", "(.+)", "--labels-csv"]).arg(dir.join("labels.csv")).arg("--out").arg(dir.with_extension("run"));
    fails(c, &[&dir], &["--label-regex", "--labels-csv"]);
}

#[test]
fn a_labels_csv_naming_a_missing_file_is_refused_by_name() {
    let dir = image_folder("csv-missing", &["cat", "dog"]);
    let csv = dir.with_extension("csv");
    std::fs::write(&csv, "file,label\ncat/0.png,cat\ndog/0.png,dog\ndog/gone.png,dog\n").unwrap();
    let mut c = cli();
    // The CSV lies outside the folder: --images gives the folder its paths are relative to.
    c.args(["train", "--images"]).arg(&dir).arg("--labels-csv").arg(&csv).args(["--size", "8", "--out"]).arg(dir.with_extension("run"));
    fails(c, &[&dir, &csv], &["gone.png"]);
}

#[test]
fn predicting_a_missing_image_names_it() {
    let mut c = cli();
    c.args(["predict", "--model"]).arg(model()).arg(mnist37().join("no-such-digit.png"));
    fails(c, &[model()], &["no-such-digit.png"]);
}

/// A copy of the model in its own folder with its header changed by `edit` (the checksum made
/// right again, as a careful hand-editor would).
fn edited_model(name: &str, edit: impl Fn(&mut export::ModelHeader)) -> (PathBuf, PathBuf) {
    let dir = scratch(&format!("vision-{name}"));
    let (mut header, _) = export::read(model()).unwrap();
    edit(&mut header);
    let path = dir.join("model.safetensors");
    export::reheader(model(), &path, &header).unwrap();
    (dir, path)
}

fn predict_digit(model: &Path) -> (Command, PathBuf) {
    let img = shared().join("data/photos/chelsea.png");
    let mut c = cli();
    c.args(["predict", "--model"]).arg(model).arg(&img);
    (c, img)
}

#[test]
fn a_model_file_of_another_task_is_refused() {
    let (_, path) = edited_model("wrong-task", |h| h.task = "tabular".into());
    let (c, img) = predict_digit(&path);
    fails(c, &[&path, &img], &["model.safetensors", "a tabular model, not an image classifier"]);
}

#[test]
fn a_truncated_model_file_is_refused() {
    let dir = scratch("vision-model-cut");
    let bytes = std::fs::read(model()).unwrap();
    let path = dir.join("cut.safetensors");
    std::fs::write(&path, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let (c, img) = predict_digit(&path);
    fails(c, &[&path, &img], &["cut.safetensors", "truncated"]);
}

/// Each edit names its field: a header is trusted only as far as it agrees with the tensors.
#[test]
fn a_header_edited_model_file_is_refused_naming_the_field() {
    type Edit = fn(&mut export::ModelHeader);
    let cases: [(&str, Edit, &str); 6] = [
        ("classes", |h| h.classes.push("9".into()), "`classes`"),
        ("channels", |h| h.preprocessing["channels"] = 3.into(), "`preprocessing.channels`"),
        ("size", |h| h.preprocessing["size"] = 0.into(), "`preprocessing.size`"),
        ("mean", |h| h.preprocessing["normalize"]["mean"] = serde_json::json!([0.1, 0.2]), "`preprocessing.normalize.mean`"),
        ("n-classes", |h| h.arch["body"]["resnet"]["num_classes"] = 3.into(), "`arch.body.resnet.num_classes`"),
        ("layers", |h| h.arch["body"]["resnet"]["layers"] = serde_json::json!([2, 2, 2, 4000000000u64]), "`arch.body.resnet.layers`"),
    ];
    for (name, edit, field) in cases {
        let (_, path) = edited_model(&format!("edit-{name}"), edit);
        let (c, img) = predict_digit(&path);
        fails(c, &[&path, &img], &["model.safetensors", field]);
    }
}

/// `interpret` on the model's data and flags, with `extra`.
fn interpret(model: &Path, data: &Path, extra: &[&str]) -> Command {
    let mut c = cli();
    c.args(["interpret", "--model"]).arg(model).arg("--mnist").arg(data).args(extra);
    c
}

#[test]
fn interpreting_with_another_seed_is_refused_naming_the_seed() {
    let dir = scratch("vision-interp-seed");
    let out = dir.join("interp");
    fails(interpret(model(), &mnist37(), &["--seed", "7", "--out", out.to_str().unwrap()]), &[model(), &mnist37()], &["--seed 5, not 7"]);
    assert!(!out.exists(), "nothing is written when the split is refused");
}

#[test]
fn interpreting_other_flags_or_changed_data_is_refused() {
    fails(interpret(model(), &mnist37(), &["--limit-train", "48"]), &[model(), &mnist37()], &["--limit-train 64", "--limit-train 48"]);
    fails(interpret(model(), &mnist37(), &["--valid-pct", "0.3"]), &[model(), &mnist37()], &["--valid-pct 0.2", "--valid-pct 0.3"]);
    fails(interpret(model(), &mnist37(), &["--size", "32"]), &[model(), &mnist37()], &["--size", "28×28"]);
    // The same flags on images that changed (every pixel inverted): not the model's validation set.
    let src = IdxArray::read(&mnist37().join("images-idx3-ubyte.gz")).unwrap();
    let labels = IdxArray::read(&mnist37().join("labels-idx1-ubyte.gz")).unwrap();
    let dims: Vec<u32> = src.dims.iter().map(|&d| d as u32).collect();
    let inverted: Vec<u8> = src.data.iter().map(|p| 255 - p).collect();
    let changed = idx_pair("interp-changed", &idx(&dims, &inverted), &idx(&[labels.dims[0] as u32], &labels.data));
    fails(interpret(model(), &changed, &[]), &[model(), &changed], &["model.safetensors", "the data changed"]);
}

#[test]
fn an_interpret_output_folder_that_is_a_file_is_refused() {
    let dir = scratch("vision-interp-out");
    let file = dir.join("not-a-folder");
    std::fs::write(&file, b"keep me").unwrap();
    fails(interpret(model(), &mnist37(), &["--out", file.to_str().unwrap()]), &[model(), &mnist37(), &dir], &["not-a-folder"]);
}
