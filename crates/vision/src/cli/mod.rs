//! The `kindling-vision` command line.

mod args;
mod data;
mod predict;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::builder::TypedValueParser as _;
use clap::{Args, Parser, Subcommand};
use kindling_core::cli::{DEVICE_HELP, LrFindArgs, attach_run_dir, prepare_run_dir, run_lr_find, start_from, train_lr, train_lrs};
use kindling_core::data::DataLoaders;
use kindling_core::interpret::ClassificationInterpretation;
use kindling_core::learner::{CrossEntropyLoss, FineTune, Learner, RunInfo, SplitSizes};
use kindling_core::schedule::{LrSpec, OneCycle};
use kindling_core::{DeviceChoice, Error, Result};

use self::args::{AugArgs, DataArgs, EPOCHS_HELP, FitArgs, LR_FINE_TUNE, LR_HELP, LR_SCRATCH, ModelArgs, PrepArgs, RegArgs, SourceArgs, SplitArgs};
use self::data::{RUN_DATA, RunData, SplitFlags};
use crate::data::resize::ResizeMethod;
use crate::data::{Image, ImageBatch, VisionData};
use crate::learner::{LearnerOptions, VisionModel, VisionModelConfig, vision_learner_with};
use crate::mixup::MixUp;
use crate::models::{ARCH_NAMES, ArchConfig};
use crate::output::Format;
use crate::predict::{FITTED, VisionPredictor, export_vision, vision_header};

/// Image classification as fastai's `vision_learner` does it.
#[derive(Parser)]
#[command(name = "kindling-vision", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Train on labelled images; writes the model, metrics.json, history.png and data.json
    /// (where the data came from, for `interpret`) into --out.
    #[command(mut_arg("lr", |a| a.help(LR_HELP).value_name("LR|START:STOP|find")), mut_arg("epochs", |a| a.help(EPOCHS_HELP)))]
    Train {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        aug: AugArgs,
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        fit: FitArgs,
        #[command(flatten)]
        reg: RegArgs,
    },
    /// The most likely classes of images (files, or folders of them), with a trained model
    /// (--model) or straight from pretrained ImageNet weights (--arch and --pretrained), as a
    /// table, CSV or JSON.
    Predict {
        /// The model file written by `train`.
        #[arg(long, value_name = "FILE", conflicts_with = "pretrained")]
        model: Option<PathBuf>,
        /// The architecture of --pretrained.
        #[arg(long, requires = "pretrained", default_value = "efficientnet-lite0")]
        arch: String,
        /// Pretrained ImageNet weights (e.g. ../shared/models/efficientnet-lite0/efficientnet_lite0.safetensors).
        #[arg(long, value_name = "FILE")]
        pretrained: Option<PathBuf>,
        /// Class names, one per line (default: imagenet_classes.txt beside --pretrained).
        #[arg(long, value_name = "FILE", requires = "pretrained")]
        classes: Option<PathBuf>,
        /// How many classes to show per image (at least 1).
        #[arg(short = 'k', long = "k", visible_short_alias = 'n', default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..).map(|v| v as usize))]
        k: usize,
        /// How to print the predictions: table (aligned, with headers), csv or json.
        #[arg(long, value_enum, default_value_t = Format::Table, hide_possible_values = true)]
        format: Format,
        /// Write the predictions to this new file (default: print them; written whole or not
        /// at all; an existing file is never replaced).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// The device (its help is core's DEVICE_HELP).
        #[arg(long, default_value = "cpu", help = DEVICE_HELP)]
        device: DeviceChoice,
        /// Image files, or folders whose images are all predicted.
        images: Vec<PathBuf>,
    },
    /// Where a trained model goes wrong on the validation images: writes confusion_matrix.png,
    /// top_losses.png and interpretation.txt (confusion matrix, most confused classes,
    /// classification report) next to the model, or into --out. The data, the class names,
    /// the split and its seed are the training run's (its data.json and the model file) unless
    /// given here.
    Interpret {
        /// The model file written by `train`.
        #[arg(long, value_name = "FILE")]
        model: PathBuf,
        #[command(flatten)]
        data: InterpretData,
        /// Images in the top-losses grid.
        #[arg(short = 'k', long = "k", visible_short_alias = 'n', default_value_t = 9)]
        k: usize,
        /// Pairs of classes confused at least this often are listed.
        #[arg(long, default_value_t = 1)]
        min_val: usize,
        /// Test-time augmentation: average over this many augmented passes (fastai's `tta`, n 4),
        /// augmented as the training run was (0: none).
        #[arg(long, default_value_t = 0)]
        tta: usize,
        /// Batch size.
        #[arg(long, default_value_t = 64)]
        bs: usize,
        /// The seed that drew the model's random split (default: the one the model file
        /// records); a seed that rebuilds another validation set is refused.
        #[arg(long)]
        seed: Option<u64>,
        /// The device (its help is core's DEVICE_HELP).
        #[arg(long, default_value = "cpu", help = DEVICE_HELP)]
        device: DeviceChoice,
        /// Folder for the outputs (default: the model's folder).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// A PNG grid of augmented training images with their labels (fastai's `show_batch`).
    ShowBatch {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        aug: AugArgs,
        /// Images to show.
        #[arg(short = 'n', long = "n", visible_short_alias = 'k', default_value_t = 16)]
        n: usize,
        /// Seed (split, shuffling and augmentation).
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// The PNG to write.
        #[arg(long, default_value = "runs/show_batch.png")]
        out: PathBuf,
    },
    /// Sweep learning rates and suggest one (writes lr_find.png and lr_find.json into --out);
    /// with --pretrained, the body is frozen as after fastai's `vision_learner`. Takes train's
    /// data, augmentation, model and regularisation flags, so it sweeps the model `train` fits.
    LrFind {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        aug: AugArgs,
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        reg: RegArgs,
        #[command(flatten)]
        common: LrFindArgs,
    },
}

