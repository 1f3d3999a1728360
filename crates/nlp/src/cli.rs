//! The `kindling-nlp` command line.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use burn::module::Module;
use clap::builder::TypedValueParser;
use clap::{Args, Parser, Subcommand};
use kindling_core::cli::{LrFindArgs, TrainArgs, attach_run_dir, positive_f64, prepare_run_dir, run_lr_find, start_from, train_lr};
use kindling_core::interpret::ClassificationInterpretation;
use kindling_core::learner::{FineTune, RunInfo, SplitSizes};
use kindling_core::schedule::LrSpec;
use kindling_core::{DeviceChoice, Error, Result};

use crate::classifier::{ClassifierConfig, Pooling, TextClassifier};
use crate::data::{LabelKind, TextData, TextDataOptions, TextSource};
use crate::embed::{Embedder, nearest, write_npy, write_safetensors};
use crate::learner::{TextTask, one_cycle, text_learner};
use crate::model::load_hub;
use crate::predict::{FITTED, TextPredictor, TextPreprocessing, export_text, text_header};
use crate::tokenizer::TextTokenizer;
use crate::ulmfit;
use crate::ulmfit::commands::{ClassifierOptions, Corpus, LmTrainOptions};

/// Text classification by fine-tuning a pretrained transformer (chapter 4), and sentence
/// embeddings.
#[derive(Parser)]
#[command(name = "kindling-nlp", version)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fine-tune a pretrained transformer to classify texts; writes model.safetensors (with the
    /// tokenizer inside), metrics.json and history.png into --out.
    #[command(mut_arg("lr", |a| a.help(
        "Peak learning rate, or `find` to run lr_find and train with its `valley` suggestion [default: 5e-5 for a transformer (1e-4 with --fine-tune); --arch awd-lstm: 2e-2 with --lm (chapter 10's gradual unfreezing), 1e-2 from scratch]"
    )))]
    Train {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        fit: FitArgs,
        #[command(flatten)]
        common: TrainArgs,
    },
    /// Classify texts with a trained model: the texts given, or a column of a CSV/Parquet file
    /// (the rows are written again with a prediction and a probability per class).
    Predict {
        /// The model file written by `train`.
        #[arg(long)]
        model: PathBuf,
        /// A CSV or Parquet file of texts to classify (instead of texts on the command line).
        #[arg(long)]
        csv: Option<PathBuf>,
        /// The column of --csv holding the texts.
        #[arg(long, default_value = "text")]
        text: String,
        /// Where to write the rows with their predictions (default: beside --csv, as
        /// STEM.predictions.csv; an existing file is never replaced).
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, default_value = "cpu", help = kindling_core::cli::DEVICE_HELP)]
        device: DeviceChoice,
        /// Texts to classify.
        texts: Vec<String>,
    },
    /// The validation set's confusion matrix (confusion_matrix.png) and its most confident
    /// mistakes with their text (interpretation.txt), with the split the model was trained on.
    Interpret {
        /// The model file written by `train`.
        #[arg(long)]
        model: PathBuf,
        #[command(flatten)]
        data: DataArgs,
        /// Mistakes to list.
        #[arg(short = 'k', long, visible_short_alias = 'n', default_value_t = 10)]
        k: usize,
        /// Folder for the outputs.
        #[arg(long, default_value = "runs/interpret")]
        out: PathBuf,
        #[arg(long, default_value = "cpu", help = kindling_core::cli::DEVICE_HELP)]
        device: DeviceChoice,
    },
    /// Sentence embeddings (mean pooling, unit length) of the lines of a file, written as .npy or
    /// .safetensors; with --similar, the lines nearest to a query by cosine.
    Embed {
        /// A Hugging Face model folder (config.json, model.safetensors, tokenizer.json).
        #[arg(long, conflicts_with = "model")]
        pretrained: Option<PathBuf>,
        /// A model file written by `train` (its fine-tuned encoder is used).
        #[arg(long)]
        model: Option<PathBuf>,
        /// A text file, one text a line (empty lines are skipped).
        #[arg(long)]
        lines: PathBuf,
        /// Write the vectors here: FILE.npy (NumPy) or FILE.safetensors (tensor `embeddings`).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print the lines most similar to this query.
        #[arg(long)]
        similar: Option<String>,
        /// How many similar lines to print.
        #[arg(short = 'k', long, visible_short_alias = 'n', default_value_t = 5)]
        k: usize,
        /// Longest text in tokens (longer ones are cut).
        #[arg(long, default_value_t = 128)]
        max_len: usize,
        /// Texts per batch.
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..).map(|v| v as usize))]
        bs: usize,
        #[arg(long, default_value = "cpu", help = kindling_core::cli::DEVICE_HELP)]
        device: DeviceChoice,
    },
    /// ULMFiT's language model (chapter 10): train an AWD-LSTM on a corpus, fine-tune one on a
    /// new corpus, or continue a prompt with one.
    Lm {
        #[command(subcommand)]
        command: LmCommand,
    },
    /// Sweep learning rates and suggest one (writes lr_find.png and lr_find.json).
    LrFind {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        model: ModelArgs,
        #[command(flatten)]
        common: LrFindArgs,
    },
}

