//! The `kindling-vision` command line.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use kindling_core::cli::{LrFindArgs, TrainArgs, attach_run_dir, prepare_run_dir, run_lr_find, train_lr};
use kindling_core::interpret::ClassificationInterpretation;
use kindling_core::learner::{CrossEntropyLoss, Learner};
use kindling_core::data::Splits;
use kindling_core::data::split::{GrandparentSplitter, RandomSplitter, Splitter};
use kindling_core::export::SplitRecord;
use kindling_core::learner::{RunInfo, SplitSizes};
use kindling_core::{DeviceChoice, Error, Result};

use crate::check::MAX_SIZE;
use crate::data::check::check_images;
use crate::data::dataset::{Preprocessing, VisionData, load};
use crate::data::decode::DecodeOptions;
use crate::data::resize::ResizeMethod;
use crate::data::sources::{LabelledItems, Source};
use crate::data::Normalize;
use crate::learner::{VisionModelConfig, vision_learner};
use crate::models::{ARCH_NAMES, ArchConfig};
use crate::predict::{VisionPredictor, export_vision};

/// Image classification as fastai's `vision_learner` does it.
#[derive(Parser)]
#[command(name = "kindling-vision", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train on labelled images; writes the model, metrics.json and history.png into --out.
    Train {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        common: TrainArgs,
    },
    /// The most likely classes of images, with a trained model (--model) or straight from
    /// pretrained ImageNet weights (--arch and --pretrained).
    Predict {
        /// The model file written by `train`.
        #[arg(long, required_unless_present = "pretrained", conflicts_with = "pretrained")]
        model: Option<PathBuf>,
        /// The architecture of --pretrained.
        #[arg(long, requires = "pretrained", default_value = "efficientnet-lite0")]
        arch: String,
        /// Pretrained ImageNet weights (e.g. ../shared/models/efficientnet-lite0/efficientnet_lite0.safetensors).
        #[arg(long)]
        pretrained: Option<PathBuf>,
        /// Class names, one per line (default: imagenet_classes.txt beside --pretrained).
        #[arg(long, requires = "pretrained")]
        classes: Option<PathBuf>,
        /// How many classes to show per image.
        #[arg(short, long, default_value_t = 3)]
        k: usize,
        /// Where to run: cpu or wgpu.
        #[arg(long, default_value = "cpu")]
        device: DeviceChoice,
        /// The images.
        images: Vec<PathBuf>,
    },
    /// Where a trained model goes wrong on the validation images: writes confusion_matrix.png,
    /// top_losses.png and interpretation.txt (confusion matrix, most confused classes,
    /// classification report) next to the model, or into --out.
    Interpret {
        /// The model file written by `train`.
        #[arg(long)]
        model: PathBuf,
        #[command(flatten)]
        data: DataArgs,
        /// Images in the top-losses grid.
        #[arg(long, default_value_t = 9)]
        k: usize,
        /// Pairs of classes confused at least this often are listed.
        #[arg(long, default_value_t = 1)]
        min_val: usize,
        /// Test-time augmentation: average over this many augmented passes (fastai's `tta`, n 4).
        #[arg(long, default_value_t = 0)]
        tta: usize,
        /// Batch size.
        #[arg(long, default_value_t = 64)]
        bs: usize,
        /// The seed that drew the model's random split (default: the one the model file
        /// records); a seed that rebuilds another validation set is refused.
        #[arg(long)]
        seed: Option<u64>,
        /// Where to run: cpu or wgpu.
        #[arg(long, default_value = "cpu")]
        device: DeviceChoice,
        /// Folder for the outputs (default: the model's folder).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// A PNG grid of augmented training images with their labels (fastai's `show_batch`).
    ShowBatch {
        #[command(flatten)]
        data: DataArgs,
        /// Normalise as for a pretrained body (ImageNet statistics, 3 channels).
        #[arg(long)]
        pretrained: bool,
        /// Images to show.
        #[arg(long, default_value_t = 16)]
        n: usize,
        /// Seed (split, shuffling and augmentation).
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// The PNG to write.
        #[arg(long, default_value = "runs/show_batch.png")]
        out: PathBuf,
    },
    /// Sweep learning rates and suggest one (writes lr_find.png and lr_find.json); with
    /// --pretrained, the body is frozen as after fastai's `vision_learner`.
    LrFind {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        common: LrFindArgs,
    },
}

