//! Image models and loading their pretrained weights.

pub mod arch;
pub mod efficientnet;
pub mod load;
pub mod resnet;

pub use arch::{ARCH_NAMES, ArchConfig, Body};
pub use efficientnet::{EfficientNet, EfficientNetConfig};
pub use resnet::{ResNet, ResNetConfig};
