//! `cargo xtask check-debug`: the bad-input suite built in the debug profile. Release builds
//! wrap on integer overflow; debug builds panic, so this finds an overflow a hostile input can
//! cause (a huge image dimension, an empty slice's `len() - 1`) that the release suite cannot.

use std::process::Command;

/// Runs `cargo test --profile dev -p kindling-tests --test bad_input` in the workspace and
/// fails when it does.
pub fn run() -> Result<(), String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    println!("building and running tests/bad_input in the debug profile (the first build compiles every dependency unoptimised)");
    let status = Command::new(cargo)
        .current_dir(&root)
        .args(["test", "--profile", "dev", "-p", "kindling-tests", "--test", "bad_input"])
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() { Ok(()) } else { Err(format!("the bad-input suite failed in the debug profile ({status})")) }
}