/// `kindling-nlp lm …`
#[derive(Subcommand)]
enum LmCommand {
    /// Train an AWD-LSTM language model on a corpus (from scratch: fit_one_cycle(--epochs,
    /// --lr)), or with --lm fine-tune one on it as chapter 10 does (vocabularies matched, one
    /// frozen epoch at --frozen-lr, then --epochs unfrozen at --lr); writes model.safetensors
    /// (the model and its vocabulary), encoder.safetensors (the encoder alone, fastai's
    /// save_encoder), metrics.json (accuracy, perplexity) and history.png.
    #[command(mut_arg("lr", |a| a.help(
        "Peak learning rate (with --lm: of the unfrozen epochs), or `find` to run lr_find and train with its `valley` suggestion [default: 2e-3, as chapter 10]"
    )))]
    Train {
        /// A folder of .txt files: each paragraph (text between blank lines) a document.
        #[arg(long, conflicts_with = "csv", required_unless_present = "csv")]
        text_dir: Option<PathBuf>,
        /// CSV or Parquet files whose --text column holds the documents (repeat the flag to read
        /// several, e.g. a training and a test file: no labels are used).
        #[arg(long)]
        csv: Vec<PathBuf>,
        /// The column of --csv holding the texts.
        #[arg(long, default_value = "text")]
        text: String,
        /// A language model written by `lm train` to fine-tune on this corpus.
        #[arg(long)]
        lm: Option<PathBuf>,
        /// Tokens per training window (fastai's seq_len).
        #[arg(long, default_value_t = 72, value_parser = clap::value_parser!(u64).range(1..).map(|v| v as usize))]
        seq_len: usize,
        /// fastai's drop_mult: every dropout of the AWD-LSTM scaled by it.
        #[arg(long, default_value_t = 0.3)]
        drop_mult: f64,
        /// Share of documents held out for validation.
        #[arg(long, default_value_t = 0.1)]
        valid_pct: f64,
        /// With --lm: the learning rate of the first, frozen epoch (only the embeddings train).
        #[arg(long, default_value_t = 2e-2, value_parser = positive_f64)]
        frozen_lr: f64,
        /// Words seen fewer times than this in the training documents become xxunk.
        #[arg(long, default_value_t = 3)]
        min_freq: usize,
        /// The largest vocabulary (before rounding up to a multiple of 8).
        #[arg(long, default_value_t = 60000)]
        max_vocab: usize,
        /// Do not read or write the tokenization cache (~/.cache/kindling/tokens).
        #[arg(long)]
        no_token_cache: bool,
        #[command(flatten)]
        sizes: SizeArgs,
        #[command(flatten)]
        common: TrainArgs,
    },
    /// Continue a prompt with a language model (fastai's `learn.predict(prompt, n_words,
    /// temperature)`).
    Generate {
        /// A language model written by `lm train`.
        #[arg(long)]
        model: PathBuf,
        /// The beginning of the text.
        prompt: String,
        /// Words to add.
        #[arg(short = 'n', long, default_value_t = 40)]
        n_words: usize,
        /// Sampling temperature: below 1 sticks to likely words, above 1 wanders (the book: 0.75).
        #[arg(long, default_value_t = 0.75, value_parser = positive_f64)]
        temperature: f64,
        /// Texts to generate.
        #[arg(long, default_value_t = 1)]
        count: usize,
        /// Seed of the sampling.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        #[arg(long, default_value = "cpu", help = kindling_core::cli::DEVICE_HELP)]
        device: DeviceChoice,
    },
}

