//! Images in, labelled items out: decoding, labelling sources, the pre-training check, resizing
//! and batching.

pub mod augment;
pub mod batch;
pub mod check;
pub mod dataset;
pub mod decode;
pub mod resize;
pub mod sources;

pub use batch::{ImageBatch, ImageBatcher, Normalize};
pub use dataset::{ImageDataset, Preprocessing, VisionData};
pub use decode::{DecodeOptions, Image};
pub use sources::{Labelled, LabelledItems};
