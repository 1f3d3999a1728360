//! The models the server can load, one file a task.

pub mod collab;
pub mod segmentation;
pub mod tabular;
pub mod text;
pub mod vision;