/// Where the labelled texts are.
#[derive(Args, Clone)]
struct DataArgs {
    /// A CSV or Parquet file with a text column and a label column.
    #[arg(long, conflicts_with = "text_dir")]
    csv: Option<PathBuf>,
    /// A folder per class of .txt files (IMDb layout: with train/ and valid/ or test/
    /// sub-folders, those are the split; otherwise a random --valid-pct split).
    #[arg(long)]
    text_dir: Option<PathBuf>,
    /// The column of --csv holding the texts.
    #[arg(long, default_value = "text")]
    text: String,
    /// The column of --csv holding the labels.
    #[arg(long, default_value = "label")]
    label: String,
    /// A column of --csv marking the validation rows (true/1), as fastai's ColSplitter
    /// (default: none; a random --valid-pct split).
    #[arg(long)]
    valid_col: Option<String>,
    /// Share of texts to validate on when there is no --valid-col or valid/ folder.
    #[arg(long, default_value_t = 0.2)]
    valid_pct: f64,
    /// Each text may have several labels, separated by --label-delim (fastai's
    /// MultiCategoryBlock): sigmoid outputs, binary cross-entropy, accuracy_multi.
    #[arg(long, conflicts_with = "regression")]
    multi_label: bool,
    /// The separator of labels in one cell with --multi-label.
    #[arg(long, default_value = ";")]
    label_delim: String,
    /// The label is a number to predict (mean squared error) rather than a class.
    #[arg(long)]
    regression: bool,
    /// Train on the first N training texts only (quick runs) [default: all].
    #[arg(long)]
    limit_train: Option<usize>,
    /// Validate on the first N validation texts only [default: all].
    #[arg(long)]
    limit_valid: Option<usize>,
}

/// Which pretrained transformer, and how texts enter it.
#[derive(Args, Clone)]
struct ModelArgs {
    /// The model: a pretrained transformer (--pretrained), or ULMFiT's AWD-LSTM classifier
    /// (from a language model with --lm and gradual unfreezing, or from scratch).
    #[arg(long, value_enum, default_value = "transformer")]
    arch: TextArch,
    /// A Hugging Face model folder: config.json, model.safetensors and tokenizer.json (BERT,
    /// MiniLM, DistilBERT or RoBERTa).
    #[arg(long, required_if_eq("arch", "transformer"))]
    pretrained: Option<PathBuf>,
    /// --arch awd-lstm: the language model (model.safetensors or encoder.safetensors from `lm
    /// train`) whose encoder and vocabulary the classifier starts from. --lr then defaults to 2e-2 and --epochs counts the last stage of
    /// chapter 10's gradual unfreezing (1 epoch head only, 1 with the last two groups, 1 with
    /// three, then --epochs unfrozen); without it the classifier trains from scratch with
    /// one-cycle (--lr default 1e-2).
    #[arg(long)]
    lm: Option<PathBuf>,
    /// --arch awd-lstm: fastai's drop_mult for the classifier's dropouts.
    #[arg(long, default_value_t = 0.5)]
    drop_mult: f64,
    /// --arch awd-lstm without --lm: the encoder's sizes.
    #[command(flatten)]
    sizes: SizeArgs,
    /// Longest text in tokens, special tokens included; longer texts keep their first
    /// tokens (Hugging Face's `truncation=True`).
    #[arg(long, default_value_t = 128)]
    max_len: usize,
    /// How the hidden states become one vector: mean (over the tokens), or cls (the first
    /// token, through the checkpoint's pooler when it has one).
    #[arg(long, value_enum, default_value = "mean")]
    pooling: Pooling,
}

/// An AWD-LSTM's sizes (from scratch; fastai's AWD_LSTM: 400, 1152, 3).
#[derive(Args, Clone, Copy)]
struct SizeArgs {
    /// Embedding width (also the last LSTM layer's hidden size).
    #[arg(long, default_value_t = 400)]
    emb_sz: usize,
    /// Hidden size of the other LSTM layers.
    #[arg(long, default_value_t = 1152)]
    n_hid: usize,
    /// LSTM layers.
    #[arg(long, default_value_t = 3)]
    n_layers: usize,
}

impl SizeArgs {
    fn sizes(self) -> ulmfit::commands::Sizes {
        ulmfit::commands::Sizes { emb_sz: self.emb_sz, n_hid: self.n_hid, n_layers: self.n_layers }
    }
}

/// The text model families.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum TextArch {
    /// A pretrained Hugging Face transformer.
    Transformer,
    /// ULMFiT's AWD-LSTM classifier.
    AwdLstm,
}

