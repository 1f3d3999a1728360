//! Image models and loading their pretrained weights.

pub mod load;
pub mod resnet;

pub use resnet::{ResNet, ResNetConfig};
