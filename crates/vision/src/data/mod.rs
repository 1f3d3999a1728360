//! Images in, labelled items out: decoding, labelling sources, the pre-training check, resizing
//! and batching. Augmentation and resizing are core's ([`augment`], [`resize`]), shared with
//! segmentation; they are re-exported here under their old paths.

pub use kindling_core::data::augment;
pub use kindling_core::data::augment::resize;

pub mod batch;
pub mod check;
pub mod dataset;
pub mod decode;
pub mod sources;

pub use batch::{ImageBatch, ImageBatcher, Normalize};
pub use dataset::{ImageDataset, Preprocessing, VisionData};
pub use decode::{DecodeOptions, Image};
pub use sources::{Labelled, LabelledItems};
