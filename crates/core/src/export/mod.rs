//! One self-describing model file: the weights as safetensors, with a JSON header in the
//! safetensors metadata that says what the model is (task, architecture config), how to prepare
//! its inputs (vocabularies, normalisation statistics), its class names, what made its
//! validation split, the kindling version and a SHA-256 over the header and the weights.
//!
//! Loading never executes anything from the file, and never trusts it: a corrupt, truncated or
//! edited file is refused by the checksum, and every header is checked against its own tensors
//! ([`HeaderCheck`]) before anything is built from it, so a hand-made file with a consistent
//! checksum still gets an error naming the field that disagrees, never a panic.

mod check;
mod file;
mod header;
mod same_model;

pub use check::{Fault, HeaderCheck, TensorShapes};
pub use file::{Opened, export, export_task, load, open, read, reheader, task_header, weights_from_bytes, weights_to_bytes};
pub use same_model::same_model;
pub use header::{FORMAT, FORMAT_VERSION, ModelHeader, SplitRecord};