/// How to train.
#[derive(Args, Clone)]
struct FitArgs {
    /// fastai's fine_tune: one epoch training the head alone (encoder frozen) at --lr, then
    /// --epochs with everything unfrozen and discriminative rates, from --lr/200 on the
    /// embeddings to --lr/2 on the head. Without it, everything trains from the start with
    /// one-cycle (the usual recipe for transformers).
    #[arg(long)]
    fine_tune: bool,
    /// Share of the steps spent warming up the learning rate (one-cycle's pct_start).
    #[arg(long, default_value_t = 0.1)]
    warmup_pct: f64,
    /// Clip the gradients' global norm to this (the Hugging Face Trainer's 1.0); 0 turns it off.
    #[arg(long, default_value_t = 1.0)]
    clip_norm: f64,
    /// Multi-label: a label is predicted when its probability exceeds this.
    #[arg(long, default_value_t = 0.5, value_parser = positive_f64)]
    thresh: f64,
}

impl DataArgs {
    fn task(&self) -> TextTask {
        if self.multi_label {
            TextTask::Multi
        } else if self.regression {
            TextTask::Regression
        } else {
            TextTask::Single
        }
    }

    fn load(&self, seed: u64) -> Result<TextData> {
        if !(self.valid_pct > 0.0 && self.valid_pct < 1.0) {
            return Err(Error::invalid("--valid-pct", format!("{} is not between 0 and 1", self.valid_pct)));
        }
        let source = match (&self.csv, &self.text_dir) {
            (Some(f), _) => TextSource::Table { path: f.clone(), text: self.text.clone(), label: self.label.clone(), valid_col: self.valid_col.clone() },
            (None, Some(d)) => {
                if self.valid_col.is_some() {
                    return Err(Error::invalid("--valid-col", "names a column of --csv; a --text-dir is split by its train/valid folders or --valid-pct"));
                }
                TextSource::Folders { dir: d.clone() }
            }
            (None, None) => return Err(Error::invalid("data", "give --csv FILE (with --text and --label columns) or --text-dir DIR")),
        };
        let kind = match self.task() {
            TextTask::Single => LabelKind::Single,
            TextTask::Multi => LabelKind::Multi { delim: self.label_delim.clone() },
            TextTask::Regression => LabelKind::Regression,
        };
        let opts = TextDataOptions { kind, valid_pct: self.valid_pct, seed, limit_train: self.limit_train, limit_valid: self.limit_valid };
        TextData::load(&source, &opts)
    }
}

/// The classifier's configuration and its encoder with the pretrained weights.
fn pretrained_model(model: &ModelArgs, n_out: usize, device: &burn::tensor::Device) -> Result<(ClassifierConfig, TextClassifier, TextTokenizer)> {
    if model.arch != TextArch::Transformer {
        return Err(Error::invalid("--arch", "awd-lstm: use `train --arch awd-lstm` (lr-find there with --lr find)"));
    }
    let pretrained = model.pretrained.as_ref().ok_or_else(|| Error::invalid("--pretrained", "give the Hugging Face model folder to fine-tune"))?;
    let (hub, encoder) = load_hub(pretrained, device)?;
    if model.max_len < 2 || model.max_len > hub.max_tokens() {
        return Err(Error::invalid("--max-len", format!("{}: {} reads 2 to {} tokens", model.max_len, pretrained.display(), hub.max_tokens())));
    }
    let tokenizer = TextTokenizer::from_file(&pretrained.join("tokenizer.json"))?;
    let config = ClassifierConfig { encoder: hub, pooling: model.pooling, n_out, max_len: model.max_len };
    let classifier = config.init_with(encoder, device);
    Ok((config, classifier, tokenizer))
}

