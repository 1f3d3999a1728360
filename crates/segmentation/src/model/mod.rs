//! fastai's `DynamicUnet` and the layers it is made of.

pub mod blocks;
pub mod unet;

pub use unet::{DynamicUnet, UnetConfig, UnetPlan};