/// `interpret`'s data: the source (default: the training run's data.json) and the split flags
/// (default: the ones the model file records). `--size`, `--method` and `--limit-train` are
/// hidden: the model file fixes them, and they are only accepted to refuse another value by
/// name.
#[derive(Args, Clone, Debug)]
struct InterpretData {
    #[command(flatten)]
    source: SourceArgs,
    /// Share of images the model validated on, for a random split only (default: what the
    /// model file records, else 0.2).
    #[arg(long)]
    valid_pct: Option<f64>,
    /// Validate on the first N validation items only (default: what the model file records).
    #[arg(long)]
    limit_valid: Option<usize>,
    #[arg(long, hide = true)]
    limit_train: Option<usize>,
    #[arg(long, hide = true)]
    size: Option<usize>,
    #[arg(long, hide = true)]
    method: Option<String>,
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

type Loaders = DataLoaders<(Image, usize), ImageBatch>;

/// The loaders of `data`, with MixUp on the training batches when `reg` asks for it, and the
/// learner options `reg` sets.
fn loaders(data: &VisionData, reg: &RegArgs, bs: usize, seed: u64, device: &burn::tensor::Device) -> Result<(Loaders, LearnerOptions)> {
    let mut dls = data.dataloaders(bs, seed, device)?;
    if let Some(alpha) = reg.mixup {
        dls.train = dls.train.with_batch_tfm(MixUp::new(alpha, data.items.classes.len())?);
    }
    Ok((dls, LearnerOptions { wd: reg.wd, label_smoothing: reg.label_smoothing.unwrap_or(0.0) }))
}

/// Parses the command line, runs it, and turns an error into a message and a failure code.
pub fn main() -> ExitCode {
    kindling_core::cli::exit(run(Cli::parse()))
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train { data, aug, model, fit, reg } => train(data, aug, model, fit, reg),
        Command::Interpret { model, data, k, min_val, tta, bs, seed, device, out } => interpret(model, data, k, min_val, tta, bs, seed, device, out),
        Command::ShowBatch { data, aug, n, seed, out } => {
            let device = burn::tensor::Device::flex();
            let (data, _) = data.load(seed, false, aug.transforms(), None)?;
            let dls = data.dataloaders(n.max(1), seed, &device)?;
            if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
            }
            crate::interpret::show_batch(&dls, &data.pre.normalize, &data.items.classes, n, &out)?;
            println!("{} written", out.display());
            Ok(())
        }
        Command::LrFind { data, aug, model: ModelArgs { arch, pretrained }, reg, common } => {
            let device = common.device.device()?;
            device.seed(common.seed);
            let (mut data, _) = data.load(common.seed, pretrained.is_some(), aug.transforms(), None)?;
            let config = model_config(&arch, pretrained.is_some(), &mut data)?;
            let (dls, opts) = loaders(&data, &reg, common.bs, common.seed, &device)?;
            let mut learn = vision_learner_with(&config, pretrained.as_deref(), &dls, &device, &opts)?.quiet();
            if pretrained.is_some() {
                learn.freeze();
            }
            run_lr_find(&mut learn, &common).map(|_| ())
        }
        Command::Predict { model, arch, pretrained, classes, k, format, out, device, images } => {
            let device = device.device()?;
            // Neither a model nor weights is named first; then the images, before loading.
            let images = if model.is_none() && pretrained.is_none() { Vec::new() } else { predict::image_args(&images)? };
            let p = predict::predictor(model.as_deref(), &arch, pretrained.as_deref(), classes.as_deref(), &device)?;
            let table = predict::predictions(&p, &images, k)?;
            predict::emit(&table, format, out.as_deref())
        }
    }
}

