//! Writing and reading the model file: safetensors bytes with canonical metadata, a checksum
//! over the header and the weights, atomic writes, and checked reads.

use std::path::Path;

use burn::module::Module;
use burn::store::{ModuleSnapshot, SafetensorsStore};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::check::{HeaderCheck, TensorShapes};
use super::header::{FORMAT, FORMAT_VERSION, ModelHeader, SplitRecord};
use crate::error::{Error, Result};
use crate::hash::sha256_hex;

/// The metadata key holding the JSON header.
const HEADER_KEY: &str = "kindling";
/// The metadata key holding the checksum: SHA-256 of the header's JSON (length-prefixed) and
/// the tensor data (format version 2); of the tensor data alone in version 1 files.
const CHECKSUM_KEY: &str = "kindling.sha256";

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

/// The checksum of format version 2: the header JSON, length-prefixed, then the tensor data.
fn checksum(header_json: &str, data: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update((header_json.len() as u64).to_le_bytes());
    h.update(header_json.as_bytes());
    h.update(data);
    crate::hash::hex(&h.finalize())
}


/// Writes `model` and `header` to `path` as one file, atomically.
pub fn export<M: Module>(path: &Path, model: &M, header: &ModelHeader) -> Result<()> {
    let json = serde_json::to_string(header).map_err(|e| Error::Data(format!("cannot serialise the header: {e}")))?;
    let first = weights_to_bytes(model, &[(HEADER_KEY, json.clone())])?;
    let sum = checksum(&json, data_section(&first, path)?);
    let bytes = weights_to_bytes(model, &[(HEADER_KEY, json), (CHECKSUM_KEY, sum)])?;
    crate::io::write_atomic(path, &bytes)
}