/// Parses the command line, runs it, and turns an error into a message and a failure code.
pub fn main() -> ExitCode {
    kindling_core::cli::exit(run(Cli::parse()))
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Train { data, model, fit, common } => {
            if model.arch == TextArch::AwdLstm {
                return train_awd_lstm(&data, &model, &common);
            }
            if model.lm.is_some() {
                return Err(Error::invalid("--lm", "starts an --arch awd-lstm classifier; a transformer starts from --pretrained"));
            }
            train(&data, &model, &fit, &common)
        }
        Command::Lm { command } => run_lm(command),
        Command::LrFind { data, model, common } => {
            let device = common.device.device()?;
            device.seed(common.seed);
            let text = data.load(common.seed)?;
            let (config, classifier, tokenizer) = pretrained_model(&model, text.n_out(), &device)?;
            let dls = text.dataloaders(&tokenizer, config.max_len, common.bs, common.seed, &device)?;
            let mut learn = text_learner(&config, classifier, &dls, data.task(), Some(1.0)).quiet();
            run_lr_find(&mut learn, &common).map(|_| ())
        }
        Command::Predict { model, csv, text, out, device, texts } => {
            let device = device.device()?;
            if kindling_core::export::read(&model)?.0.task == ulmfit::export::CLASSIFIER_TASK {
                return predict_ulmfit(&model, csv.as_deref(), &text, out, &texts, &device);
            }
            let p = TextPredictor::load(&model, &device)?;
            match csv {
                Some(file) => predict_table(&p, &file, &text, out),
                None => {
                    if texts.is_empty() {
                        return Err(Error::invalid("texts", "give texts to classify, or --csv FILE --text COLUMN"));
                    }
                    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                    for (t, pred) in texts.iter().zip(p.predict(&refs)?) {
                        let shown = describe(&p, &pred.probs, &pred.labels);
                        let cut = if pred.truncated { format!(" (cut to {} tokens)", pred.n_tokens) } else { String::new() };
                        println!("{shown}{cut}  {}", preview(t, 70));
                    }
                    Ok(())
                }
            }
        }
        Command::Interpret { model, data, k, out, device } => interpret(&model, &data, k, &out, &device),
        Command::Embed { pretrained, model, lines, out, similar, k, max_len, bs, device } => {
            let device = device.device()?;
            let embedder = match (pretrained, model) {
                (Some(dir), _) => Embedder::from_hub(&dir, max_len, &device)?,
                (None, Some(m)) => {
                    let p = TextPredictor::load(&m, &device)?;
                    Embedder::new(p.encoder().clone(), p.tokenizer().clone(), max_len.min(p.config.max_len), &device)
                }
                (None, None) => return Err(Error::invalid("--pretrained", "give --pretrained DIR (a Hugging Face model) or --model FILE")),
            };
            let text = std::fs::read_to_string(&lines).map_err(|e| Error::bad_file(&lines, format!("not a UTF-8 text file: {e}")))?;
            let texts: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
            if texts.is_empty() {
                return Err(Error::bad_file(&lines, "no text in it (one text a line)"));
            }
            if out.is_none() && similar.is_none() {
                return Err(Error::invalid("--out", "give --out FILE.npy|FILE.safetensors, --similar QUERY, or both"));
            }
            let t = Instant::now();
            let vectors = embedder.embed(&texts, bs)?;
            let secs = t.elapsed().as_secs_f64();
            println!("{} texts embedded in {secs:.1} s ({:.0} texts/s), {} dimensions", texts.len(), texts.len() as f64 / secs, vectors[0].len());
            if let Some(out) = &out {
                match out.extension().and_then(|e| e.to_str()) {
                    Some("npy") => write_npy(out, &vectors)?,
                    Some("safetensors") => write_safetensors(out, &vectors)?,
                    _ => return Err(Error::invalid("--out", format!("{}: name a .npy or .safetensors file", out.display()))),
                }
                println!("embeddings written to {}", out.display());
            }
            if let Some(q) = &similar {
                let qv = embedder.embed(&[q.as_str()], 1)?.remove(0);
                println!("most similar to {q:?}:");
                for (i, s) in nearest(&qv, &vectors, k) {
                    println!("  {s:.4}  line {}: {}", i + 1, preview(texts[i], 90));
                }
            }
            Ok(())
        }
    }
}

