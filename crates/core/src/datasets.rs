//! Where fetched data sets live: `$KINDLING_HOME/data/<folder>` (default `~/.kindling`), as
//! `cargo xtask fetch` unpacks them. Task binaries take `--dataset NAME` and read their files
//! from here.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// The cache root: `$KINDLING_HOME`, or `~/.kindling`.
pub fn home() -> PathBuf {
    std::env::var_os("KINDLING_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(".")).join(".kindling"))
}

/// The unpacked folder of data set `name` (which unpacks to `folder`), or an error that says
/// how to fetch it.
pub fn dataset_dir(name: &str, folder: &str) -> Result<PathBuf> {
    let dir = home().join("data").join(folder);
    if dir.is_dir() {
        Ok(dir)
    } else {
        Err(Error::Data(format!("data set '{name}' is not in the cache ({}): run `cargo xtask fetch {name}` first", dir.display())))
    }
}
