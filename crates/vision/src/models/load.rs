//! Loading torchvision checkpoints (PyTorch `.pth` zip files, or safetensors with the same key
//! names) into kindling's models. Loading reads tensors only; nothing in the file is executed.

use std::path::Path;

use burn::module::Module;
use burn::store::{ApplyResult, ModuleSnapshot, PyTorchToBurnAdapter, PytorchStore, SafetensorsStore};
use kindling_core::{Error, Result};

/// torchvision names a block's shortcut `downsample.0` (conv) and `downsample.1` (BatchNorm).
const REMAPS: [(&str, &str); 2] = [(r"downsample\.0\.", "downsample.conv."), (r"downsample\.1\.", "downsample.bn.")];

/// `efficientnet_pytorch` starts every module name with an underscore (`_blocks.3._bn1`).
const EFFICIENTNET_REMAPS: [(&str, &str); 1] = [(r"(^|\.)_", "${1}")];

/// Loads a torchvision-format checkpoint into `model`. Every tensor the model has must be in the
/// file with the right shape; BatchNorm's `num_batches_tracked` counters are ignored.
pub fn load_torchvision<M: Module>(model: M, path: &Path) -> Result<M> {
    load(model, path, &REMAPS, &[])
}

/// Loads the body of a torchvision classifier: as [`load_torchvision`], with the checkpoint's
/// final layer (`fc`) left out, since fastai's head replaces it.
pub fn load_torchvision_body<M: Module>(model: M, path: &Path) -> Result<M> {
    load(model, path, &REMAPS, &["fc."])
}

/// Loads an EfficientNet checkpoint in `efficientnet_pytorch`'s layout (`_conv_stem`,
/// `_blocks.N._depthwise_conv`, …, `_fc`); with `body_only`, without its `_fc`.
pub fn load_efficientnet<M: Module>(model: M, path: &Path, body_only: bool) -> Result<M> {
    load(model, path, &EFFICIENTNET_REMAPS, if body_only { &["fc."] } else { &[] })
}

fn load<M: Module>(mut model: M, path: &Path, remaps: &[(&str, &str)], ignored_prefixes: &[&str]) -> Result<M> {
    let is_pth = path.extension().is_some_and(|e| e == "pth" || e == "pt");
    let result = if is_pth {
        let mut store = PytorchStore::from_file(path);
        for &(from, to) in remaps {
            store = store.with_key_remapping(from, to);
        }
        model.load_from(&mut store).map_err(|e| Error::bad_file(path, format!("cannot read the checkpoint: {e}")))?
    } else {
        let mut store = SafetensorsStore::from_file(path).with_from_adapter(PyTorchToBurnAdapter).skip_enum_variants(true);
        for &(from, to) in remaps {
            store = store.with_key_remapping(from, to);
        }
        model.load_from(&mut store).map_err(|e| Error::bad_file(path, format!("cannot read the checkpoint: {e}")))?
    };
    check(&result, path, ignored_prefixes)?;
    Ok(model)
}

fn check(result: &ApplyResult, path: &Path, ignored_prefixes: &[&str]) -> Result<()> {
    if !result.errors.is_empty() {
        return Err(Error::bad_file(path, format!("weights do not fit the model: {:?}", result.errors)));
    }
    if !result.missing.is_empty() {
        let names: Vec<&str> = result.missing.iter().map(|(p, _)| p.as_str()).collect();
        return Err(Error::bad_file(path, format!("no weights for: {}", names.join(", "))));
    }
    let unexpected: Vec<&str> = result
        .unused
        .iter()
        .map(String::as_str)
        .filter(|u| !u.ends_with("num_batches_tracked") && !ignored_prefixes.iter().any(|p| u.starts_with(p)))
        .collect();
    if !unexpected.is_empty() {
        return Err(Error::bad_file(path, format!("the file has tensors this model does not: {}", unexpected.join(", "))));
    }
    Ok(())
}