fn train(data: &DataArgs, model: &ModelArgs, fit: &FitArgs, common: &TrainArgs) -> Result<()> {
    if !(fit.warmup_pct > 0.0 && fit.warmup_pct < 1.0) {
        return Err(Error::invalid("--warmup-pct", format!("{} is not between 0 and 1", fit.warmup_pct)));
    }
    if !(fit.clip_norm >= 0.0 && fit.clip_norm.is_finite()) {
        return Err(Error::invalid("--clip-norm", format!("{} is not a number of at least 0", fit.clip_norm)));
    }
    if data.task() != TextTask::Multi && fit.thresh != 0.5 {
        return Err(Error::invalid("--thresh", "applies to --multi-label only"));
    }
    prepare_run_dir(&common.out, common.resume)?;
    let device = common.device.device()?;
    device.seed(common.seed);
    let text = data.load(common.seed)?;
    let (config, classifier, tokenizer) = pretrained_model(model, text.n_out(), &device)?;
    let (train, valid, test) = text.splits.sizes();
    println!("{train} training and {valid} validation texts; {}", text.describe_labels());
    let t = Instant::now();
    let dls = text.dataloaders(&tokenizer, config.max_len, common.bs, common.seed, &device)?;
    println!("tokenized in {:.1} s; {}", t.elapsed().as_secs_f64(), text.describe_lengths());
    let clip = (fit.clip_norm > 0.0).then_some(fit.clip_norm);
    let learn = text_learner(&config, classifier, &dls, data.task(), clip);
    let info = RunInfo { seed: common.seed, device: common.device.to_string(), splits: SplitSizes { train, valid, test } };
    let mut learn = attach_run_dir(learn, common, info)?;
    let pre = TextPreprocessing { tokenizer: tokenizer.to_json(), task: data.task(), thresh: fit.thresh as f32 };
    start_from(&mut learn, common, || text_header(&config, &pre, text.classes().to_vec()), &FITTED)?;
    let lr = if fit.fine_tune {
        let lr = train_lr(&mut learn, common, 1e-4)?;
        learn.fine_tune_with(common.epochs, lr, FineTune::default())?;
        lr
    } else {
        let lr = train_lr(&mut learn, common, 5e-5)?;
        learn.fit_one_cycle_with(common.epochs, one_cycle(lr, fit.warmup_pct), LrSpec::Single(lr))?;
        lr
    };
    report_speed(&text, t.elapsed().as_secs_f64(), common.epochs + usize::from(fit.fine_tune), lr);
    let path = common.out.join("model.safetensors");
    export_text(&path, learn.model(), &config, &pre, text.classes().to_vec(), Some(text.split_record(common.seed)))?;
    println!("model written to {}", path.display());
    Ok(())
}

/// `lm train` and `lm generate`.
fn run_lm(command: LmCommand) -> Result<()> {
    match command {
        LmCommand::Train { text_dir, csv, text, lm, seq_len, drop_mult, valid_pct, frozen_lr, min_freq, max_vocab, no_token_cache, sizes, common } => {
            let corpus = match text_dir {
                Some(d) => Corpus::Folder(d),
                None => Corpus::Tables { files: csv, column: text },
            };
            let mut opts = LmTrainOptions::new(corpus);
            opts.from = lm;
            opts.sizes = sizes.sizes();
            (opts.seq_len, opts.drop_mult, opts.valid_pct, opts.frozen_lr, opts.min_freq, opts.max_vocab) = (seq_len, drop_mult, valid_pct, frozen_lr, min_freq, max_vocab);
            if no_token_cache {
                opts.token_cache = None;
            }
            let summary = ulmfit::commands::lm_train(&opts, &common)?;
            print_final(&summary);
            Ok(())
        }
        LmCommand::Generate { model, prompt, n_words, temperature, count, seed, device } => {
            let device = device.device()?;
            let (lm, _, vocab) = ulmfit::export::load_language_model(&model, &device)?;
            let lm = lm.valid();
            let tok = ulmfit::tokenize::FastaiTokenizer::new();
            for i in 0..count {
                println!("{}", ulmfit::generate(&lm, &tok, &vocab, &prompt, n_words, temperature, seed.wrapping_add(i as u64))?);
            }
            Ok(())
        }
    }
}

fn print_final(summary: &ulmfit::commands::TrainSummary) {
    let shown: Vec<String> = summary.metrics.iter().map(|(k, v)| format!("{k} {}", v.map_or("-".into(), |v| format!("{v:.4}")))).collect();
    println!("final: {} ({:.1} s in all; baseline accuracy {:.4})", shown.join(", "), summary.secs, summary.baseline_accuracy);
}

/// `train --arch awd-lstm`.
fn train_awd_lstm(data: &DataArgs, model: &ModelArgs, common: &TrainArgs) -> Result<()> {
    if data.task() != TextTask::Single {
        return Err(Error::invalid("--arch awd-lstm", "trains single-label classifiers; --multi-label and --regression use a transformer"));
    }
    if model.pretrained.is_some() {
        return Err(Error::invalid("--pretrained", "is a transformer's; an awd-lstm classifier starts from --lm"));
    }
    let text = data.load(common.seed)?;
    let opts = ClassifierOptions { lm: model.lm.clone(), drop_mult: model.drop_mult, sizes: model.sizes.sizes(), ..ClassifierOptions::default() };
    let summary = ulmfit::commands::train_classifier(&text, &opts, common)?;
    print_final(&summary);
    Ok(())
}

