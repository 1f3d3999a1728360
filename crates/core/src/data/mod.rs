//! The data half of core, from items to batches on a device:
//!
//! - [`dataset`]: indexable collections of items, and views over them;
//! - [`split`]: honest train / valid / test splits, every splitter seeded;
//! - [`leakage`]: a report of items that appear in more than one split;
//! - [`transform`]: item and batch transforms, random ones on train only, seeded per epoch;
//! - [`loader`]: batching, per-epoch shuffling and parallel item decoding with bounded prefetch;
//! - [`image`]: decoded images and segmentation masks; [`augment`]: their augmentation and
//!   resizing (fastai's `aug_transforms`, `Resize`), a mask following its image.

pub mod augment;
pub mod dataset;
pub mod idx;
pub mod image;
pub mod leakage;
pub mod loader;
pub mod split;
pub mod tensor_batch;
pub mod transform;

pub use dataset::{Dataset, MapDataset, Subset, VecDataset};
pub use image::{Image, Mask};
pub use leakage::{LeakageReport, Leak};
pub use loader::{Batcher, DataLoader, LoaderConfig, DataLoaders};
pub use split::{Splits, Splitter};
pub use transform::{BatchTransform, ItemTransform, Pipeline, SplitKind, TransformContext};