/// Which network, and its pretrained weights.
#[derive(Args, Clone)]
struct ModelArgs {
    /// The network: resnet18, resnet34, resnet50, resnet18-small, efficientnet-lite0.
    #[arg(long, default_value = "resnet18")]
    arch: String,
    /// Pretrained weights for the body (a torchvision checkpoint, .pth or .safetensors, for a
    /// ResNet; efficientnet_lite0.safetensors for EfficientNet-Lite0): fine-tunes with fastai's
    /// head instead of training from scratch.
    #[arg(long)]
    pretrained: Option<PathBuf>,
}

/// Where the labelled images come from, how they are split, and how they are prepared. The
/// sources (`--images`, `--labels-csv`, `--mnist`, `--dataset`) exclude each other, except that
/// `--images` gives `--labels-csv` the folder its paths are relative to.
#[derive(Args, Clone)]
struct DataArgs {
    /// A folder of images labelled by their parent folder (split by `train`/`valid` grandparent
    /// folders when there are such, else at random); with --label-regex, labelled by file name;
    /// with --labels-csv, the folder the CSV's paths are relative to.
    #[arg(long, conflicts_with_all = ["mnist", "dataset"])]
    images: Option<PathBuf>,
    /// Label files by the first capture group of this regex on their name (pets: `^(.+)_\d+\.jpg$`).
    #[arg(long, requires = "images", conflicts_with = "labels_csv")]
    label_regex: Option<String>,
    /// A CSV of `file,label` (paths relative to --images when given, else to the CSV's folder).
    #[arg(long, conflicts_with_all = ["mnist", "dataset"])]
    labels_csv: Option<PathBuf>,
    /// A folder of MNIST/Fashion-MNIST idx files: train-* to train on and t10k-* to validate,
    /// or one images-idx3-ubyte.gz / labels-idx1-ubyte.gz pair split at random (--valid-pct).
    #[arg(long, conflicts_with = "dataset")]
    mnist: Option<PathBuf>,
    /// A data set fetched with `cargo xtask fetch` (pets, mnist_sample).
    #[arg(long)]
    dataset: Option<String>,
    /// Side of the square images are resized to, 1 to 4096 (default: keep 28×28 idx images as
    /// they are, 224 otherwise).
    #[arg(long)]
    size: Option<usize>,
    /// How images are resized: squish, crop, pad, resize-crop (shorter side to size/0.875,
    /// centre crop) [default: crop].
    #[arg(long)]
    method: Option<String>,
    /// Share of images to validate on, for a random split only [default: 0.2].
    #[arg(long)]
    valid_pct: Option<f64>,
    /// Train on the first N training items only (quick runs).
    #[arg(long)]
    limit_train: Option<usize>,
    /// Validate on the first N validation items only.
    #[arg(long)]
    limit_valid: Option<usize>,
    /// Train without fastai's `aug_transforms` (flip, rotate, zoom, warp, lighting).
    #[arg(long)]
    no_aug: bool,
    /// Names for the classes in their order, comma separated (idx files only number them:
    /// Fashion-MNIST's are `T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot`).
    #[arg(long, value_delimiter = ',')]
    class_names: Option<Vec<String>>,
}

/// `--valid-pct` when not given.
const VALID_PCT: f64 = 0.2;

/// How a split was made, in the flags that made it: written into the model file's
/// [`SplitRecord`] as its method (`random, --valid-pct 0.2, --limit-valid 32`), and read back
/// by `interpret` to rebuild the same split.
#[derive(Clone, Debug, Default, PartialEq)]
struct SplitFlags {
    /// `Some` for a random split.
    valid_pct: Option<f64>,
    limit_train: Option<usize>,
    limit_valid: Option<usize>,
}

impl SplitFlags {
    /// The record's method: the splitter (`random`, or `base` for a fixed one), then the flags.
    fn method(&self, base: &str) -> String {
        let mut m = match self.valid_pct {
            Some(p) => format!("random, --valid-pct {p}"),
            None => base.to_string(),
        };
        if let Some(n) = self.limit_train {
            m += &format!(", --limit-train {n}");
        }
        if let Some(n) = self.limit_valid {
            m += &format!(", --limit-valid {n}");
        }
        m
    }

