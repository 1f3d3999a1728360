//! The flags of `kindling-vision`, grouped as the subcommands share them: where the images come
//! from ([`SourceArgs`]), how they are prepared and split ([`PrepArgs`], [`SplitArgs`]), how
//! training images are augmented ([`AugArgs`]), the network ([`ModelArgs`]), the fit
//! ([`FitArgs`], with `--lr` read as fastai reads `lr` and `slice`) and the regularisation
//! ([`RegArgs`]: weight decay, label smoothing, MixUp).

use std::path::PathBuf;

use clap::Args;
use kindling_core::cli::{LrChoice, TrainArgs, positive_f64};
use kindling_core::data::augment::AugTransforms;
use kindling_core::{Error, Result};
use serde::{Deserialize, Serialize};

/// Where the labelled images come from. The sources (`--images`, `--labels-csv`, `--mnist`,
/// `--dataset`) exclude each other, except that `--images` gives `--labels-csv` the folder its
/// paths are relative to.
#[derive(Args, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceArgs {
    /// A folder of images labelled by their parent folder (split by `train`/`valid` grandparent
    /// folders when there are such, else at random); with --label-regex, labelled by file name;
    /// with --labels-csv, the folder the CSV's paths are relative to.
    #[arg(long, conflicts_with_all = ["mnist", "dataset"])]
    pub images: Option<PathBuf>,
    /// Label files by the first capture group of this regex on their name (pets: `^(.+)_\d+\.jpg$`).
    #[arg(long, requires = "images", conflicts_with = "labels_csv")]
    pub label_regex: Option<String>,
    /// A CSV of `file,label` (paths relative to --images when given, else to the CSV's folder).
    #[arg(long, conflicts_with_all = ["mnist", "dataset"])]
    pub labels_csv: Option<PathBuf>,
    /// A folder of MNIST/Fashion-MNIST idx files: train-* to train on and t10k-* to validate,
    /// or one images-idx3-ubyte.gz / labels-idx1-ubyte.gz pair split at random (--valid-pct).
    #[arg(long, conflicts_with = "dataset")]
    pub mnist: Option<PathBuf>,
    /// A data set fetched with `cargo xtask fetch` (pets, mnist_sample).
    #[arg(long)]
    pub dataset: Option<String>,
    /// Names for the classes in their order, comma separated (idx files only number them:
    /// Fashion-MNIST's are `T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot`;
    /// default: the folder or label names, or the idx files' numbers).
    #[arg(long, value_delimiter = ',')]
    pub class_names: Option<Vec<String>>,
}

impl SourceArgs {
    /// Whether no source is given.
    pub fn is_empty(&self) -> bool {
        self.images.is_none() && self.labels_csv.is_none() && self.mnist.is_none() && self.dataset.is_none()
    }

    /// The same source with its paths made absolute, so that a run folder's record of it
    /// (`data.json`) is read the same from any working folder.
    pub fn absolute(&self) -> Self {
        let abs = |p: &Option<PathBuf>| p.as_ref().map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone()));
        Self { images: abs(&self.images), labels_csv: abs(&self.labels_csv), mnist: abs(&self.mnist), ..self.clone() }
    }
}

/// How images are resized.
#[derive(Args, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PrepArgs {
    /// Side of the square images are resized to, 1 to 4096 (default: keep 28×28 idx images as
    /// they are, 224 otherwise).
    #[arg(long)]
    pub size: Option<usize>,
    /// How images are resized: squish, crop, pad, resize-crop (shorter side to size/0.875,
    /// centre crop) [default: crop].
    #[arg(long)]
    pub method: Option<String>,
}

/// How the items are split into training and validation sets.
#[derive(Args, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SplitArgs {
    /// Share of images to validate on, for a random split only [default: 0.2].
    #[arg(long)]
    pub valid_pct: Option<f64>,
    /// Train on the first N training items only (quick runs) [default: all].
    #[arg(long)]
    pub limit_train: Option<usize>,
    /// Validate on the first N validation items only [default: all].
    #[arg(long)]
    pub limit_valid: Option<usize>,
}

