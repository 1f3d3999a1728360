//! One self-describing model file: the weights as safetensors, with a JSON header in the
//! safetensors metadata that says what the model is (task, architecture config), how to prepare
//! its inputs (vocabularies, normalisation statistics), its class names, the kindling version
//! and a SHA-256 of the weights. Loading never executes anything from the file, and a corrupt
//! or truncated file is refused with a message that names it.

use std::path::Path;

use burn::module::Module;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The metadata key holding the JSON header.
const HEADER_KEY: &str = "kindling";
/// The metadata key holding the SHA-256 of the tensor data.
const CHECKSUM_KEY: &str = "kindling.sha256";
/// The format name written in every header.
pub const FORMAT: &str = "kindling-model";
/// The header layout version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// What a model file says about itself.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ModelHeader {
    /// Always [`FORMAT`].
    pub format: String,
    /// Header layout version.
    pub format_version: u32,
    /// The kindling version that wrote the file.
    pub kindling_version: String,
    /// The task crate that can rebuild the model (`tabular`, `vision` …).
    pub task: String,
    /// The architecture's configuration, enough to rebuild the model before loading weights.
    pub arch: serde_json::Value,
    /// Preprocessing state fitted on the training data.
    pub preprocessing: serde_json::Value,
    /// Class names in output order (empty for regression).
    pub classes: Vec<String>,
}

impl ModelHeader {
    /// A header for `task` with this build's version.
    pub fn new(task: &str, arch: serde_json::Value, preprocessing: serde_json::Value, classes: Vec<String>) -> Self {
        Self {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            kindling_version: env!("CARGO_PKG_VERSION").into(),
            task: task.into(),
            arch,
            preprocessing,
            classes,
        }
    }
}

/// The model's weights as safetensors bytes, with `metadata` entries.
pub fn weights_to_bytes<M: Module>(model: &M, metadata: &[(&str, String)]) -> Result<Vec<u8>> {
    let mut store = SafetensorsStore::from_bytes(None);
    for (k, v) in metadata {
        store = store.metadata(*k, v.clone());
    }
    model.save_into(&mut store).map_err(|e| Error::Data(format!("cannot serialise the model: {e}")))?;
    let bytes = store.get_bytes().map_err(|e| Error::Data(format!("cannot serialise the model: {e}")))?;
    canonical(bytes)
}

/// The same safetensors file with its JSON header's keys sorted, so that the same weights and
/// metadata always give the same bytes (safetensors keeps metadata in a hash map).
fn canonical(bytes: Vec<u8>) -> Result<Vec<u8>> {
    let bad = |r: String| Error::Data(format!("cannot serialise the model: {r}"));
    let n = u64::from_le_bytes(bytes.get(..8).ok_or_else(|| bad("empty".into()))?.try_into().expect("8 bytes")) as usize;
    let header = bytes.get(8..8 + n).ok_or_else(|| bad("short header".into()))?;
    // serde_json's map is ordered by key.
    let value: serde_json::Value = serde_json::from_slice(header).map_err(|e| bad(e.to_string()))?;
    let mut json = serde_json::to_vec(&value).map_err(|e| bad(e.to_string()))?;
    while json.len() % 8 != 0 {
        json.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + json.len() + bytes.len() - 8 - n);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&bytes[8 + n..]);
    Ok(out)
}

/// Loads weights saved by [`weights_to_bytes`] into `model`, which must have the same
/// structure: a missing, extra or mis-shaped tensor is an error naming `origin`.
pub fn weights_from_bytes<M: Module>(mut model: M, bytes: Vec<u8>, origin: &Path) -> Result<M> {
    data_section(&bytes, origin)?;
    let mut store = SafetensorsStore::from_bytes(Some(bytes));
    let result = model.load_from(&mut store).map_err(|e| Error::bad_file(origin, format!("cannot read weights: {e}")))?;
    if !result.errors.is_empty() {
        return Err(Error::bad_file(origin, format!("weights do not fit the model: {:?}", result.errors)));
    }
    if !result.missing.is_empty() {
        let names: Vec<_> = result.missing.iter().map(|(p, _)| p.as_str()).collect();
        return Err(Error::bad_file(origin, format!("weights missing for: {}", names.join(", "))));
    }
    if !result.unused.is_empty() {
        return Err(Error::bad_file(origin, format!("weights for tensors the model does not have: {}", result.unused.join(", "))));
    }
    Ok(model)
}

