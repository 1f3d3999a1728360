//! Chapter 2's data cleaner as file operations, with no web involved: decisions about images
//! ([`Edit`]), carried out atomically as far as the filesystem allows ([`apply`]), recorded in
//! an edit log under `DIR/.kindling/`, undone exactly ([`undo`]) or replayed ([`replay`]).
//! Nothing is ever unlinked: a deleted image moves into `DIR/.kindling/trash/`. Images labelled
//! by a CSV ([`labels_csv`]) are not moved: the decisions are written as a new CSV beside the
//! old one ([`apply_csv`]), and undoing moves that new CSV into the trash.

mod apply;
mod error;
pub mod labels_csv;
mod log;
pub mod moves;
pub mod paths;

pub use apply::{Applied, apply, apply_csv, replay, replay_onto, undo};
pub use error::{CleanError, FileFault};
pub use labels_csv::LabelsCsv;
pub use log::{Action, CsvEdit, Edit, EditLog, KINDLING_DIR, LOG_FORMAT, LOG_VERSION, LogStatus, ModelStamp, new_log_path};
pub use kindling_core::stamp::utc_stamp;

#[cfg(test)]
mod tests;
