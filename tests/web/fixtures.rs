//! The test data: an image folder of MNIST threes and sevens with two sevens planted among the
//! validation threes, a small classifier trained on it (once per test run), and servers on
//! free ports.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use kindling_core::data::idx::IdxImages;
use kindling_tests::repo_root;

/// The sevens filed under `valid/3`, which the cleaner must rank first there.
pub const PLANTED: [&str; 2] = ["valid/3/planted_a.png", "valid/3/planted_b.png"];

/// A fresh, empty temporary folder for one test.
pub fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kindling-web-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Where tests write what a person would look at (screenshots).
pub fn output_dir() -> PathBuf {
    let d = repo_root().join("target/test-output/web");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn write_png(pixels: &[u8], path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::GrayImage::from_raw(28, 28, pixels.to_vec()).unwrap().save(path).unwrap();
}

/// Writes the folder: 160 training and 16 validation images of each digit, and the two
/// planted sevens in `valid/3`.
pub fn write_digits(dir: &Path) {
    let data = repo_root().join("datasets/mnist-3-7");
    let d = IdxImages::read(&data.join("images-idx3-ubyte.gz"), &data.join("labels-idx1-ubyte.gz")).unwrap();
    let mut counts = [0usize; 2];
    let mut planted = 0;
    for i in 0..d.len() {
        let c = usize::from(d.labels[i] == 7);
        let n = counts[c];
        let path = match n {
            0..160 => dir.join(format!("train/{}/{i}.png", d.labels[i])),
            160..176 => dir.join(format!("valid/{}/{i}.png", d.labels[i])),
            _ if c == 1 && planted < PLANTED.len() => {
                planted += 1;
                dir.join(PLANTED[planted - 1])
            }
            _ => continue,
        };
        counts[c] += 1;
        write_png(d.image(i), &path);
        if counts[0] >= 176 && counts[1] >= 176 && planted == PLANTED.len() {
            break;
        }
    }
}

/// The folder and the model trained on it, made once per test run.
pub struct Trained {
    /// The pristine folder (copy it before changing anything).
    pub digits: PathBuf,
    /// The model file.
    pub model: PathBuf,
}

/// The digits and a resnet18-small trained on them for four epochs by `kindling-vision train`.
pub fn trained() -> &'static Trained {
    static T: OnceLock<Trained> = OnceLock::new();
    T.get_or_init(|| {
        let root = tmp("fixture");
        let digits = root.join("digits");
        write_digits(&digits);
        let run = root.join("run");
        let o = Command::new(env!("CARGO_BIN_EXE_vision-cli"))
            .args(["train", "--images"])
            .arg(&digits)
            .args(["--arch", "resnet18-small", "--size", "28", "--no-aug", "--epochs", "4", "--bs", "32", "--lr", "3e-3", "--out"])
            .arg(&run)
            .output()
            .unwrap();
        let log = String::from_utf8_lossy(&o.stdout).to_string() + &String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{log}");
        assert!(log.contains("320 training and 34 validation images of 2 classes"), "{log}");
        Trained { digits, model: run.join("model.safetensors") }
    })
}

/// A copy of the digits folder for one test to change.
pub fn digits_copy(name: &str) -> PathBuf {
    let dst = tmp(name).join("digits");
    copy_dir(&trained().digits, &dst);
    dst
}

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap().flatten() {
        let to = dst.join(e.file_name());
        if e.path().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), &to).unwrap();
        }
    }
}

/// The cleaner's server for `images`, labelled by class folders, ranked by the trained model.
pub fn cleaner(images: &Path) -> kindling_web::http::background::Background {
    cleaner_of(images, None)
}

/// The cleaner's server for the images below `root` labelled by `labels_csv` (the labels-CSV
/// layout), ranked by the trained model.
pub fn csv_cleaner(root: &Path, labels_csv: &Path) -> kindling_web::http::background::Background {
    cleaner_of(root, Some(labels_csv))
}

/// The cleaner's server as `kindling-web clean` builds it, with or without a labels CSV.
fn cleaner_of(images: &Path, labels_csv: Option<&Path>) -> kindling_web::http::background::Background {
    let device = burn::tensor::Device::flex();
    let model = &trained().model;
    let p = kindling_vision::predict::VisionPredictor::load(model, &device).unwrap();
    let ranking = match labels_csv {
        Some(csv) => kindling_web::rank::Ranking::of_csv(&p, images, &kindling_web::clean::LabelsCsv::read(csv).unwrap(), &device).unwrap(),
        None => kindling_web::rank::Ranking::of_folder(&p, images, &device).unwrap(),
    };
    let state = kindling_web::cleaner::CleanState {
        images: images.to_path_buf(),
        model: kindling_web::clean::ModelStamp::of(model).unwrap(),
        ranking,
        csv: labels_csv.map(Path::to_path_buf),
    };
    kindling_web::http::background::Background::start(kindling_web::cleaner::router(state)).unwrap()
}

/// The model server for `source`.
pub fn server(source: kindling_web::serve::load::ModelSource, opts: kindling_web::serve::worker::BatchOptions) -> kindling_web::http::background::Background {
    let (q, info) = kindling_web::serve::load::load(&source, &burn::tensor::Device::flex(), opts).unwrap();
    kindling_web::http::background::Background::start(kindling_web::serve::router(kindling_web::serve::ServeState::new(q, info))).unwrap()
}

/// EfficientNet-Lite0 with ImageNet's classes, from the shared models.
pub fn efficientnet() -> kindling_web::serve::load::ModelSource {
    let dir = kindling_tests::shared().join("models/efficientnet-lite0");
    let classes = std::fs::read_to_string(dir.join("imagenet_classes.txt")).unwrap().lines().map(String::from).collect();
    kindling_web::serve::load::ModelSource::Pretrained { arch: "efficientnet-lite0".into(), weights: dir.join("efficientnet_lite0.safetensors"), classes }
}
