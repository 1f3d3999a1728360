#![warn(missing_docs)]
//! # kindling-segmentation
//!
//! Semantic segmentation (a class for every pixel) as fastai does it:
//!
//! - [`data`]: image/mask pairs in fastai's CamVid layout or the same-stem layout, masks read
//!   as class ids (palette PNGs as their indices), `codes.txt` and the void class, a check of
//!   every pair before training, resizing image and mask together, batches;
//! - [`model`]: fastai's `DynamicUnet` over a ResNet or EfficientNet-Lite encoder (from
//!   scratch or pretrained weights), with `UnetBlock`s, `PixelShuffle_ICNR`, optional
//!   self-attention, the final `ResBlock` and the input cross-connection;
//! - [`loss`] and [`metrics`]: the flattened per-pixel cross-entropy, pixel and foreground
//!   accuracy, `DiceMulti`, `Dice` and `JaccardCoeff`;
//! - [`learner`]: `unet_learner`; [`predict`]: export, the header check, and masks and overlays
//!   for new images; [`interpret`]: fastai's `show_results` (worst-Dice images, per-class IoU);
//!   [`show_batch`]: a training batch with its masks; [`tiles`]: one large image cut into
//!   training and validation tiles kept apart; [`cli`]: the `kindling-segmentation` command.

pub mod cli;
pub mod data;
pub mod interpret;
pub mod learner;
pub mod loss;
pub mod metrics;
pub mod model;
pub mod predict;
pub mod show_batch;
pub mod tiles;