    /// The flags written by [`SplitFlags::method`].
    fn parse(method: &str) -> Self {
        let flag = |name: &str| method.split(", ").find_map(|part| part.strip_prefix(name).map(str::trim));
        Self {
            valid_pct: flag("--valid-pct ").and_then(|v| v.parse().ok()),
            limit_train: flag("--limit-train ").and_then(|v| v.parse().ok()),
            limit_valid: flag("--limit-valid ").and_then(|v| v.parse().ok()),
        }
    }
}

/// FNV-1a, 64 bits: a stable fingerprint of an idx image's pixels for the split record.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

/// The folder every file is under (the data's root), so that keys survive moving the data.
fn common_root(files: &[&Path]) -> PathBuf {
    let Some(first) = files.first() else { return PathBuf::new() };
    let mut root: Vec<_> = first.parent().map(|p| p.components().collect()).unwrap_or_default();
    for f in &files[1..] {
        let n = root.iter().zip(f.components()).take_while(|(a, b)| **a == *b).count();
        root.truncate(n);
    }
    root.into_iter().collect()
}

/// The record of `splits` over `items`: keys are the files' paths below the data's root with
/// their labels, or an idx image's index, label and a fingerprint of its pixels.
fn split_record(method: &str, seed: u64, items: &LabelledItems, splits: &Splits) -> SplitRecord {
    let files: Vec<&Path> = items.items.iter().filter_map(|i| if let Source::File(p) = &i.source { Some(p.as_path()) } else { None }).collect();
    let root = common_root(&files);
    SplitRecord::new(method, seed, splits, |i| {
        let item = &items.items[i];
        match &item.source {
            Source::File(p) => format!("{}\t{}", p.strip_prefix(&root).unwrap_or(p).display(), item.label),
            Source::Idx(d, k) => format!("{k}\t{}\t{:016x}", item.label, fnv1a(d.image(*k))),
        }
    })
}

/// The first `n` of `v` (all of them for `None`).
fn cap(v: &[usize], n: Option<usize>) -> Vec<usize> {
    v[..n.unwrap_or(v.len()).min(v.len())].to_vec()
}

impl DataArgs {
    /// The split's flags as given (`--valid-pct` only when the split is random).
    fn split_flags(&self, random: bool) -> SplitFlags {
        SplitFlags { valid_pct: random.then(|| self.valid_pct.unwrap_or(VALID_PCT)), limit_train: self.limit_train, limit_valid: self.limit_valid }
    }

    /// `--valid-pct` given for a split that is not random is refused, naming the split.
    fn no_valid_pct(&self, why: &str) -> Result<()> {
        match self.valid_pct {
            Some(_) => Err(Error::invalid("--valid-pct", format!("{why}; --valid-pct applies to a random split only"))),
            None => Ok(()),
        }
    }

    /// The train and valid indices capped by --limit-train and --limit-valid, checked.
    fn limited(&self, n: usize, train: &[usize], valid: &[usize]) -> Result<Splits> {
        let (train, valid) = (cap(train, self.limit_train), cap(valid, self.limit_valid));
        if valid.is_empty() {
            let why = match (self.limit_valid, self.valid_pct) {
                (Some(0), _) => "--limit-valid 0".to_string(),
                (_, Some(p)) => format!("--valid-pct {p} of {n} items"),
                _ => format!("no validation items among {n}"),
            };
            return Err(Error::Data(format!("the validation set is empty ({why}): a model needs images to be measured on")));
        }
        if train.is_empty() {
            let why = if self.limit_train == Some(0) { "--limit-train 0".to_string() } else { format!("no training items among {n}") };
            return Err(Error::Data(format!("the training set is empty ({why})")));
        }
        Splits::new(n, train, valid, vec![], true)
    }

