#![warn(missing_docs)]
//! # kindling-vision
//!
//! Image classification as fastai does it:
//!
//! - [`data`]: decoding (with a decompression-bomb guard), labelling by folder, regex, CSV or
//!   idx files, a check of every image before training, resizing, normalised batches;
//! - [`learner`]: `vision_learner` (pretrained body + fastai head, two parameter groups) and the
//!   from-scratch model; [`predict`]: export and top-k prediction; [`check`]: a model file's
//!   header checked against its tensors before anything is built from it;
//! - [`models::resnet`]: ResNet 18/34/50 in torchvision's layout, from scratch or loaded from
//!   torchvision checkpoints (`.pth` or safetensors), and the compact `resnet18-small` for
//!   MNIST-sized images;
//! - [`interpret`]: `show_batch`, the confusion matrix and top losses of a trained model;
//! - [`head`]: fastai's `create_head` (concat pooling, BatchNorm, dropout, linear layers), the
//!   head `vision_learner` puts on a pretrained body;
//! - [`loss`]: fastai's `LabelSmoothingCrossEntropy` (also taking MixUp's soft targets);
//!   [`mixup`]: fastai's `MixUp` as a batch transform; [`output`]: `--format table|csv|json`.
//!   The three are meant to move to `kindling-core`.

pub mod check;
pub mod cli;
pub mod data;
pub mod datasets;
pub mod head;
pub mod interpret;
pub mod learner;
pub mod loss;
pub mod mixup;
pub mod models;
pub use kindling_core::output;
pub mod predict;
