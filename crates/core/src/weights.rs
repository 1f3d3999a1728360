//! Loading pretrained checkpoints written by PyTorch — `.pth`/`.pt`/`.bin` zip files, or
//! safetensors files with PyTorch's key names — into kindling's burn modules, strictly: every
//! tensor the model has must be in the file with the right shape, and every tensor in the file
//! must be used or explicitly ignored. Loading reads tensors only; nothing in the file is
//! executed.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use burn::module::Module;
use burn::store::{ApplyError, ApplyResult, KeyRemapper, ModuleSnapshot, ModuleStore, PathFilter, PyTorchToBurnAdapter, PytorchStore, SafetensorsStore};
use burn::tensor::Shape;

use crate::{Error, Result};

/// Loads the checkpoint at `path` into `model` and returns it.
///
/// - The format is chosen by the extension: `.pth`, `.pt` and `.bin` are PyTorch's (zip) files,
///   anything else is read as safetensors.
/// - PyTorch's conventions are adapted to burn's: linear weights are transposed from
///   `[out, in]` to `[in, out]`, and normalisation layers' `weight`/`bias` become
///   `gamma`/`beta`. Enum variants in the model's paths are skipped.
/// - `remaps` are `(regex, replacement)` pairs applied, in order, to every key of the file before
///   it is matched with the model's paths (`"${1}"` refers to a capture group).
/// - Tensors of the file whose (remapped) key starts with one of `ignored_prefixes` are left
///   out, as are BatchNorm's `num_batches_tracked` counters.
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be opened, [`Error::BadFile`] naming the file when it
/// cannot be read as a checkpoint, when a tensor the model needs is missing (named), when a
/// tensor has another shape than the model's (named, with both shapes, in PyTorch's layout),
/// and when the file holds tensors the model has no place for (named). Tensors are named as the
/// file names them, with the model's path beside. [`Error::InvalidArgument`] when a remap is
/// not a regular expression.
pub fn load_pytorch_weights<M: Module>(mut model: M, path: &Path, remaps: &[(&str, &str)], ignored_prefixes: &[&str]) -> Result<M> {
    let remapper = remapper(remaps)?;
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return Err(Error::bad_file(path, "is a folder, not a checkpoint file"));
    }
    let unreadable = |e: &dyn std::fmt::Display| Error::bad_file(path, format!("cannot read the checkpoint: {e}"));
    let result = if is_pytorch(path) {
        let mut store = PytorchStore::from_file(path).skip_enum_variants(true).validate(false).allow_partial(true).remap(remapper.clone());
        model.load_from(&mut store).map_err(|e| unreadable(&e))?
    } else {
        let mut store = SafetensorsStore::from_file(path)
            .with_from_adapter(PyTorchToBurnAdapter)
            .skip_enum_variants(true)
            .validate(false)
            .allow_partial(true)
            .remap(remapper.clone());
        model.load_from(&mut store).map_err(|e| unreadable(&e))?
    };
    check(&model, &result, path, &remapper, ignored_prefixes)?;
    Ok(model)
}

/// The remaps compiled; a pattern that is not a regular expression is an
/// [`Error::InvalidArgument`].
fn remapper(remaps: &[(&str, &str)]) -> Result<KeyRemapper> {
    KeyRemapper::from_patterns(remaps.to_vec()).map_err(|e| Error::invalid("key remapping", e.to_string()))
}

/// The names of the tensors in the checkpoint at `path` (same formats as
/// [`load_pytorch_weights`]), as the file spells them, sorted: for choosing a model's shape from
/// what a checkpoint holds before loading it.
///
/// # Errors
///
/// [`Error::Io`] when the file cannot be opened, [`Error::BadFile`] naming it when it cannot be
/// read as a checkpoint.
pub fn checkpoint_keys(path: &Path) -> Result<Vec<String>> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    if meta.is_dir() {
        return Err(Error::bad_file(path, "is a folder, not a checkpoint file"));
    }
    let unreadable = |e: &dyn std::fmt::Display| Error::bad_file(path, format!("cannot read the checkpoint: {e}"));
    let mut keys = if is_pytorch(path) {
        PytorchStore::from_file(path).keys().map_err(|e| unreadable(&e))?
    } else {
        SafetensorsStore::from_file(path).keys().map_err(|e| unreadable(&e))?
    };
    keys.sort();
    Ok(keys)
}

