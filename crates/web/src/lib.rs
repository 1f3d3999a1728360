#![warn(missing_docs)]
//! # kindling-web
//!
//! The web layer of kindling, above the task crates, in one binary with no Node build step:
//! the pages are plain HTML, CSS and JavaScript compiled in.
//!
//! - [`clean`]: chapter 2's data cleaner as file operations: decisions, an edit log under
//!   `DIR/.kindling/`, applied atomically as far as the filesystem allows, undone exactly,
//!   replayed; nothing is ever unlinked;
//! - [`rank`]: a folder of images sorted by a classifier's loss, for the cleaner page;
//! - [`cleaner`]: the cleaner page's server (`kindling-web clean`);
//! - [`serve`]: the model server (`kindling-web serve`): any kindling model behind a page and a
//!   JSON API, with requests batched into one forward pass;
//! - [`http`]: what both servers share (JSON errors, bounded bodies, the embedded pages,
//!   graceful shutdown);
//! - [`cli`]: the command line.

pub mod clean;
pub mod cleaner;
pub mod cli;
pub mod http;
pub mod rank;
pub mod serve;
