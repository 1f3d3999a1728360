//! The task binaries read fetched data sets (`--dataset NAME`) in the layouts their archives
//! unpack to, from `$KINDLING_HOME`. The fixtures here are small real extracts in those layouts.

use std::path::{Path, PathBuf};
use std::process::Command;

use kindling_tests::{repo_root, shared};

fn home(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("kindling-home-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn run(bin: &str, home: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(bin).env("KINDLING_HOME", home).args(args).output().unwrap();
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn tabular_reads_adult_sample_as_fastai_unpacks_it() {
    let h = home("adult");
    // fastai's adult_sample/adult.csv: a header, and a space after each separator.
    let sample = std::fs::read_to_string(repo_root().join("datasets/adult-sample/adult.csv")).unwrap();
    let text: String = sample.lines().take(600).map(|l| l.replace(',', ", ") + "\n").collect();
    write(&h.join("data/adult_sample/adult.csv"), &text);
    let out = h.join("run");
    let (ok, log) = run(env!("CARGO_BIN_EXE_tabular-cli"), &h, &["train", "--dataset", "adult_sample", "--epochs", "1", "--out", out.to_str().unwrap()]);
    assert!(ok, "{log}");
    assert!(log.contains("599 rows; target 'salary'"), "{log}");
    assert!(out.join("model.safetensors").exists());
    let (ok, log) = run(env!("CARGO_BIN_EXE_tabular-cli"), &home("empty"), &["train", "--dataset", "adult_sample", "--out", "/tmp/never"]);
    assert!(!ok && log.contains("cargo xtask fetch adult_sample"), "{log}");
    std::fs::remove_dir_all(h).unwrap();
}

#[test]
fn collab_reads_ml_100k_and_ml_sample_as_their_archives_unpack() {
    let h = home("ml");
    let inter = std::fs::read_to_string(shared().join("data/movielens-100k/ml-100k.inter")).unwrap();
    // ml-100k/u.data: user, item, rating, timestamp; tab separated; no header.
    let udata: String = inter.lines().skip(1).take(3000).map(|l| format!("{l}\n")).collect();
    write(&h.join("data/ml-100k/u.data"), &udata);
    // movie_lens_sample/ratings.csv: userId,movieId,rating,timestamp.
    let small = std::fs::read_to_string(repo_root().join("datasets/movielens-small/ratings.csv")).unwrap();
    let ratings: String = small.lines().take(3001).map(|l| l.splitn(5, ',').take(4).collect::<Vec<_>>().join(",") + "\n").collect();
    write(&h.join("data/movie_lens_sample/ratings.csv"), &ratings);
    for (name, expect) in [("ml_100k", "3000 ratings of 'item' by 'user' in 'rating'"), ("ml_sample", "3000 ratings of 'movieId' by 'userId'")] {
        let out = h.join(name);
        let (ok, log) = run(env!("CARGO_BIN_EXE_collab-cli"), &h, &["train", "--dataset", name, "--epochs", "1", "--out", out.to_str().unwrap()]);
        assert!(ok, "{name}: {log}");
        assert!(log.contains(expect), "{name}: {log}");
    }
    let (ok, log) = run(env!("CARGO_BIN_EXE_collab-cli"), &h, &["train", "--dataset", "netflix", "--out", "/tmp/never"]);
    assert!(!ok && log.contains("'netflix' is not a ratings data set"), "{log}");
    std::fs::remove_dir_all(h).unwrap();
}

#[test]
fn vision_reads_pets_and_mnist_sample_as_their_archives_unpack() {
    let h = home("vision");
    let photos = shared().join("data/photos");
    // oxford-iiit-pet/images: breeds in the file names.
    for (src, dst) in [("chelsea.png", "Abyssinian_1.jpg"), ("horse.png", "Abyssinian_2.jpg"), ("coffee.png", "beagle_10.jpg"), ("camera.png", "beagle_11.jpg"), ("rocket.jpg", "beagle_12.jpg")] {
        let img = image::open(photos.join(src)).unwrap().to_rgb8();
        let p = h.join("data/oxford-iiit-pet/images").join(dst);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        img.save(&p).unwrap();
    }
    let out = h.join("pets-run");
    let (ok, log) = run(env!("CARGO_BIN_EXE_vision-cli"), &h, &["train", "--dataset", "pets", "--arch", "resnet18-small", "--size", "32", "--valid-pct", "0.4", "--bs", "2", "--epochs", "1", "--out", out.to_str().unwrap()]);
    assert!(ok, "{log}");
    assert!(log.contains("3 training and 2 validation images of 2 classes"), "{log}");
    // mnist_sample/{train,valid}/{3,7}: labelled by folder, split by grandparent.
    for (split, digit, src) in [("train", "3", "chelsea.png"), ("train", "7", "coffee.png"), ("valid", "3", "horse.png"), ("valid", "7", "camera.png")] {
        let img = image::open(photos.join(src)).unwrap().to_luma8();
        let p = h.join("data/mnist_sample").join(split).join(digit).join("0.png");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        img.save(&p).unwrap();
    }
    let out = h.join("mnist-run");
    let (ok, log) = run(env!("CARGO_BIN_EXE_vision-cli"), &h, &["train", "--dataset", "mnist_sample", "--arch", "resnet18-small", "--size", "28", "--bs", "2", "--epochs", "1", "--out", out.to_str().unwrap()]);
    assert!(ok, "{log}");
    assert!(log.contains("2 training and 2 validation images of 2 classes"), "{log}");
    std::fs::remove_dir_all(h).unwrap();
}