/// `train`: fastai's `fit_one_cycle` from scratch, or `fine_tune` of a pretrained body.
fn train(data: DataArgs, aug: AugArgs, ModelArgs { arch, pretrained }: ModelArgs, fit: FitArgs, reg: RegArgs) -> Result<()> {
    if pretrained.is_none() {
        fit.check_scratch()?;
    }
    let common = &fit.common;
    prepare_run_dir(&common.out, common.resume)?;
    let device = common.device.device()?;
    device.seed(common.seed);
    let augment = aug.transforms();
    let (mut data_set, split) = data.load(common.seed, pretrained.is_some(), augment.clone(), None)?;
    let n_classes = data_set.items.classes.len();
    let config = model_config(&arch, pretrained.is_some(), &mut data_set)?;
    let (train, valid, test) = data_set.splits.sizes();
    println!("{train} training and {valid} validation images of {n_classes} classes, {}×{} pixels", data_set.pre.size, data_set.pre.size);
    let note = RunData { source: data.source.absolute(), prep: data.prep.clone(), split: data.split.clone(), augment, seed: common.seed };
    note.write(&common.out)?;
    let (dls, opts) = loaders(&data_set, &reg, common.bs, common.seed, &device)?;
    let learn = vision_learner_with(&config, pretrained.as_deref(), &dls, &device, &opts)?;
    let info = RunInfo { seed: common.seed, device: common.device.to_string(), splits: SplitSizes { train, valid, test } };
    let mut learn = attach_run_dir(learn, common, info)?;
    start_from(&mut learn, common, || vision_header(&config, &data_set.pre, &data_set.items.classes), &FITTED)?;
    if pretrained.is_some() {
        // As after fastai's vision_learner: the body frozen (also for `--lr find`'s sweep).
        learn.freeze();
        let ft = FineTune { freeze_epochs: fit.freeze_epochs.unwrap_or(1), ..FineTune::default() };
        let (base_lr, ft) = train_lrs(&mut learn, common, LR_FINE_TUNE)?.fine_tune(ft);
        fine_tune(&mut learn, common.epochs, base_lr, ft)?;
    } else {
        let lr = train_lr(&mut learn, common, LR_SCRATCH)?;
        learn.fit_one_cycle(common.epochs, lr)?;
    }
    let path = common.out.join("model.safetensors");
    export_vision(&path, learn.model(), &config, &data_set.pre, &data_set.items.classes, Some(split))?;
    println!("model written to {}", path.display());
    Ok(())
}

/// fastai's `fine_tune(epochs, base_lr, freeze_epochs, lr_mult)`; with no frozen epoch, only its
/// unfrozen phase.
fn fine_tune(learn: &mut Learner<VisionModel, ImageBatch>, epochs: usize, base_lr: f64, ft: FineTune) -> Result<()> {
    if ft.freeze_epochs > 0 {
        return learn.fine_tune_with(epochs, base_lr, ft);
    }
    let lr = base_lr / 2.0;
    learn.unfreeze();
    learn.fit_one_cycle_with(epochs, OneCycle::new(lr).pct_start(ft.pct_start).div(ft.div), LrSpec::Range(lr / ft.lr_mult, lr))
}