    /// idx files: `train-*` to train on and `t10k-*` to validate (MNIST's layout), or one
    /// `images-idx3-ubyte.gz` / `labels-idx1-ubyte.gz` pair split at random.
    fn idx_items(&self, dir: &Path, seed: u64) -> Result<(LabelledItems, Splits, String)> {
        if !dir.join("train-images-idx3-ubyte.gz").exists() && dir.join("images-idx3-ubyte.gz").exists() {
            let items = LabelledItems::from_mnist(&dir.join("images-idx3-ubyte.gz"), &dir.join("labels-idx1-ubyte.gz"))?;
            let s = RandomSplitter::new(self.valid_pct.unwrap_or(VALID_PCT), seed).split(&items.items.len()).map_err(|e| Error::invalid("--valid-pct", e.to_string()))?;
            let splits = self.limited(items.items.len(), &s.train, &s.valid)?;
            return Ok((items, splits, self.split_flags(true).method("")));
        }
        self.no_valid_pct(&format!("{} is split into its train-* and t10k-* files", dir.display()))?;
        let tr = LabelledItems::from_mnist(&dir.join("train-images-idx3-ubyte.gz"), &dir.join("train-labels-idx1-ubyte.gz"))?;
        let te = LabelledItems::from_mnist(&dir.join("t10k-images-idx3-ubyte.gz"), &dir.join("t10k-labels-idx1-ubyte.gz"))?;
        let n_train = self.limit_train.unwrap_or(tr.items.len()).min(tr.items.len());
        let n_valid = self.limit_valid.unwrap_or(te.items.len()).min(te.items.len());
        let mut all = tr.items[..n_train].to_vec();
        all.extend(te.items[..n_valid].iter().cloned());
        let n = all.len();
        let splits = self.limited(n, &(0..n_train).collect::<Vec<_>>(), &(n_train..n).collect::<Vec<_>>())?;
        Ok((LabelledItems { items: all, classes: tr.classes }, splits, self.split_flags(false).method("idx train-*/t10k-* files")))
    }

    /// The items, their split (with its record, drawn with `seed` when random) and the
    /// preprocessing: ImageNet's statistics when `pretrained`, else the training images'.
    fn load(&self, seed: u64, pretrained: bool) -> Result<(VisionData, SplitRecord)> {
        if let Some(s) = self.size.filter(|&s| s == 0 || s > MAX_SIZE) {
            return Err(Error::invalid("--size", format!("{s} is not an image side in 1..={MAX_SIZE}")));
        }
        let name = self.method.as_deref().unwrap_or("crop");
        let method = ResizeMethod::parse(name)
            .ok_or_else(|| Error::invalid("--method", format!("'{name}' is not one of {}", ResizeMethod::NAMES.join(", "))))?;
        let (items, splits, split_method, default_size, channels) = if let Some(dir) = &self.mnist {
            let (items, splits, m) = self.idx_items(dir, seed)?;
            (items, splits, m, 28, if pretrained { 3 } else { 1 })
        } else {
            let items = match (&self.images, &self.label_regex, &self.labels_csv, &self.dataset) {
                (_, _, _, Some(name)) => crate::datasets::locate(name)?,
                (Some(dir), Some(re), _, _) => LabelledItems::from_regex(dir, re)?,
                (root, None, Some(csv), _) => {
                    let root = root.clone().unwrap_or_else(|| csv.parent().map(Path::to_path_buf).unwrap_or_default());
                    LabelledItems::from_csv(csv, &root)?
                }
                (Some(dir), None, None, _) => LabelledItems::from_folder(dir)?,
                _ => return Err(Error::invalid("data", "give --images DIR, --labels-csv FILE, --mnist DIR or --dataset NAME")),
            };
            check_images(&items, DecodeOptions::default())?;
            let files: Vec<PathBuf> = items.items.iter().filter_map(|i| if let Source::File(p) = &i.source { Some(p.clone()) } else { None }).collect();
            let grandparents = GrandparentSplitter::default().split(&files[..]);
            let n = items.items.len();
            let (splits, m) = match grandparents {
                Ok(s) if self.label_regex.is_none() && self.dataset.as_deref() != Some("pets") => {
                    self.no_valid_pct("the images are split by their train/valid folders")?;
                    (self.limited(n, &s.train, &s.valid)?, self.split_flags(false).method("train/valid folders"))
                }
                _ => {
                    let s = RandomSplitter::new(self.valid_pct.unwrap_or(VALID_PCT), seed).split(&n).map_err(|e| Error::invalid("--valid-pct", e.to_string()))?;
                    (self.limited(n, &s.train, &s.valid)?, self.split_flags(true).method(""))
                }
            };
            (items, splits, m, 224, 3)
        };
        let items = match &self.class_names {
            Some(names) => items.rename_classes(names)?,
            None => items,
        };
        let record = split_record(&split_method, seed, &items, &splits);
        let items = Arc::new(items);
        let normalize = if pretrained {
            Normalize::imagenet()
        } else {
            let sample: Vec<_> = splits.train.iter().take(1000).map(|&i| load(&items.items[i].source, DecodeOptions { channels, ..Default::default() })).collect::<Result<_>>()?;
            Normalize::from_images(sample.iter(), channels)
        };
        let pre = Preprocessing { size: self.size.unwrap_or(default_size), method, channels, normalize };
        let augment = (!self.no_aug).then(crate::data::augment::AugTransforms::default);
        Ok((VisionData { items, splits, pre, augment }, record))
    }
}

