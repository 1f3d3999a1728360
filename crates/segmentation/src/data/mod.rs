//! Images and masks in, batches out: mask decoding (palette PNGs as ids), codes, the CamVid
//! and same-stem layouts, the pre-training check, resizing both together, augmenting training
//! pairs together (core's `aug_transforms`, the mask through the same map), and batching.

pub mod batch;
pub mod check;
pub mod codes;
pub mod dataset;
pub mod mask;
pub mod resize;
pub mod sources;

pub use batch::{SegBatch, SegBatcher};
pub use codes::Codes;
pub use dataset::{SegData, SegDataOptions, SegDataset, SegPreprocessing};
pub use mask::Mask;
pub use sources::{MaskLayout, SegItem, SplitChoice};
