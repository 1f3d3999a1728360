//! Image augmentation and resizing, for images alone and for an image with its segmentation
//! mask: fastai's `aug_transforms` and `Resize` / `RandomResizedCrop`.
//!
//! - [`affine`]: flips, rotation, zoom and perspective warp as one homography, sampled once
//!   through a [`CoordMap`] shared by an image (bilinear) and its mask (nearest);
//! - [`lighting`]: brightness and contrast in logit space (images only);
//! - [`pipeline`]: [`AugTransforms`], the settings with fastai's defaults, its seeded draws
//!   ([`AugParams`]) and their application to an image or an image/mask pair;
//! - [`resize`]: fastai's `Resize` methods and `RandomResizedCrop` as a drawn [`ResizePlan`],
//!   applied to an image (PIL's bilinear) and its mask (nearest) alike.
//!
//! Random parts run on training items only, drawn from the [`TransformContext`](crate::data::TransformContext)'s
//! generator (seeded per item and epoch).

pub mod affine;
pub mod lighting;
pub mod pipeline;
pub mod resize;

#[cfg(test)]
mod tests;

pub use affine::{CoordMap, Interpolation, Matrix};
pub use lighting::Lighting;
pub use pipeline::{AugParams, AugTransforms};
pub use resize::{RandomResizedCrop, ResizeMethod, ResizePlan, Window, resample, resample_image, resample_mask, resize, resize_with_mask};
