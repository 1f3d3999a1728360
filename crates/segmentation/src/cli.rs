//! The `kindling-segmentation` command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use kindling_core::cli::{LrFindArgs, TrainArgs, attach_run_dir, prepare_run_dir, run_lr_find, start_from, train_lr, train_lrs};
use kindling_core::learner::{FineTune, RunInfo, SplitSizes};
use kindling_core::{DeviceChoice, Error, Result};

use crate::data::{Codes, MaskLayout, SegData, SegDataOptions, SplitChoice};
use crate::interpret::{check_data_matches, interpret};
use crate::learner::unet_learner;
pub use crate::model::ENCODERS;
use crate::model::{UnetConfig, encoder_by_name};
use crate::predict::{FITTED, SegPredictor, export_segmentation, segmentation_header, write_prediction};
use crate::show_batch::show_batch;

/// Semantic segmentation as fastai's `unet_learner` does it.
#[derive(Parser)]
#[command(name = "kindling-segmentation", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train a U-Net on images and masks; writes the model, metrics.json and history.png into --out.
    #[command(mut_arg("lr", |a| a.value_name("LR|START:STOP|find").help(
        "Peak learning rate; START:STOP for discriminative rates (fastai's slice(START, STOP); with --pretrained only: the unfrozen epochs train the encoder at START up to the decoder at STOP); or `find` to run lr_find and train with its `valley` suggestion [default: 2e-3 with --pretrained (fastai's fine_tune), 1e-3 from scratch (fit_one_cycle)]"
    )))]
    Train {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        aug: AugArgs,
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        common: TrainArgs,
    },
    /// Predict the mask of images with a trained model: writes STEM_mask.png (class ids) and
    /// STEM_overlay.png into --out and prints each image's class proportions.
    Predict {
        /// The model file written by `train`.
        #[arg(long)]
        model: PathBuf,
        #[arg(long, default_value = "cpu", help = kindling_core::cli::DEVICE_HELP)]
        device: DeviceChoice,
        /// Folder for the masks and overlays.
        #[arg(long, default_value = "predictions")]
        out: PathBuf,
        /// The images.
        #[arg(required = true)]
        images: Vec<PathBuf>,
    },
    /// Where a trained model goes wrong on the validation images (fastai's `show_results`):
    /// writes show_results.png (image / truth / prediction of the worst-Dice images) and
    /// interpretation.json, and prints each class's IoU, next to the model or into --out.
    Interpret {
        /// The model file written by `train`.
        #[arg(long)]
        model: PathBuf,
        #[command(flatten)]
        data: DataArgs,
        /// Images in the grid (those with the lowest Dice).
        #[arg(short, long, visible_short_alias = 'k', default_value_t = 9)]
        n: usize,
        /// Batch size.
        #[arg(long, default_value_t = 16)]
        bs: usize,
        /// The seed that drew the model's random split (default: the one the model file
        /// records); a seed that rebuilds another validation set is refused.
        #[arg(long)]
        seed: Option<u64>,
        #[arg(long, default_value = "cpu", help = kindling_core::cli::DEVICE_HELP)]
        device: DeviceChoice,
        /// Folder for the outputs (default: the model's folder).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// A PNG of training images with their masks overlaid, from the batches `train` sees
    /// (resized and augmented as there; fastai's `show_batch`).
    ShowBatch {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        aug: AugArgs,
        /// Images to show.
        #[arg(short, long, visible_short_alias = 'k', default_value_t = 9)]
        n: usize,
        /// Seed (split, shuffling and augmentation).
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// The PNG to write.
        #[arg(long, default_value = "runs/show_batch.png")]
        out: PathBuf,
    },
    /// Sweep learning rates and suggest one (writes lr_find.png and lr_find.json); with
    /// --pretrained, the encoder is frozen as after fastai's `unet_learner`.
    LrFind {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        aug: AugArgs,
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        common: LrFindArgs,
    },
}

/// Augmentation of the training pairs.
#[derive(Args, Clone)]
struct AugArgs {
    /// Train without augmentation (by default, fastai's `aug_transforms()`: flips, rotation,
    /// zoom, warp and lighting, the mask following every geometric change).
    #[arg(long)]
    no_aug: bool,
}