/// The data of `train`, `lr-find` and `show-batch`.
#[derive(Args, Clone, Debug, Default)]
pub struct DataArgs {
    /// Where the images come from.
    #[command(flatten)]
    pub source: SourceArgs,
    /// How they are resized.
    #[command(flatten)]
    pub prep: PrepArgs,
    /// How they are split.
    #[command(flatten)]
    pub split: SplitArgs,
}

/// A number that is finite and at least 0.
fn non_negative_f64(s: &str) -> std::result::Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("'{s}' is not a number"))?;
    if v.is_finite() && v >= 0.0 { Ok(v) } else { Err(format!("{s} is not a finite number ≥ 0")) }
}

/// A number in `[0, 1)`.
fn unit_f64(s: &str) -> std::result::Result<f64, String> {
    let v = non_negative_f64(s)?;
    if v < 1.0 { Ok(v) } else { Err(format!("{s} is not below 1")) }
}

/// A zoom factor, at least 1.
fn zoom_f64(s: &str) -> std::result::Result<f64, String> {
    let v = non_negative_f64(s)?;
    if v >= 1.0 { Ok(v) } else { Err(format!("{s} is below 1 (1 is no zoom; fastai's default is 1.1)")) }
}

/// fastai's `aug_transforms` and its parameters, for training images.
#[derive(Args, Clone, Debug)]
pub struct AugArgs {
    /// Train without fastai's `aug_transforms` (flip, rotate, zoom, warp, lighting).
    #[arg(long)]
    pub no_aug: bool,
    /// Largest rotation, in degrees either way (fastai's `max_rotate`).
    #[arg(long, value_name = "DEGREES", default_value_t = 10.0, allow_hyphen_values = true, value_parser = non_negative_f64, conflicts_with = "no_aug")]
    pub max_rotate: f64,
    /// Largest zoom in, at least 1 (fastai's `max_zoom`; 1 turns zooming off).
    #[arg(long, value_name = "FACTOR", default_value_t = 1.1, allow_hyphen_values = true, value_parser = zoom_f64, conflicts_with = "no_aug")]
    pub max_zoom: f64,
    /// Largest perspective warp, 0 to below 1 (fastai's `max_warp`).
    #[arg(long, value_name = "AMOUNT", default_value_t = 0.2, allow_hyphen_values = true, value_parser = unit_f64, conflicts_with = "no_aug")]
    pub max_warp: f64,
    /// Largest brightness and contrast change, 0 to below 1 (fastai's `max_lighting`).
    #[arg(long, value_name = "AMOUNT", default_value_t = 0.2, allow_hyphen_values = true, value_parser = unit_f64, conflicts_with = "no_aug")]
    pub max_lighting: f64,
    /// Also flip images upside down, half the time (fastai's `flip_vert`, for satellite and
    /// microscope images; left-right flips are always on).
    #[arg(long, conflicts_with = "no_aug")]
    pub flip_vert: bool,
}

impl AugArgs {
    /// The augmentation these flags ask for (`None` with `--no-aug`).
    pub fn transforms(&self) -> Option<AugTransforms> {
        (!self.no_aug).then(|| AugTransforms {
            max_rotate: self.max_rotate as f32,
            max_zoom: self.max_zoom as f32,
            max_warp: self.max_warp as f32,
            max_lighting: self.max_lighting as f32,
            flip_vert: self.flip_vert,
            ..AugTransforms::default()
        })
    }
}

/// Which network, and its pretrained weights.
#[derive(Args, Clone, Debug)]
pub struct ModelArgs {
    /// The network: resnet18, resnet34, resnet50, resnet18-small, efficientnet-lite0.
    #[arg(long, default_value = "resnet18")]
    pub arch: String,
    /// Pretrained weights for the body (a torchvision checkpoint, .pth or .safetensors, for a
    /// ResNet; efficientnet_lite0.safetensors for EfficientNet-Lite0): fine-tunes with fastai's
    /// head (`fine_tune`) instead of training from scratch (`fit_one_cycle`).
    #[arg(long, value_name = "FILE")]
    pub pretrained: Option<PathBuf>,
}