/// `predict` with a ULMFiT classifier.
fn predict_ulmfit(model: &Path, csv: Option<&Path>, column: &str, out: Option<PathBuf>, texts: &[String], device: &burn::tensor::Device) -> Result<()> {
    let m = ulmfit::export::load_classifier(model, device)?;
    let texts: Vec<String> = match csv {
        Some(f) => crate::data::read_text_column(f, column)?,
        None if texts.is_empty() => return Err(Error::invalid("texts", "give texts to classify, or --csv FILE --text COLUMN")),
        None => texts.to_vec(),
    };
    let probs = ulmfit::commands::classify(&m.model, &m.vocab, &texts, device)?;
    let best = |p: &[f32]| (0..p.len()).max_by(|&a, &b| p[a].total_cmp(&p[b])).unwrap_or(0);
    match csv {
        Some(f) => {
            let out = out.unwrap_or_else(|| {
                let stem = f.file_stem().and_then(|s| s.to_str()).unwrap_or("texts");
                f.with_file_name(format!("{stem}.predictions.csv"))
            });
            if out.exists() {
                return Err(Error::invalid("--out", format!("{} exists: choose another file (kindling never replaces one)", out.display())));
            }
            let mut csv_out = format!("row,prediction,{}\n", m.classes.iter().map(|c| csv_field(&format!("p_{c}"))).collect::<Vec<_>>().join(","));
            for (i, p) in probs.iter().enumerate() {
                let fields: Vec<String> = p.iter().map(|v| format!("{v:.6}")).collect();
                csv_out.push_str(&format!("{},{},{}\n", i + 1, csv_field(&m.classes[best(p)]), fields.join(",")));
            }
            kindling_core::io::write_atomic(&out, csv_out.as_bytes())?;
            println!("{} texts classified; predictions written to {}", probs.len(), out.display());
        }
        None => {
            for (t, p) in texts.iter().zip(&probs) {
                let b = best(p);
                println!("{} ({:.3})  {}", m.classes[b], p[b], preview(t, 70));
            }
        }
    }
    Ok(())
}

fn report_speed(text: &TextData, secs: f64, epochs: usize, lr: f64) {
    let tokens = text.train_tokens() * epochs + text.valid_tokens() * epochs;
    println!("trained at lr {lr:.1e} in {secs:.1} s: {:.0} tokens/s (training and validation, padding excluded)", tokens as f64 / secs);
}

/// `text` on one line, cut to `n` characters.
fn preview(text: &str, n: usize) -> String {
    let one: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > n { format!("{}…", one.chars().take(n).collect::<String>()) } else { one }
}

/// A prediction as a person reads it.
fn describe(p: &TextPredictor, probs: &[f32], labels: &[String]) -> String {
    match p.pre.task {
        TextTask::Regression => format!("{:.4}", probs[0]),
        TextTask::Single => {
            let i = p.classes.iter().position(|c| Some(c) == labels.first()).unwrap_or(0);
            format!("{} ({:.3})", p.classes[i], probs[i])
        }
        TextTask::Multi => format!("[{}]", labels.join(", ")),
    }
}

fn predict_table(p: &TextPredictor, file: &Path, column: &str, out: Option<PathBuf>) -> Result<()> {
    let texts = crate::data::read_text_column(file, column)?;
    let out = out.unwrap_or_else(|| {
        let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("texts");
        file.with_file_name(format!("{stem}.predictions.csv"))
    });
    if out.exists() {
        return Err(Error::invalid("--out", format!("{} exists: choose another file (kindling never replaces one)", out.display())));
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let t = Instant::now();
    let preds = p.predict(&refs)?;
    let secs = t.elapsed().as_secs_f64();
    let tokens: usize = preds.iter().map(|x| x.n_tokens).sum();
    let mut csv = Vec::new();
    let header: Vec<String> = match p.pre.task {
        TextTask::Regression => vec!["prediction".into()],
        _ => std::iter::once("prediction".to_string()).chain(p.classes.iter().map(|c| format!("p_{c}"))).collect(),
    };
    writeln!(csv, "row,{}", header.iter().map(|h| csv_field(h)).collect::<Vec<_>>().join(",")).map_err(|e| Error::io(&out, e))?;
    for (i, pred) in preds.iter().enumerate() {
        let mut fields = vec![(i + 1).to_string()];
        match p.pre.task {
            TextTask::Regression => fields.push(format!("{}", pred.probs[0])),
            _ => {
                fields.push(csv_field(&pred.labels.join(";")));
                fields.extend(pred.probs.iter().map(|v| format!("{v:.6}")));
            }
        }
        writeln!(csv, "{}", fields.join(",")).map_err(|e| Error::io(&out, e))?;
    }
    kindling_core::io::write_atomic(&out, &csv)?;
    println!("{} texts classified in {secs:.1} s ({:.0} tokens/s); predictions written to {} (row = data row of {})", preds.len(), tokens as f64 / secs, out.display(), file.display());
    Ok(())
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_string() }
}