/// The tensor data of a safetensors file (after its header), checking the lengths first.
fn data_section<'a>(bytes: &'a [u8], origin: &Path) -> Result<&'a [u8]> {
    let bad = |r: &str| Error::bad_file(origin, format!("not a kindling model file: {r}"));
    let n = bytes.get(..8).ok_or_else(|| bad("shorter than a header"))?;
    let n = u64::from_le_bytes(n.try_into().expect("8 bytes")) as usize;
    let end = 8usize.checked_add(n).filter(|&e| e <= bytes.len()).ok_or_else(|| bad("truncated header"))?;
    let (_, meta) = safetensors::SafeTensors::read_metadata(bytes).map_err(|e| bad(&format!("truncated or corrupt ({e})")))?;
    let data_len = meta.tensors().values().map(|t| t.data_offsets.1).max().unwrap_or(0);
    if bytes.len() - end < data_len {
        return Err(bad(&format!("truncated: {} bytes of tensor data, {} expected", bytes.len() - end, data_len)));
    }
    Ok(&bytes[end..])
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes `model` and `header` to `path` as one file, atomically.
pub fn export<M: Module>(path: &Path, model: &M, header: &ModelHeader) -> Result<()> {
    let json = serde_json::to_string(header).map_err(|e| Error::Data(format!("cannot serialise the header: {e}")))?;
    let first = weights_to_bytes(model, &[(HEADER_KEY, json.clone())])?;
    let checksum = sha256_hex(data_section(&first, path)?);
    let bytes = weights_to_bytes(model, &[(HEADER_KEY, json), (CHECKSUM_KEY, checksum)])?;
    crate::io::write_atomic(path, &bytes)
}

/// Writes `model` to `path` with a header for `task` built from its typed architecture
/// configuration and preprocessing state (each serialised as JSON).
pub fn export_task<M: Module, A: Serialize, P: Serialize>(
    path: &Path,
    model: &M,
    task: &str,
    arch: &A,
    preprocessing: &P,
    classes: Vec<String>,
) -> Result<()> {
    let json = |v: serde_json::Result<serde_json::Value>| v.map_err(|e| Error::Data(format!("cannot serialise the header: {e}")));
    let header = ModelHeader::new(task, json(serde_json::to_value(arch))?, json(serde_json::to_value(preprocessing))?, classes);
    export(path, &model.valid(), &header)
}

/// A model file opened for `task`: its typed architecture and preprocessing, its class names,
/// and the checked bytes to load the weights from with [`load`].
pub struct Opened<A, P> {
    /// The architecture configuration.
    pub arch: A,
    /// The preprocessing state.
    pub preprocessing: P,
    /// Class names.
    pub classes: Vec<String>,
    /// The whole file, checked.
    pub bytes: Vec<u8>,
}

/// Reads and checks a model file written by [`export_task`] for `task` (`what` names the task
/// in the error when the file holds another one).
pub fn open<A: serde::de::DeserializeOwned, P: serde::de::DeserializeOwned>(path: &Path, task: &str, what: &str) -> Result<Opened<A, P>> {
    let (header, bytes) = read(path)?;
    if header.task != task {
        return Err(Error::bad_file(path, format!("a {} model, not {what}", header.task)));
    }
    let arch = serde_json::from_value(header.arch).map_err(|e| Error::bad_file(path, format!("architecture: {e}")))?;
    let preprocessing = serde_json::from_value(header.preprocessing).map_err(|e| Error::bad_file(path, format!("preprocessing: {e}")))?;
    Ok(Opened { arch, preprocessing, classes: header.classes, bytes })
}

/// Reads and checks a model file: its header, and that the weights match their checksum.
/// Returns the header and the raw file for [`load`].
pub fn read(path: &Path) -> Result<(ModelHeader, Vec<u8>)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bad = |r: String| Error::bad_file(path, r);
    let data = data_section(&bytes, path)?;
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| bad(format!("not a kindling model file: {e}")))?;
    let md = meta.metadata().clone().unwrap_or_default();
    let json = md.get(HEADER_KEY).ok_or_else(|| bad("a safetensors file, but not one kindling wrote (no header)".into()))?;
    let header: ModelHeader = serde_json::from_str(json).map_err(|e| bad(format!("unreadable header: {e}")))?;
    if header.format != FORMAT || header.format_version > FORMAT_VERSION {
        return Err(bad(format!(
            "format {} v{} is not one this build reads ({FORMAT} v{FORMAT_VERSION})",
            header.format, header.format_version
        )));
    }
    let expected = md.get(CHECKSUM_KEY).ok_or_else(|| bad("no checksum in the header".into()))?;
    if sha256_hex(data) != *expected {
        return Err(bad("the weights do not match their checksum: the file is corrupt".into()));
    }
    Ok((header, bytes))
}

/// Loads the weights of a file checked by [`read`] into `model` (built from `header.arch`).
pub fn load<M: Module>(path: &Path, model: M, bytes: Vec<u8>) -> Result<M> {
    weights_from_bytes(model, bytes, path)
}