impl AugArgs {
    /// `data` with augmentation turned off when asked.
    fn apply(&self, data: SegData) -> SegData {
        if self.no_aug { data.with_augment(None) } else { data }
    }
}

/// Which encoder, and its pretrained weights.
#[derive(Args, Clone)]
struct ModelArgs {
    /// The encoder: resnet18, resnet34, resnet50, resnet18-small, efficientnet-lite0.
    #[arg(long, default_value = "resnet18")]
    arch: String,
    /// Pretrained weights for the encoder (a torchvision checkpoint, .pth or .safetensors, for a
    /// ResNet; an `efficientnet_pytorch`-layout .safetensors for EfficientNet-Lite0): they are
    /// loaded, the encoder frozen, and training is fastai's `fine_tune`; without them, the
    /// U-Net trains from scratch with `fit_one_cycle`.
    #[arg(long)]
    pretrained: Option<PathBuf>,
    /// Blur after each upsampling of the decoder (fastai's `blur=True`).
    #[arg(long)]
    blur: bool,
    /// Self-attention in the decoder (fastai's `self_attention=True`).
    #[arg(long)]
    self_attention: bool,
}

#[derive(Args, Clone)]
struct DataArgs {
    /// A folder in fastai's CamVid layout: images/, labels/NAME_P.png, codes.txt and, when
    /// present, valid.txt.
    #[arg(long, conflicts_with_all = ["images", "masks"])]
    path: Option<PathBuf>,
    /// A folder of images (searched recursively).
    #[arg(long, requires = "masks")]
    images: Option<PathBuf>,
    /// A folder of masks named after the images (`STEM{suffix}.png` for `STEM.jpg`).
    #[arg(long, requires = "images")]
    masks: Option<PathBuf>,
    /// Added to an image's stem to name its mask (default: `_P` with --path, else nothing).
    #[arg(long)]
    mask_suffix: Option<String>,
    /// The class names, one a line in id order (default: codes.txt with --path; without one,
    /// the classes are numbered 0 to the largest id in the masks).
    #[arg(long)]
    codes: Option<PathBuf>,
    /// The images to validate on, one file name a line (default: valid.txt with --path, else
    /// --valid-folders, --valid-match, or a random --valid-pct).
    #[arg(long)]
    valid_list: Option<PathBuf>,
    /// Split by the folder each image is in: train/, valid/ and (held out) test/.
    #[arg(long, conflicts_with_all = ["valid_list", "valid_match"])]
    valid_folders: bool,
    /// Images whose file name contains this text validate, the others train (default: none).
    #[arg(long, conflicts_with = "valid_list")]
    valid_match: Option<String>,
    /// Share of images to validate on when there is no validation list, folder or match.
    #[arg(long, default_value_t = 0.2)]
    valid_pct: f64,
    /// A class the loss and metrics ignore, a name from the codes or its id (default: none).
    #[arg(long)]
    void: Option<String>,
    /// Resize (squish) every image and mask to N×N (default: keep their common size).
    #[arg(long)]
    size: Option<usize>,
    /// Read images with 1 (grey) or 3 (RGB, fastai's choice) channels.
    #[arg(long, default_value_t = 3)]
    channels: usize,
    /// Masks hold 0 for background and anything else for the object (0/255 masks).
    #[arg(long)]
    binary_masks: bool,
    /// Train on the first N training items only (quick runs) [default: all].
    #[arg(long)]
    limit_train: Option<usize>,
    /// Validate on the first N validation items only [default: all].
    #[arg(long)]
    limit_valid: Option<usize>,
}

