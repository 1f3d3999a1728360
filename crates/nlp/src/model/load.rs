//! Reading a checkpoint in the Hugging Face Hub layout (`config.json` + `model.safetensors`)
//! into an [`Encoder`].
//!
//! The file's keys are mapped onto the encoder's paths by regular expressions, for the three
//! families at once: the `bert.`/`roberta.`/`distilbert.` prefix of task models is dropped;
//! `encoder.layer.N` and DistilBERT's `transformer.layer.N` become `layers.N`;
//! `attention.self.{query,key,value}` and DistilBERT's `attention.{q,k,v}_lin` become
//! `attention.{query,key,value}`; `attention.output.dense`/`out_lin` become `attention.dense`;
//! `attention.output.LayerNorm`/`sa_layer_norm` become `attention_norm`;
//! `intermediate.dense`/`ffn.lin1` become `intermediate`; `output.dense`/`ffn.lin2` become
//! `output`; `output.LayerNorm`/`output_layer_norm` become `output_norm`; `LayerNorm`'s
//! `weight`/`bias` are burn's `gamma`/`beta`. Task heads (`cls.*`, `lm_head.*`, `vocab_transform`,
//! `vocab_layer_norm`, `vocab_projector`, `pre_classifier`, `classifier.*`, `qa_outputs`) and
//! the `position_ids` buffer are ignored; any other tensor the encoder has no place for is an
//! error, as is a missing tensor or one of another shape.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use kindling_core::weights::{checkpoint_keys, load_pytorch_weights};
use kindling_core::{Error, Result};

use super::{Encoder, HubConfig};

/// `(regex, replacement)` pairs, applied in order to every key of the file.
const REMAPS: [(&str, &str); 18] = [
    (r"^(bert|roberta|distilbert)\.", ""),
    (r"^(encoder|transformer)\.layer\.(\d+)\.", "layers.${2}."),
    (r"\.attention\.self\.", ".attention."),
    (r"\.attention\.output\.dense\.", ".attention.dense."),
    (r"\.attention\.output\.LayerNorm\.", ".attention_norm."),
    (r"\.attention\.q_lin\.", ".attention.query."),
    (r"\.attention\.k_lin\.", ".attention.key."),
    (r"\.attention\.v_lin\.", ".attention.value."),
    (r"\.attention\.out_lin\.", ".attention.dense."),
    (r"\.sa_layer_norm\.", ".attention_norm."),
    (r"\.intermediate\.dense\.", ".intermediate."),
    (r"\.ffn\.lin1\.", ".intermediate."),
    (r"^(layers\.\d+)\.output\.dense\.", "${1}.output."),
    (r"\.ffn\.lin2\.", ".output."),
    (r"^(layers\.\d+)\.output\.LayerNorm\.", "${1}.output_norm."),
    (r"\.output_layer_norm\.", ".output_norm."),
    (r"^embeddings\.LayerNorm\.", "embeddings.layer_norm."),
    // A buffer, not a weight: moved under a prefix that is ignored.
    (r"^embeddings\.position_ids$", "buffers.position_ids"),
];

/// Keys (after [`REMAPS`]) of the tensors that are not the encoder's: task heads and buffers.
const IGNORED: [&str; 9] =
    ["cls.", "lm_head.", "vocab_transform.", "vocab_layer_norm.", "vocab_projector.", "pre_classifier.", "classifier.", "qa_outputs.", "buffers."];

/// The weights file of the checkpoint in `dir`: `model.safetensors`, else `pytorch_model.bin`
/// (read through burn's PyTorch reader).
///
/// # Errors
///
/// [`Error::BadFile`] naming `model.safetensors` when neither file is there.
pub fn weights_file(dir: &Path) -> Result<PathBuf> {
    let safetensors = dir.join("model.safetensors");
    if safetensors.exists() {
        return Ok(safetensors);
    }
    let bin = dir.join("pytorch_model.bin");
    if bin.is_file() {
        return Ok(bin);
    }
    Err(Error::bad_file(
        safetensors,
        "not found: a Hugging Face checkpoint folder holds its weights in model.safetensors (or pytorch_model.bin)",
    ))
}

/// Reads the checkpoint in `dir` (Hugging Face Hub layout: `config.json` and
/// `model.safetensors`, or `pytorch_model.bin`) of a BERT, RoBERTa or DistilBERT model (a bare
/// model or a task model whose head is ignored), and returns its configuration and the encoder
/// with its weights, on `device`. The encoder has a pooler exactly when the file has
/// `pooler.dense` (and [`HubConfig::pooler`] says so).
///
/// # Errors
///
/// Those of [`HubConfig::read`]; [`Error::BadFile`] naming the weights file when it is
/// missing, unreadable, lacks a tensor of the encoder, has one of the wrong shape (named, with
/// both shapes), or has tensors that are neither the encoder's nor a known head's.
pub fn load_hub(dir: &Path, device: &Device) -> Result<(HubConfig, Encoder)> {
    let mut config = HubConfig::read(dir)?;
    let path = weights_file(dir)?;
    let keys = checkpoint_keys(&path)?;
    config.pooler = keys.iter().any(|k| k == "pooler.dense.weight" || k.ends_with(".pooler.dense.weight"));
    let encoder = load_pytorch_weights(config.init(device), &path, &REMAPS, &IGNORED)?;
    Ok((config, encoder))
}