/// `--lr` when not given, fine-tuning a pretrained body (fastai's `fine_tune` base_lr).
pub const LR_FINE_TUNE: f64 = 2e-3;
/// `--lr` when not given, training from scratch (fastai's `fit_one_cycle` lr_max).
pub const LR_SCRATCH: f64 = 1e-3;

/// The training flags: core's shared `--epochs --lr --bs --seed --device --out --resume`, and
/// `fine_tune`'s `--freeze-epochs`.
#[derive(Args, Clone, Debug)]
pub struct FitArgs {
    /// Core's training flags (`--lr` also takes a range here: see [`LR_HELP`]).
    #[command(flatten)]
    pub common: TrainArgs,
    /// Epochs with the pretrained body frozen before the unfrozen ones (fastai's
    /// `freeze_epochs`; --pretrained only) [default: 1].
    #[arg(long, value_name = "N")]
    pub freeze_epochs: Option<usize>,
}

/// The help of vision's `--lr`: core's flag, with the range fine-tuning takes and the defaults.
pub const LR_HELP: &str = "Peak learning rate; START:STOP for discriminative rates (fastai's slice(START, STOP); with --pretrained only: the unfrozen epochs train the body at START up to the head at STOP); or `find` to run lr_find and train with its `valley` suggestion [default: 2e-3 with --pretrained (fastai's fine_tune), 1e-3 from scratch (fit_one_cycle)]";

/// The help of vision's `--epochs`.
pub const EPOCHS_HELP: &str = "Epochs to train (at least 1; with --pretrained, the epochs after the frozen ones)";

impl FitArgs {
    /// Refuses the flags that only act when fine-tuning a pretrained body.
    pub fn check_scratch(&self) -> Result<()> {
        if let Some(LrChoice::Range(a, b)) = self.common.lr {
            return Err(Error::invalid(
                "--lr",
                format!("{a:e}:{b:e} gives each parameter group its own rate, but a model trained from scratch has one group: pass --pretrained FILE to fine-tune, or one rate"),
            ));
        }
        if self.freeze_epochs.is_some() {
            return Err(Error::invalid("--freeze-epochs", "only a --pretrained body is frozen first (fastai's fine_tune); a model from scratch trains whole"));
        }
        Ok(())
    }
}

/// Label smoothing's `eps`, in `[0, 1)`.
fn smoothing(s: &str) -> std::result::Result<f64, String> {
    unit_f64(s).map_err(|e| format!("{e} (fastai's label smoothing uses eps 0.1)"))
}

/// Weight decay and the regularising losses of `train` and `lr-find`.
#[derive(Args, Clone, Debug)]
pub struct RegArgs {
    /// Weight decay, decoupled as fastai's Adam applies it (`true_wd`; biases and BatchNorm
    /// weights are not decayed).
    #[arg(long, default_value_t = 0.01, allow_hyphen_values = true, value_parser = non_negative_f64)]
    pub wd: f64,
    /// Label smoothing: the loss is fastai's `LabelSmoothingCrossEntropy(eps)`,
    /// `(1-eps)·nll + eps·mean(-log_softmax)` (fastai's choice is 0.1) [default: off].
    #[arg(long, value_name = "EPS", allow_hyphen_values = true, value_parser = smoothing)]
    pub label_smoothing: Option<f64>,
    /// MixUp (fastai's `MixUp(ALPHA)`, usually 0.4): training images are blended with others of
    /// their batch, weights drawn from Beta(ALPHA, ALPHA), and the loss blends both targets
    /// [default: off].
    #[arg(long, value_name = "ALPHA", allow_hyphen_values = true, value_parser = positive_f64)]
    pub mixup: Option<f64>,
}