/// `interpret`: the model's validation set rebuilt from the run's record, predicted, and the
/// confusion matrix, top losses and report written.
#[allow(clippy::too_many_arguments)]
fn interpret(model: PathBuf, data: InterpretData, k: usize, min_val: usize, tta: usize, bs: usize, seed: Option<u64>, device: DeviceChoice, out: Option<PathBuf>) -> Result<()> {
    let device = device.device()?;
    let p = VisionPredictor::load(&model, &device)?;
    if let Some(size) = data.size.filter(|&s| s != p.pre.size) {
        return Err(Error::invalid("--size", format!("{size}: {} was trained on {s}×{s} images, and interpret prepares them so", model.display(), s = p.pre.size)));
    }
    if let Some(m) = data.method.as_deref().filter(|m| ResizeMethod::parse(m) != Some(p.pre.method)) {
        return Err(Error::invalid("--method", format!("{m}: {} was trained with --method {}, and interpret resizes so", model.display(), p.pre.method.name())));
    }
    let run_dir = model.parent().map(PathBuf::from).unwrap_or_default();
    let note = RunData::read(&run_dir)?;
    let source = if !data.source.is_empty() {
        data.source.clone()
    } else {
        match &note {
            Some(n) => {
                println!("data as trained on (from {}): {}", run_dir.join(RUN_DATA).display(), describe(&n.source));
                SourceArgs { class_names: data.source.class_names.clone().or(n.source.class_names.clone()), ..n.source.clone() }
            }
            None => {
                return Err(Error::invalid(
                    "data",
                    format!(
                        "{} has no {RUN_DATA} saying what {} was trained on: give the data (--images DIR, --labels-csv FILE, --mnist DIR or --dataset NAME)",
                        if run_dir.as_os_str().is_empty() { Path::new(".").display() } else { run_dir.display() },
                        model.display()
                    ),
                ));
            }
        }
    };
    // The split the model was measured on: its seed and flags unless given here.
    let seed = match (&p.split, seed, &note) {
        (_, Some(s), _) => s,
        (Some(r), None, _) => r.seed,
        (None, None, Some(n)) => n.seed,
        (None, None, None) => 42,
    };
    let mut split = SplitArgs { valid_pct: data.valid_pct, limit_train: data.limit_train, limit_valid: data.limit_valid };
    if let Some(r) = &p.split {
        let recorded = SplitFlags::parse(&r.method);
        split.limit_train = split.limit_train.or(recorded.limit_train);
        split.limit_valid = split.limit_valid.or(recorded.limit_valid);
        split.valid_pct = split.valid_pct.or(recorded.valid_pct);
    } else if let Some(n) = &note {
        split.limit_train = split.limit_train.or(n.split.limit_train);
        split.limit_valid = split.limit_valid.or(n.split.limit_valid);
        split.valid_pct = split.valid_pct.or(n.split.valid_pct);
    }
    // TTA augments as the training run did (fastai's `tta` uses the training transforms), with
    // aug_transforms' defaults when the run did not augment or left no note.
    let augment = (tta > 0).then(|| note.as_ref().and_then(|n| n.augment.clone()).unwrap_or_default());
    let args = DataArgs { source, prep: PrepArgs { size: data.size, method: data.method.clone() }, split };
    // Three channels load as for a pretrained body (no statistics to compute); the model's own
    // preprocessing replaces the loaded one below.
    let (mut data, now) = args.load(seed, p.pre.channels == 3, augment, Some(&p.classes))?;
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
    let out = out.unwrap_or(run_dir);
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

/// A data source in the flags that give it.
fn describe(s: &SourceArgs) -> String {
    let mut parts = Vec::new();
    let path = |flag: &str, p: &Option<PathBuf>, parts: &mut Vec<String>| {
        if let Some(p) = p {
            parts.push(format!("{flag} {}", p.display()));
        }
    };
    path("--images", &s.images, &mut parts);
    if let Some(r) = &s.label_regex {
        parts.push(format!("--label-regex {r}"));
    }
    path("--labels-csv", &s.labels_csv, &mut parts);
    path("--mnist", &s.mnist, &mut parts);
    if let Some(d) = &s.dataset {
        parts.push(format!("--dataset {d}"));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
