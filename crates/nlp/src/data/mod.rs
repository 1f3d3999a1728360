//! Texts and labels, from a file or a folder per class to batches:
//!
//! - [`source`]: reading a CSV/Parquet file (`--text`, `--label`, `--valid-col`) or a folder
//!   per class (`--text-dir`), split with core's splitters, into [`TextData`], which also
//!   tokenizes and builds the loaders;
//! - [`labels`]: single-label classes, multi-label sets and regression values ([`Labels`]),
//!   as the caller asks ([`LabelKind`]);
//! - [`clean`]: [`clean_text`], HTML line breaks out;
//! - [`batch`]: tokenized items, batches padded to their own longest text, and
//!   [`text_loaders`], whose training batches group texts of similar lengths (fastai's
//!   `SortedDL`).

pub mod batch;
pub mod clean;
pub mod labels;
pub mod source;

pub use batch::{TextBatch, TextBatcher, TextItem, TextTarget, pad_ids, rows_by_length, text_items, text_loaders};
pub use clean::clean_text;
pub use labels::{LabelKind, Labels};
pub use source::{TextData, TextDataOptions, TextSource, TokenStats, read_text_column, tokenize_all};
