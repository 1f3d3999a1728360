//! fastai's `DynamicUnet`, the encoders it is built on, and the layers it is made of.

pub mod attention;
pub mod blocks;
pub mod encoder;
pub mod unet;

pub use attention::SelfAttention;
pub use encoder::{ENCODERS, encoder_by_name};
pub use unet::{DynamicUnet, UnetConfig, UnetPlan};
