//! The image networks kindling builds, under one name each, and the body a learner holds.

use std::path::Path;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use kindling_core::Result;
use serde::{Deserialize, Serialize};

use crate::data::Normalize;

use super::efficientnet::{EfficientNet, EfficientNetConfig};
use super::load::{load_efficientnet, load_torchvision, load_torchvision_body};
use super::resnet::{ResNet, ResNetConfig};

/// The architectures `--arch` accepts.
pub const ARCH_NAMES: [&str; 5] = ["resnet18", "resnet34", "resnet50", "resnet18-small", "efficientnet-lite0"];

/// A network's architecture; stored in exported models.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ArchConfig {
    /// A ResNet in torchvision's layout.
    ResNet(ResNetConfig),
    /// An EfficientNet-Lite in `efficientnet_pytorch`'s layout.
    EfficientNet(EfficientNetConfig),
}

impl From<ResNetConfig> for ArchConfig {
    fn from(c: ResNetConfig) -> Self {
        Self::ResNet(c)
    }
}

impl From<EfficientNetConfig> for ArchConfig {
    fn from(c: EfficientNetConfig) -> Self {
        Self::EfficientNet(c)
    }
}

impl ArchConfig {
    /// The architecture called `name` (one of [`ARCH_NAMES`]) for `in_channels` and
    /// `num_classes`. EfficientNet-Lite0 takes RGB only.
    ///
    /// ```
    /// use kindling_vision::models::ArchConfig;
    /// assert!(ArchConfig::by_name("efficientnet-lite0", 3, 10).is_some());
    /// assert!(ArchConfig::by_name("vgg16", 3, 10).is_none());
    /// ```
    pub fn by_name(name: &str, in_channels: usize, num_classes: usize) -> Option<Self> {
        match name {
            "efficientnet-lite0" if in_channels == 3 => Some(EfficientNetConfig::lite0(Some(num_classes)).into()),
            _ => ResNetConfig::by_name(name, in_channels, num_classes).map(Into::into),
        }
    }

    /// The normalisation the published pretrained weights were trained with: `(pixel - 127) / 128`
    /// for EfficientNet-Lite (TensorFlow's), ImageNet's statistics for torchvision's ResNets.
    pub fn pretrained_normalize(&self) -> Normalize {
        match self {
            Self::ResNet(_) => Normalize::imagenet(),
            Self::EfficientNet(_) => Normalize { mean: vec![127.0 / 255.0; 3], std: vec![128.0 / 255.0; 3] },
        }
    }

    /// Channels of the body's output.
    pub fn n_features(&self) -> usize {
        match self {
            Self::ResNet(c) => c.n_features(),
            Self::EfficientNet(c) => c.n_features(),
        }
    }

    /// The same network without its final linear layer.
    pub fn without_classifier(&self) -> Self {
        match self {
            Self::ResNet(c) => Self::ResNet(ResNetConfig { num_classes: None, ..c.clone() }),
            Self::EfficientNet(c) => Self::EfficientNet(EfficientNetConfig { num_classes: None, ..c.clone() }),
        }
    }

    /// The network, freshly initialised.
    pub fn init(&self, device: &Device) -> Body {
        match self {
            Self::ResNet(c) => Body::ResNet(c.init(device)),
            Self::EfficientNet(c) => Body::EfficientNet(c.init(device)),
        }
    }
}

/// A network: with its classifier when trained from scratch, without it as a learner's body.
#[derive(Module, Debug)]
pub enum Body {
    /// See [`ResNet`].
    ResNet(ResNet),
    /// See [`EfficientNet`].
    EfficientNet(EfficientNet),
}

impl Body {
    /// Features before pooling.
    pub fn forward_features(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Self::ResNet(m) => m.forward_features(x),
            Self::EfficientNet(m) => m.forward_features(x),
        }
    }

    /// Logits (pooled features when there is no classifier).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        match self {
            Self::ResNet(m) => m.forward(x),
            Self::EfficientNet(m) => m.forward(x),
        }
    }

    /// Pretrained weights from `path`: a torchvision checkpoint for a ResNet, an
    /// `efficientnet_pytorch`-layout safetensors file for an EfficientNet. With `body_only`,
    /// the file's classifier is left out (a head replaces it).
    pub fn load_pretrained(self, path: &Path, body_only: bool) -> Result<Self> {
        Ok(match self {
            Self::ResNet(m) => Self::ResNet(if body_only { load_torchvision_body(m, path)? } else { load_torchvision(m, path)? }),
            Self::EfficientNet(m) => Self::EfficientNet(load_efficientnet(m, path, body_only)?),
        })
    }
}
