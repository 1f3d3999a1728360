//! Crash and resume: a training process is killed (SIGKILL) after its first checkpoint, resumed
//! with `--resume`, and must end with the same weights and metrics as an uninterrupted run.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_mnist37");

fn train(out: &Path, extra: &[&str]) -> Command {
    let mut c = Command::new(BIN);
    c.args(["train", "--epochs", "4", "--seed", "7", "--hidden", "32", "--bs", "32", "--out"]).arg(out).args(extra);
    c.stdout(Stdio::null()).stderr(Stdio::piped());
    c
}

fn metrics_without_times(out: &Path) -> serde_json::Value {
    let mut m: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    for e in m["epochs"].as_array_mut().unwrap() {
        e.as_object_mut().unwrap().remove("seconds");
    }
    m["epochs"].clone()
}

#[test]
fn killed_run_resumes_to_the_uninterrupted_result() {
    let root = std::env::temp_dir().join(format!("kindling-resume-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let (full, crashed) = (root.join("full"), root.join("crashed"));

    let out = train(&full, &[]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // Pause after each epoch so the kill lands between epoch 1 and the end of the run.
    let mut child = train(&crashed, &["--epoch-pause-ms", "400"]).spawn().unwrap();
    let state = crashed.join("checkpoint/state.json");
    let start = Instant::now();
    while !state.exists() {
        assert!(start.elapsed() < Duration::from_secs(120), "no checkpoint appeared");
        assert!(child.try_wait().unwrap().is_none(), "the run ended before it could be killed");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let ck: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
    assert!(ck["epoch"].as_u64().unwrap() < 3, "killed before the last epoch: {ck}");
    assert!(!crashed.join("model.safetensors").exists());

    // Without --resume the run directory is protected.
    let again = train(&crashed, &[]).output().unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("--resume"));

    let out = train(&crashed, &["--resume"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    assert_eq!(metrics_without_times(&crashed), metrics_without_times(&full));
    let (_, a) = kindling_core::export::read(&full.join("model.safetensors")).unwrap();
    let (_, b) = kindling_core::export::read(&crashed.join("model.safetensors")).unwrap();
    assert!(a == b, "the resumed run's model file differs from the uninterrupted run's");
    std::fs::remove_dir_all(&root).unwrap();
}