impl DataArgs {
    fn load(&self, seed: u64) -> Result<SegData> {
        if self.channels != 1 && self.channels != 3 {
            return Err(Error::invalid("--channels", format!("{}: images are read with 1 (grey) or 3 (RGB) channels", self.channels)));
        }
        let (layout, default_codes, default_valid) = match (&self.path, &self.images, &self.masks) {
            (Some(p), _, _) => {
                let mut l = MaskLayout::camvid(p);
                if let Some(s) = &self.mask_suffix {
                    l.suffix = s.clone();
                }
                let existing = |f: &str| Some(p.join(f)).filter(|f| f.is_file());
                (l, existing("codes.txt"), existing("valid.txt"))
            }
            (None, Some(images), Some(masks)) => {
                (MaskLayout { images: images.clone(), masks: masks.clone(), suffix: self.mask_suffix.clone().unwrap_or_default() }, None, None)
            }
            _ => return Err(Error::invalid("data", "give --path DIR (CamVid layout) or --images DIR --masks DIR")),
        };
        let codes_file = self.codes.clone().or(default_codes);
        let codes = codes_file.as_deref().map(Codes::read).transpose()?;
        let codes_origin = codes_file.as_deref().map_or("the numbered classes".to_string(), |p| p.display().to_string());
        let split = match (self.valid_list.clone(), self.valid_folders, &self.valid_match, default_valid) {
            (Some(list), ..) => SplitChoice::ValidList(list),
            (None, true, ..) => SplitChoice::Folders,
            (None, false, Some(text), _) => SplitChoice::NameContains(text.clone()),
            (None, false, None, Some(list)) => SplitChoice::ValidList(list),
            (None, false, None, None) => {
                if !(self.valid_pct > 0.0 && self.valid_pct < 1.0) {
                    return Err(Error::invalid("--valid-pct", format!("{} is not between 0 and 1", self.valid_pct)));
                }
                SplitChoice::Random { valid_pct: self.valid_pct, seed }
            }
        };
        let opts = SegDataOptions {
            codes,
            codes_origin,
            void: self.void.clone(),
            size: self.size,
            channels: self.channels,
            binary: self.binary_masks,
            split,
            limit_train: self.limit_train,
            limit_valid: self.limit_valid,
        };
        SegData::load(&layout, &opts)
    }
}

/// The U-Net for `arch` on `data` (normalised as the pretrained encoder's weights were trained
/// when there are any).
fn model_config(args: &ModelArgs, data: &mut SegData) -> Result<UnetConfig> {
    if !ENCODERS.contains(&args.arch.as_str()) {
        return Err(Error::invalid("--arch", format!("'{}' is not one of {}", args.arch, ENCODERS.join(", "))));
    }
    let encoder = encoder_by_name(&args.arch, data.pre.channels)
        .ok_or_else(|| Error::invalid("--arch", format!("{} takes RGB images: drop --channels {}", args.arch, data.pre.channels)))?;
    if args.pretrained.is_some() {
        if data.pre.channels != 3 {
            return Err(Error::invalid("--pretrained", "ImageNet weights take RGB images: drop --channels 1"));
        }
        data.pre.normalize = encoder.pretrained_normalize();
    }
    Ok(UnetConfig { blur: args.blur, self_attention: args.self_attention, ..UnetConfig::new(encoder, data.codes.len(), data.pre.size) })
}

