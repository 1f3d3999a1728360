//! Loading torchvision checkpoints (PyTorch `.pth` zip files, or safetensors with the same key
//! names) into kindling's models: the key mappings of torchvision's and `efficientnet_pytorch`'s
//! layouts are here; the strict loading itself is core's
//! [`load_pytorch_weights`](kindling_core::weights::load_pytorch_weights). Loading reads tensors
//! only; nothing in the file is executed.

use std::path::Path;

use burn::module::Module;
use kindling_core::Result;
use kindling_core::weights::load_pytorch_weights;

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

fn load<M: Module>(model: M, path: &Path, remaps: &[(&str, &str)], ignored_prefixes: &[&str]) -> Result<M> {
    load_pytorch_weights(model, path, remaps, ignored_prefixes)
}
