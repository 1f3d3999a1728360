//! What both servers share: JSON errors, bounded bodies, a form's uploaded file, the embedded
//! pages, images as data URLs, and serving until a signal.

pub mod assets;
pub mod background;
pub mod body;
pub mod data_url;
pub mod error;
pub mod json;
pub mod multipart;
pub mod run;

pub use error::ApiError;
pub use json::Json;