/// A text classifier of either family, for `interpret`: its classes, split, and the
/// probabilities it gives a list of texts.
enum AnyClassifier {
    Transformer(Box<TextPredictor>),
    Ulmfit(Box<ulmfit::export::LoadedClassifier>, burn::tensor::Device),
}

impl AnyClassifier {
    fn load(model: &Path, device: &burn::tensor::Device) -> Result<Self> {
        if kindling_core::export::read(model)?.0.task == ulmfit::export::CLASSIFIER_TASK {
            return Ok(Self::Ulmfit(Box::new(ulmfit::export::load_classifier(model, device)?), device.clone()));
        }
        let p = TextPredictor::load(model, device)?;
        if p.pre.task != TextTask::Single {
            return Err(Error::invalid("--model", "interpret reads single-label classifiers; this model is multi-label or regression"));
        }
        Ok(Self::Transformer(Box::new(p)))
    }

    fn classes(&self) -> &[String] {
        match self {
            Self::Transformer(p) => &p.classes,
            Self::Ulmfit(m, _) => &m.classes,
        }
    }

    fn split(&self) -> Option<kindling_core::export::SplitRecord> {
        match self {
            Self::Transformer(p) => p.split.clone(),
            Self::Ulmfit(m, _) => m.split.clone(),
        }
    }

    /// Probabilities, row-major `[texts, classes]`.
    fn probs(&self, texts: &[&str]) -> Result<Vec<f32>> {
        match self {
            Self::Transformer(p) => {
                let ids = p.tokenizer().encode_batch(texts, p.config.max_len)?;
                Ok(p.raw_outputs(&ids, 64)?.iter().flat_map(|r| p.activate(r).0).collect())
            }
            Self::Ulmfit(m, device) => {
                let owned: Vec<String> = texts.iter().map(|t| t.to_string()).collect();
                Ok(ulmfit::commands::classify(&m.model, &m.vocab, &owned, device)?.concat())
            }
        }
    }
}

fn interpret(model: &Path, data: &DataArgs, k: usize, out: &Path, device: &DeviceChoice) -> Result<()> {
    let device = device.device()?;
    let p = AnyClassifier::load(model, &device)?;
    let classes = p.classes().to_vec();
    let record = p.split().ok_or_else(|| Error::bad_file(model, "records no split: the validation set cannot be rebuilt"))?;
    let text = data.load(record.seed)?;
    if text.classes() != classes.as_slice() {
        return Err(Error::invalid("data", format!("the labels are {:?}, but {} was trained on {:?}", text.classes(), model.display(), classes)));
    }
    record.check_same(&text.split_record(record.seed)).map_err(|e| Error::invalid("data", format!("not the data {} was trained on: {e}", model.display())))?;
    let valid = &text.splits.valid;
    let texts: Vec<&str> = valid.iter().map(|&i| text.texts[i].as_str()).collect();
    let probs = p.probs(&texts)?;
    let targets: Vec<usize> = valid.iter().map(|&i| text.class_of(i)).collect();
    let interp = ClassificationInterpretation::new(classes.clone(), probs, targets)?;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    interp.plot_confusion_matrix(&out.join("confusion_matrix.png"))?;
    let mut report = format!("accuracy {:.4} on {} validation texts\n\n{}\n", interp.accuracy(), interp.len(), interp.confusion_text());
    report.push_str(&format!("\nthe {k} most confident mistakes:\n"));
    for tl in interp.top_losses(k) {
        report.push_str(&format!(
            "loss {:.3}  actual {}  predicted {} ({:.3})  {}\n",
            tl.loss,
            classes[tl.actual],
            classes[tl.predicted],
            tl.prob,
            preview(texts[tl.index], 160)
        ));
    }
    kindling_core::io::write_atomic(out.join("interpretation.txt"), report.as_bytes())?;
    print!("{report}");
    println!("\nconfusion_matrix.png and interpretation.txt written to {}", out.display());
    Ok(())
}