/// Parses the command line, runs it, and turns an error into a message and a failure code.
pub fn main() -> ExitCode {
    kindling_core::cli::exit(run(Cli::parse()))
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train { data, aug, model, common } => {
            prepare_run_dir(&common.out, common.resume)?;
            let device = common.device.device()?;
            device.seed(common.seed);
            let mut data = aug.apply(data.load(common.seed)?);
            let config = model_config(&model, &mut data)?;
            let (train, valid, test) = data.splits.sizes();
            println!(
                "{train} training and {valid} validation images, {}×{} pixels, {} classes ({}){}",
                data.pre.size[1],
                data.pre.size[0],
                data.codes.len(),
                data.codes.names.join(", "),
                data.codes.void.map_or(String::new(), |v| format!("; void: {}", data.codes.names[v]))
            );
            let dls = data.dataloaders(common.bs, common.seed, &device)?;
            let learn = unet_learner(&config, model.pretrained.as_deref(), &dls, &data.codes, &device)?;
            let info = RunInfo { seed: common.seed, device: common.device.to_string(), splits: SplitSizes { train, valid, test } };
            let mut learn = attach_run_dir(learn, &common, info)?;
            start_from(&mut learn, &common, || segmentation_header(&config, &data.pre, &data.codes), &FITTED)?;
            if model.pretrained.is_some() {
                let (lr, ft) = train_lrs(&mut learn, &common, 2e-3)?.fine_tune(FineTune::default());
                learn.fine_tune_with(common.epochs, lr, ft)?;
            } else {
                let lr = train_lr(&mut learn, &common, 1e-3)?;
                learn.fit_one_cycle(common.epochs, lr)?;
            }
            let path = common.out.join("model.safetensors");
            export_segmentation(&path, learn.model(), &config, &data.pre, &data.codes, Some(data.split_record(common.seed)))?;
            println!("model written to {}", path.display());
            Ok(())
        }
        Command::LrFind { data, aug, model, common } => {
            let device = common.device.device()?;
            device.seed(common.seed);
            let mut data = aug.apply(data.load(common.seed)?);
            let config = model_config(&model, &mut data)?;
            let dls = data.dataloaders(common.bs, common.seed, &device)?;
            let mut learn = unet_learner(&config, model.pretrained.as_deref(), &dls, &data.codes, &device)?.quiet();
            run_lr_find(&mut learn, &common).map(|_| ())
        }
        Command::Interpret { model, data, n, bs, seed, device, out } => {
            let device = device.device()?;
            let p = SegPredictor::load(&model, &device)?;
            let seed = seed.or(p.split.as_ref().map(|r| r.seed)).unwrap_or(42);
            let mut data = data.load(seed)?;
            check_data_matches(&p, &data, seed, &model)?;
            // The model's size and normalisation, whatever --size says.
            data.pre = p.pre.clone();
            let dls = data.dataloaders(bs, seed, &device)?;
            let names: Vec<String> = data.splits.valid.iter().map(|&i| data.items[i].name()).collect();
            let interp = interpret(p.model(), &dls, &p.pre.normalize, &p.codes, &names, n)?;
            let out = out.unwrap_or_else(|| model.parent().map(PathBuf::from).unwrap_or_default());
            std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
            let (png, json) = (out.join("show_results.png"), out.join("interpretation.json"));
            interp.plot(&png, &p.codes)?;
            let text = serde_json::to_string_pretty(&interp).map_err(|e| Error::Data(format!("{}: {e}", json.display())))?;
            kindling_core::io::write_atomic(&json, text.as_bytes())?;
            let score = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.4}"));
            println!("{} validation images: pixel accuracy {}, dice_multi {}\n", interp.n_images, score(interp.pixel_accuracy), score(interp.dice_multi));
            print!("{}", interp.table());
            let worst: Vec<String> = interp.worst.iter().map(|w| format!("{} {:.3}", w.image, w.dice)).collect();
            println!("\nworst Dice: {}\n{} and {} written", worst.join(", "), png.display(), json.display());
            Ok(())
        }
        Command::ShowBatch { data, aug, n, seed, out } => {
            let device = burn::tensor::Device::flex();
            let data = aug.apply(data.load(seed)?);
            let dls = data.dataloaders(n.max(1), seed, &device)?;
            if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            }
            let k = show_batch(&dls, &data.pre.normalize, &data.codes, n, &out)?;
            println!("{k} training images with their masks written to {}", out.display());
            Ok(())
        }
        Command::Predict { model, device, out, images } => {
            let device = device.device()?;
            let p = SegPredictor::load(&model, &device)?;
            std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
            for img in &images {
                predict_one(&p, img, &out)?;
            }
            Ok(())
        }
    }
}

fn predict_one(p: &SegPredictor, img: &Path, out: &Path) -> Result<()> {
    let pred = p.predict_file(img)?;
    let props = pred.proportions(p.codes.len());
    let mut order: Vec<usize> = (0..props.len()).filter(|&c| props[c] > 0.0).collect();
    order.sort_by(|&a, &b| props[b].total_cmp(&props[a]));
    let shown: Vec<String> = order.iter().map(|&c| format!("{} {:.3}", p.codes.names[c], props[c])).collect();
    let (mask, overlay) = write_prediction(out, img, &pred, &p.codes)?;
    println!("{}: {}  ({}, {})", img.display(), shown.join(", "), mask.display(), overlay.display());
    Ok(())
}