/// Whether `path` is read as a PyTorch zip file rather than safetensors.
fn is_pytorch(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "pth" || e == "pt" || e == "bin")
}

/// Turns what burn-store reports into one readable error, if anything went wrong. Tensors are
/// named as the file names them, with the model's path beside when the remaps changed it.
fn check<M: Module>(model: &M, result: &ApplyResult, path: &Path, remapper: &KeyRemapper, ignored_prefixes: &[&str]) -> Result<()> {
    let unexpected: Vec<&str> = result
        .unused
        .iter()
        .map(String::as_str)
        .filter(|u| !u.ends_with("num_batches_tracked") && !ignored_prefixes.iter().any(|p| u.starts_with(p)))
        .collect();
    if result.errors.is_empty() && result.missing.is_empty() && unexpected.is_empty() {
        return Ok(());
    }
    let names = file_names(path, remapper);
    let name = |p: &str| match names.get(p) {
        Some(original) if original != p => format!("'{original}' (the model's '{p}')"),
        _ => format!("'{p}'"),
    };
    if !result.errors.is_empty() {
        let linear = linear_weights(model);
        let lines: Vec<String> = result.errors.iter().map(|e| describe(e, &linear, &name)).collect();
        return Err(Error::bad_file(path, format!("weights do not fit the model: {}", lines.join("; "))));
    }
    if !result.missing.is_empty() {
        let missing: Vec<&str> = result.missing.iter().map(|(p, _)| p.as_str()).collect();
        return Err(Error::bad_file(path, format!("no weights for: {}", missing.join(", "))));
    }
    let unexpected: Vec<String> = unexpected.iter().map(|u| name(u)).collect();
    Err(Error::bad_file(path, format!("the file has tensors this model does not: {}", unexpected.join(", "))))
}

/// The file's own name of each tensor, by its remapped name (empty when the file cannot be
/// listed again: the error is then given in the model's names only).
fn file_names(path: &Path, remapper: &KeyRemapper) -> HashMap<String, String> {
    let Ok(keys) = checkpoint_keys(path) else { return HashMap::new() };
    let patterns = remapper.to_regex_pairs();
    keys.into_iter()
        .map(|original| {
            let mut name = original.clone();
            for (re, to) in &patterns {
                if re.is_match(&name) {
                    name = re.replace_all(&name, to.as_str()).into_owned();
                }
            }
            (name, original)
        })
        .collect()
}

/// The paths of the model's linear weights (stored `[in, out]` by burn, `[out, in]` by PyTorch).
fn linear_weights<M: Module>(model: &M) -> HashSet<String> {
    fn is_linear_weight(path: &str, containers: &str) -> bool {
        path.ends_with(".weight") && containers.ends_with("Struct:Linear")
    }
    let filter = PathFilter::new().with_predicate(is_linear_weight);
    model.collect(Some(filter), None, true).into_iter().map(|t| t.name).collect()
}

/// One of burn-store's errors, in the file's terms: a shape mismatch of a linear weight is shown
/// in PyTorch's `[out, in]` layout, as the file and the Python model print it.
fn describe(e: &ApplyError, linear: &HashSet<String>, name: &dyn Fn(&str) -> String) -> String {
    let dims = |s: &Shape, transposed: bool| {
        let mut d = s.to_vec();
        if transposed {
            d.reverse();
        }
        format!("{d:?}")
    };
    match e {
        ApplyError::ShapeMismatch { path, expected, found } => {
            let t = linear.contains(path) && expected.num_dims() == 2 && found.num_dims() == 2;
            format!("tensor {} has shape {} in the file, the model needs {}", name(path), dims(found, t), dims(expected, t))
        }
        ApplyError::DTypeMismatch { path, expected, found } => {
            format!("tensor {} is {found:?} in the file, the model needs {expected:?}", name(path))
        }
        other => other.to_string(),
    }
}