/// Writes a copy of the model file `src` to `dst` (atomically; the same path is allowed) with
/// `header` in place of its own, and a new checksum: for renaming classes or recording facts
/// after training. The weights are copied unchanged; the new header must still pass the task's
/// checks when the file is opened.
pub fn reheader(src: &Path, dst: &Path, header: &ModelHeader) -> Result<()> {
    let (_, bytes) = read(src)?;
    let data = data_section(&bytes, src)?;
    let json = serde_json::to_string(header).map_err(|e| Error::Data(format!("cannot serialise the header: {e}")))?;
    let sum = checksum(&json, data);
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let mut value: serde_json::Value =
        serde_json::from_slice(&bytes[8..8 + n]).map_err(|e| Error::bad_file(src, format!("unreadable header: {e}")))?;
    let md = serde_json::json!({ HEADER_KEY: json, CHECKSUM_KEY: sum });
    value["__metadata__"] = md;
    let mut head = serde_json::to_vec(&value).map_err(|e| Error::Data(format!("cannot serialise the header: {e}")))?;
    while head.len() % 8 != 0 {
        head.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + head.len() + data.len());
    out.extend_from_slice(&(head.len() as u64).to_le_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(data);
    crate::io::write_atomic(dst, &out)
}

/// Writes `model` to `path` with a header for `task` built from its typed architecture
/// configuration and preprocessing state (each serialised as JSON), its class names and,
/// when known, the record of its train/valid split.
pub fn export_task<M: Module, A: Serialize, P: Serialize>(
    path: &Path,
    model: &M,
    task: &str,
    arch: &A,
    preprocessing: &P,
    classes: Vec<String>,
    split: Option<SplitRecord>,
) -> Result<()> {
    export(path, &model.valid(), &task_header(task, arch, preprocessing, classes)?.with_split(split))
}

/// The header [`export_task`] writes (without a split record): what a model file must hold
/// for a run to start from it ([`super::same_model`]).
pub fn task_header<A: Serialize, P: Serialize>(task: &str, arch: &A, preprocessing: &P, classes: Vec<String>) -> Result<ModelHeader> {
    let json = |v: serde_json::Result<serde_json::Value>| v.map_err(|e| Error::Data(format!("cannot serialise the header: {e}")));
    Ok(ModelHeader::new(task, json(serde_json::to_value(arch))?, json(serde_json::to_value(preprocessing))?, classes))
}

/// A model file opened for `task`: its typed architecture and preprocessing, its class names,
/// its split record, and the checked bytes to load the weights from with [`load`].
pub struct Opened<A, P> {
    /// The architecture configuration.
    pub arch: A,
    /// The preprocessing state.
    pub preprocessing: P,
    /// Class names.
    pub classes: Vec<String>,
    /// What made the model's train/valid split, when the file records it.
    pub split: Option<SplitRecord>,
    /// The whole file, checked.
    pub bytes: Vec<u8>,
}

/// Reads and checks a model file written by [`export_task`] for `task` (`what` names the task
/// in the error when the file holds another one): the checksum, then the typed header, then
/// the header against its tensors ([`HeaderCheck`]). Every failure names the file (and the
/// header field at fault).
pub fn open<A, P>(path: &Path, task: &str, what: &str) -> Result<Opened<A, P>>
where
    A: serde::de::DeserializeOwned,
    P: serde::de::DeserializeOwned + HeaderCheck<A>,
{
    let (header, bytes) = read(path)?;
    if header.task != task {
        return Err(Error::bad_file(path, format!("a {} model, not {what}", header.task)));
    }
    let arch: A = serde_json::from_value(header.arch).map_err(|e| Error::bad_file(path, format!("header field `arch`: {e}")))?;
    let preprocessing: P =
        serde_json::from_value(header.preprocessing).map_err(|e| Error::bad_file(path, format!("header field `preprocessing`: {e}")))?;
    let shapes = tensor_shapes(&bytes, path)?;
    preprocessing.check(&arch, &header.classes, &shapes).map_err(|f| Error::bad_file(path, f.to_string()))?;
    Ok(Opened { arch, preprocessing, classes: header.classes, split: header.split, bytes })
}

/// The names and shapes of the tensors in a checked file.
fn tensor_shapes(bytes: &[u8], path: &Path) -> Result<TensorShapes> {
    let (_, meta) = safetensors::SafeTensors::read_metadata(bytes).map_err(|e| Error::bad_file(path, format!("not a kindling model file: {e}")))?;
    Ok(TensorShapes(meta.tensors().into_iter().map(|(k, v)| (k, v.shape.clone())).collect()))
}

/// Reads and checks a model file: its header, and that the header and weights match their
/// checksum. Returns the header and the raw file for [`load`].
pub fn read(path: &Path) -> Result<(ModelHeader, Vec<u8>)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bad = |r: String| Error::bad_file(path, r);
    let data = data_section(&bytes, path)?;
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| bad(format!("not a kindling model file: {e}")))?;
    let md = meta.metadata().clone().unwrap_or_default();
    let json = md.get(HEADER_KEY).ok_or_else(|| bad("a safetensors file, but not one kindling wrote (no header)".into()))?;
    let expected = md.get(CHECKSUM_KEY).ok_or_else(|| bad("no checksum in the header".into()))?;
    // The version decides what the checksum covers, so read it before trusting anything else.
    #[derive(Deserialize)]
    struct Version {
        format: String,
        format_version: u32,
    }
    let v: Version = serde_json::from_str(json).map_err(|e| bad(format!("unreadable header: {e}")))?;
    if v.format != FORMAT || v.format_version > FORMAT_VERSION || v.format_version == 0 {
        return Err(bad(format!(
            "format {} v{} is not one this build reads ({FORMAT} v1 to v{FORMAT_VERSION})",
            v.format, v.format_version
        )));
    }
    let actual = if v.format_version == 1 { sha256_hex(data) } else { checksum(json, data) };
    if actual != *expected {
        return Err(bad("the header or the weights do not match their checksum: the file is corrupt or was edited".into()));
    }
    let header: ModelHeader = serde_json::from_str(json).map_err(|e| bad(format!("unreadable header: {e}")))?;
    Ok((header, bytes))
}

/// Loads the weights of a file checked by [`read`] into `model` (built from `header.arch`).
pub fn load<M: Module>(path: &Path, model: M, bytes: Vec<u8>) -> Result<M> {
    weights_from_bytes(model, bytes, path)
}