/// The architecture for `arch`: from scratch, or a body for `vision_learner`'s head (then the
/// data is normalised as the pretrained weights expect).
fn model_config(arch: &str, pretrained: bool, data: &mut VisionData) -> Result<VisionModelConfig> {
    let n_classes = data.items.classes.len();
    let arch_cfg = ArchConfig::by_name(arch, data.pre.channels, n_classes).ok_or_else(|| {
        Error::invalid("--arch", format!("'{arch}' is not one of {} (for {} input channels)", ARCH_NAMES.join(", "), data.pre.channels))
    })?;
    if pretrained {
        data.pre.normalize = arch_cfg.pretrained_normalize();
    }
    Ok(if pretrained { VisionModelConfig::transfer(arch_cfg, n_classes) } else { VisionModelConfig::scratch(arch_cfg) })
}

/// Parses the command line, runs it, and turns an error into a message and a failure code.
pub fn main() -> ExitCode {
    kindling_core::cli::exit(run(Cli::parse()))
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train { data, model: ModelArgs { arch, pretrained }, common } => {
            prepare_run_dir(&common.out, common.resume)?;
            let device = common.device.device()?;
            device.seed(common.seed);
            let (mut data, split) = data.load(common.seed, pretrained.is_some())?;
            let n_classes = data.items.classes.len();
            let config = model_config(&arch, pretrained.is_some(), &mut data)?;
            let (train, valid, test) = data.splits.sizes();
            println!("{train} training and {valid} validation images of {n_classes} classes, {}×{} pixels", data.pre.size, data.pre.size);
            let dls = data.dataloaders(common.bs, common.seed, &device)?;
            let learn = vision_learner(&config, pretrained.as_deref(), &dls, &device)?;
            let info = RunInfo { seed: common.seed, device: common.device.to_string(), splits: SplitSizes { train, valid, test } };
            let mut learn = attach_run_dir(learn, &common, info)?;
            if pretrained.is_some() {
                let lr = train_lr(&mut learn, &common, 2e-3)?;
                learn.fine_tune(common.epochs, lr)?;
            } else {
                let lr = train_lr(&mut learn, &common, 1e-3)?;
                learn.fit_one_cycle(common.epochs, lr)?;
            }
            let path = common.out.join("model.safetensors");
            export_vision(&path, learn.model(), &config, &data.pre, &data.items.classes, Some(split))?;
            println!("model written to {}", path.display());
            Ok(())
        }
        Command::Interpret { model, mut data, k, min_val, tta, bs, seed, device, out } => {
            let device = device.device()?;
            let p = VisionPredictor::load(&model, &device)?;
            if let Some(size) = data.size.filter(|&s| s != p.pre.size) {
                return Err(Error::invalid("--size", format!("{size}: {} was trained on {s}×{s} images, and interpret prepares them so", model.display(), s = p.pre.size)));
            }
            if let Some(m) = data.method.as_deref().filter(|m| ResizeMethod::parse(m) != Some(p.pre.method)) {
                return Err(Error::invalid("--method", format!("{m}: {} was trained with --method {}, and interpret resizes so", model.display(), p.pre.method.name())));
            }
            if data.no_aug && tta == 0 {
                return Err(Error::invalid("--no-aug", "interpret augments only with --tta N; without it there is nothing to turn off"));
            }
            // The split the model was measured on: its seed and flags unless given here.
            let seed = match (&p.split, seed) {
                (_, Some(s)) => s,
                (Some(r), None) => r.seed,
                (None, None) => 42,
            };
            if let Some(r) = &p.split {
                let recorded = SplitFlags::parse(&r.method);
                data.limit_train = data.limit_train.or(recorded.limit_train);
                data.limit_valid = data.limit_valid.or(recorded.limit_valid);
                data.valid_pct = data.valid_pct.or(recorded.valid_pct);
            }
            // Three channels load as for a pretrained body (no statistics to compute); the model's
            // own preprocessing replaces the loaded one below.
            let (mut data, now) = data.load(seed, p.pre.channels == 3)?;
            // Other classes first: a relabelled data set also changes the split's keys.
            if data.items.classes != p.classes {
                return Err(Error::Data(format!(
                    "{} was trained on the classes [{}], these images have [{}]",
                    model.display(),
                    p.classes.join(", "),
                    data.items.classes.join(", ")
                )));
            }
            match &p.split {
                Some(r) => r.check_same(&now).map_err(|diff| {
                    Error::Data(format!(
                        "{}: this data and these flags do not rebuild the validation set the model was measured on ({diff}); interpreting them could score training images",
                        model.display()
                    ))
                })?,
                None => eprintln!(
                    "warning: {} does not record its split (written by an older kindling): the validation set is rebuilt with --seed {seed} and may hold training images",
                    model.display()
                ),
            }
            let out = out.unwrap_or_else(|| model.parent().map(PathBuf::from).unwrap_or_default());
            std::fs::create_dir_all(&out).map_err(|e| Error::io(&out, e))?;
            data.pre = p.pre.clone();
            let dls = data.dataloaders(bs, seed, &device)?;
            let learn = Learner::new(p.model().clone(), &dls, CrossEntropyLoss).quiet();
            let preds = if tta > 0 { learn.tta(&dls.augmented_valid(), tta, 0.25)? } else { learn.get_valid_preds()? };
            let interp = ClassificationInterpretation::from_predictions(&preds, p.classes.clone())?;
            interp.plot_confusion_matrix(&out.join("confusion_matrix.png"))?;
            crate::interpret::plot_top_losses(&interp, &data, &p.pre, k, &out.join("top_losses.png"))?;
            let mut text = format!("{} validation images, accuracy {:.4}{}\n\n", interp.len(), interp.accuracy(), if tta > 0 { format!(" (TTA, {tta} passes)") } else { String::new() });
            text += &interp.confusion_text();
            text += "\nmost confused (actual → predicted: count):\n";
            for (a, p, n) in interp.most_confused(min_val) {
                text += &format!("  {a} → {p}: {n}\n");
            }
            text += &format!("\n{}", interp.report());
            kindling_core::io::write_atomic(&out.join("interpretation.txt"), text.as_bytes())?;
            print!("{text}");
            println!("\nconfusion_matrix.png, top_losses.png and interpretation.txt written to {}", out.display());
            Ok(())
        }
        Command::ShowBatch { data, pretrained, n, seed, out } => {
            let device = burn::tensor::Device::flex();
            let (data, _) = data.load(seed, pretrained)?;
            let dls = data.dataloaders(n.max(1), seed, &device)?;
            if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            }
            crate::interpret::show_batch(&dls, &data.pre.normalize, &data.items.classes, n, &out)?;
            println!("{} written", out.display());
            Ok(())
        }
        Command::LrFind { data, model: ModelArgs { arch, pretrained }, common } => {
            let device = common.device.device()?;
            device.seed(common.seed);
            let (mut data, _) = data.load(common.seed, pretrained.is_some())?;
            let config = model_config(&arch, pretrained.is_some(), &mut data)?;
            let dls = data.dataloaders(common.bs, common.seed, &device)?;
            let mut learn = vision_learner(&config, pretrained.as_deref(), &dls, &device)?.quiet();
            if pretrained.is_some() {
                learn.freeze();
            }
            run_lr_find(&mut learn, &common).map(|_| ())
        }
        Command::Predict { model, arch, pretrained, classes, k, device, images } => {
            let device = device.device()?;
            let p = match (model, pretrained) {
                (Some(m), _) => VisionPredictor::load(&m, &device)?,
                (None, Some(w)) => {
                    let list = classes.unwrap_or_else(|| w.with_file_name("imagenet_classes.txt"));
                    let text = std::fs::read_to_string(&list).map_err(|e| Error::io(&list, e))?;
                    let names: Vec<String> = text.lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect();
                    VisionPredictor::from_pretrained(&arch, &w, names, &device)?
                }
                (None, None) => return Err(Error::invalid("predict", "give --model, or --arch and --pretrained")),
            };
            for img in images {
                let top: Vec<String> = p.top_k(&img, k)?.into_iter().map(|(c, pr)| format!("{c} {pr:.3}")).collect();
                println!("{}: {}", img.display(), top.join(", "));
            }
            Ok(())
        }
    }
}
