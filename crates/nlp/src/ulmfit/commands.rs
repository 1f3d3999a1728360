//! What `kindling-nlp lm train`, `lm generate` and `train --arch awd-lstm` do, as library
//! functions: read a corpus, tokenize it (cached), build or reuse a vocabulary, train, and
//! write the model file. The command line in [`crate::cli`] parses flags into these.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use burn::tensor::Device;
use kindling_core::cli::{TrainArgs, attach_run_dir, prepare_run_dir, start_from, train_lr};
use kindling_core::learner::{RunInfo, SplitSizes};
use kindling_core::schedule::LrSpec;
use kindling_core::{Error, Result, seed};

use super::awd_lstm::AwdLstmConfig;
use super::classifier::AwdClassifierConfig;
use super::export::{FITTED, classifier_header, export_classifier, export_encoder, export_language_model, language_model_header, load_encoder, load_language_model};
use super::learner::{classifier_learner, fit_one_cycle, gradual_unfreezing, lm_learner};
use super::lm_data::LmLoader;
use super::tokenize::{FastaiTokenizer, tokenize_cached};
use super::transfer::match_embeds;
use super::vocab::{DEFAULT_MAX_VOCAB, DEFAULT_MIN_FREQ, Vocab};
use crate::data::{TextData, read_text_column, text_loaders};

/// Where a language model's texts come from.
#[derive(Clone, Debug)]
pub enum Corpus {
    /// Every `.txt` file under a folder (sorted by path), each paragraph (text between blank
    /// lines, its line breaks made spaces) a document: how the peer script reads the novels.
    Folder(PathBuf),
    /// A column of CSV/Parquet files, each row a document.
    Tables {
        /// The files, read one after the other.
        files: Vec<PathBuf>,
        /// The text column.
        column: String,
    },
}

impl Corpus {
    /// The documents, in order. Errors name the file.
    pub fn read(&self) -> Result<Vec<String>> {
        let docs = match self {
            Corpus::Folder(dir) => {
                let mut files = Vec::new();
                collect_txt(dir, &mut files)?;
                if files.is_empty() {
                    return Err(Error::invalid("--text-dir", format!("{} holds no .txt file", dir.display())));
                }
                files.sort();
                let mut docs = Vec::new();
                for f in files {
                    let bytes = std::fs::read(&f).map_err(|e| Error::io(&f, e))?;
                    let text = String::from_utf8_lossy(&bytes).replace("\r\n", "\n");
                    docs.extend(text.split("\n\n").map(|p| p.trim().replace('\n', " ")).filter(|p| !p.is_empty()));
                }
                docs
            }
            Corpus::Tables { files, column } => {
                let mut docs = Vec::new();
                for f in files {
                    docs.extend(read_text_column(f, column)?);
                }
                docs
            }
        };
        if docs.is_empty() {
            return Err(Error::Data("the corpus holds no text".into()));
        }
        Ok(docs)
    }
}

fn collect_txt(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let p = entry.map_err(|e| Error::io(dir, e))?.path();
        if p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with('.')) {
            continue;
        }
        if p.is_dir() {
            collect_txt(&p, out)?;
        } else if p.extension().is_some_and(|e| e == "txt") {
            out.push(p);
        }
    }
    Ok(())
}

/// The tokenization cache: `$KINDLING_CACHE`, else `$XDG_CACHE_HOME/kindling/tokens`, else
/// `~/.cache/kindling/tokens` (one file per corpus; delete the folder to free the space).
pub fn default_token_cache() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("KINDLING_CACHE") {
        return Some(PathBuf::from(d).join("tokens"));
    }
    let base = std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from).or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("kindling").join("tokens"))
}

/// The settings of `lm train` besides the common training flags.
#[derive(Clone, Debug)]
pub struct LmTrainOptions {
    /// The texts.
    pub corpus: Corpus,
    /// Fine-tune this language model (its vocabulary matched to the corpus's) instead of
    /// training one from scratch.
    pub from: Option<PathBuf>,
    /// Tokens per window (fastai: 72).
    pub seq_len: usize,
    /// fastai's `drop_mult` (the peer script: 0.3).
    pub drop_mult: f64,
    /// Share of documents held out for validation.
    pub valid_pct: f64,
    /// The learning rate of the frozen epoch when fine-tuning (the book: 2e-2).
    pub frozen_lr: f64,
    /// Vocabulary rules.
    pub min_freq: usize,
    /// See [`min_freq`](Self::min_freq).
    pub max_vocab: usize,
    /// Where tokenized corpora are cached (`None`: no cache).
    pub token_cache: Option<PathBuf>,
    /// From scratch: the embedding width, hidden size and layers (fastai: 400, 1152, 3).
    pub sizes: Sizes,
}

/// An AWD-LSTM's embedding width, hidden size and number of layers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizes {
    /// Embedding width (and the last layer's hidden size).
    pub emb_sz: usize,
    /// Hidden size of the other layers.
    pub n_hid: usize,
    /// Layers.
    pub n_layers: usize,
}

impl Default for Sizes {
    fn default() -> Self {
        Self { emb_sz: 400, n_hid: 1152, n_layers: 3 }
    }
}

impl Sizes {
    fn apply(&self, c: &mut AwdLstmConfig) -> Result<()> {
        if self.emb_sz == 0 || self.n_hid == 0 || self.n_layers == 0 {
            return Err(Error::invalid("--emb-sz/--n-hid/--n-layers", "must be at least 1"));
        }
        (c.emb_sz, c.n_hid, c.n_layers) = (self.emb_sz, self.n_hid, self.n_layers);
        Ok(())
    }
}

impl LmTrainOptions {
    /// fastai's defaults for `corpus`.
    pub fn new(corpus: Corpus) -> Self {
        Self {
            corpus,
            from: None,
            seq_len: 72,
            drop_mult: 0.3,
            valid_pct: 0.1,
            frozen_lr: 2e-2,
            min_freq: DEFAULT_MIN_FREQ,
            max_vocab: DEFAULT_MAX_VOCAB,
            token_cache: default_token_cache(),
            sizes: Sizes::default(),
        }
    }
}

/// What a training run ended with.
#[derive(Clone, Debug)]
pub struct TrainSummary {
    /// The model file written.
    pub model: PathBuf,
    /// The final validation metrics by name (`accuracy`, `perplexity` …).
    pub metrics: Vec<(String, Option<f64>)>,
    /// Seconds, tokenization included.
    pub secs: f64,
    /// Training tokens seen per second (every epoch's, plus validation).
    pub tokens_per_s: f64,
    /// The baseline the model must beat: the accuracy of always predicting the most frequent
    /// training word (language model) or class (classifier) on the validation set.
    pub baseline_accuracy: f64,
}

/// The share of `targets` equal to the most frequent of `train`.
fn majority_accuracy(train: impl Iterator<Item = usize>, targets: impl Iterator<Item = usize>) -> f64 {
    let mut counts = std::collections::HashMap::new();
    for t in train {
        *counts.entry(t).or_insert(0usize) += 1;
    }
    let best = counts.into_iter().max_by_key(|&(t, c)| (c, std::cmp::Reverse(t))).map(|(t, _)| t);
    let (mut hit, mut n) = (0usize, 0usize);
    for t in targets {
        hit += usize::from(Some(t) == best);
        n += 1;
    }
    if n == 0 { 0.0 } else { hit as f64 / n as f64 }
}

/// Tokenizes `texts` with fastai's tokenizer, through the cache, printing how long it took.
pub fn tokenize_texts(texts: &[String], cache: Option<&Path>) -> Result<Vec<Vec<String>>> {
    let t = Instant::now();
    let toks = tokenize_cached(&FastaiTokenizer::new(), texts, cache)?;
    let n: usize = toks.iter().map(Vec::len).sum();
    println!("{} texts, {n} tokens, tokenized in {:.1} s{}", texts.len(), t.elapsed().as_secs_f64(), cache.map_or(String::new(), |c| format!(" (cache: {})", c.display())));
    Ok(toks)
}

/// `lm train`: a language model from scratch (`fit_one_cycle(epochs, lr)`), or one fine-tuned
/// from `opts.from` as chapter 10 does (the vocabulary matched, one frozen epoch at
/// `frozen_lr`, then `epochs` unfrozen at `lr`), written to `common.out/model.safetensors`, and
/// its encoder alone to `common.out/encoder.safetensors` (fastai's `save_encoder`).
pub fn lm_train(opts: &LmTrainOptions, common: &TrainArgs) -> Result<TrainSummary> {
    if !(opts.valid_pct > 0.0 && opts.valid_pct < 1.0) {
        return Err(Error::invalid("--valid-pct", format!("{} is not between 0 and 1", opts.valid_pct)));
    }
    if !(0.0..1.0).contains(&opts.drop_mult) && opts.drop_mult != 1.0 {
        return Err(Error::invalid("--drop-mult", format!("{}: must be 0 to 1", opts.drop_mult)));
    }
    prepare_run_dir(&common.out, common.resume)?;
    let device = common.device.device()?;
    device.seed(common.seed);
    let start = Instant::now();
    let docs = opts.corpus.read()?;
    let toks = tokenize_texts(&docs, opts.token_cache.as_deref())?;
    // fastai's RandomSplitter over documents; the vocabulary from the training documents only.
    let order = seed::permutation(toks.len(), &mut seed::rng(common.seed, &[0x4c4d_5350]));
    let n_valid = ((toks.len() as f64) * opts.valid_pct).round().max(1.0) as usize;
    if n_valid >= toks.len() {
        return Err(Error::Data(format!("{} documents: too few to hold {:.0}% out for validation", toks.len(), opts.valid_pct * 100.0)));
    }
    let (valid_idx, train_idx) = order.split_at(n_valid);
    let train_toks: Vec<Vec<String>> = train_idx.iter().map(|&i| toks[i].clone()).collect();
    let vocab = Vocab::build(&train_toks, opts.min_freq, opts.max_vocab)?;
    let ids = |idx: &[usize]| -> Arc<Vec<Vec<u32>>> { Arc::new(idx.iter().map(|&i| vocab.numericalize(&toks[i])).collect()) };
    let (train_ids, valid_ids) = (ids(train_idx), ids(valid_idx));
    let n_tokens = |d: &Arc<Vec<Vec<u32>>>| d.iter().map(Vec::len).sum::<usize>();
    let (train_tokens, valid_tokens) = (n_tokens(&train_ids), n_tokens(&valid_ids));
    println!("{} training and {} validation documents ({train_tokens} and {valid_tokens} tokens); vocabulary of {} words", train_idx.len(), valid_idx.len(), vocab.len());
    let flat = |d: &Arc<Vec<Vec<u32>>>| d.iter().flatten().map(|&t| t as usize).collect::<Vec<_>>();
    let (train_flat, valid_flat) = (flat(&train_ids), flat(&valid_ids));
    let baseline_accuracy = majority_accuracy(train_flat.iter().copied(), valid_flat.iter().skip(1).copied());
    println!("baseline: always the most frequent word gives accuracy {baseline_accuracy:.4}");

    let (config, lm) = match &opts.from {
        None => {
            let mut config = AwdLstmConfig::language_model(vocab.len(), opts.drop_mult);
            opts.sizes.apply(&mut config)?;
            (config.clone(), config.init_language_model(&device))
        }
        Some(path) => {
            let (lm, old, old_vocab) = load_language_model(path, &device)?;
            let (mut lm, known) = match_embeds(lm, &old_vocab, &vocab)?;
            println!("from {}: {known} of the {} words known to its vocabulary of {}", path.display(), vocab.len(), old_vocab.len());
            let fresh = AwdLstmConfig::language_model(vocab.len(), opts.drop_mult);
            let config = AwdLstmConfig { vocab_size: vocab.len(), input_p: fresh.input_p, hidden_p: fresh.hidden_p, embed_p: fresh.embed_p, weight_p: fresh.weight_p, output_p: fresh.output_p, ..old };
            set_dropouts(&mut lm, &config);
            (config, lm)
        }
    };
    // The model and batches live on the plain device; the Learner trains on its autodiff
    // counterpart and validates without it (so the dropouts are off in validation).
    let train = LmLoader::new(train_ids, common.bs, opts.seq_len, true, common.seed, device.clone())?;
    let valid = LmLoader::new(valid_ids, common.bs, opts.seq_len, false, common.seed, device.clone())?;
    let info = RunInfo { seed: common.seed, device: common.device.to_string(), splits: SplitSizes { train: train_idx.len(), valid: valid_idx.len(), test: 0 } };
    let mut learn = attach_run_dir(lm_learner(lm, &config, train, valid), common, info)?;
    start_from(&mut learn, common, || language_model_header(&config, &vocab), &FITTED)?;
    let fit_start = Instant::now();
    let epochs = match &opts.from {
        None => {
            let lr = train_lr(&mut learn, common, 2e-3)?;
            fit_one_cycle(&mut learn, common.epochs, LrSpec::Single(lr))?;
            common.epochs
        }
        Some(_) => {
            learn.freeze();
            fit_one_cycle(&mut learn, 1, LrSpec::Single(opts.frozen_lr))?;
            learn.unfreeze();
            let lr = train_lr(&mut learn, common, 2e-3)?;
            fit_one_cycle(&mut learn, common.epochs, LrSpec::Single(lr))?;
            common.epochs + 1
        }
    };
    let fit_secs = fit_start.elapsed().as_secs_f64();
    let eval = learn.validate()?;
    let path = common.out.join("model.safetensors");
    export_language_model(&path, learn.model(), &config, &vocab)?;
    export_encoder(&common.out.join("encoder.safetensors"), &learn.model().encoder, &config, &vocab)?;
    let tokens_per_s = ((train_tokens + valid_tokens) * epochs) as f64 / fit_secs;
    println!("language model written to {} ({tokens_per_s:.0} tokens/s in training)", path.display());
    Ok(TrainSummary { model: path, metrics: eval.metrics, secs: start.elapsed().as_secs_f64(), tokens_per_s, baseline_accuracy })
}

/// Sets every dropout of a loaded language model to `config`'s.
fn set_dropouts(lm: &mut super::LanguageModel, config: &AwdLstmConfig) {
    lm.output_p = config.output_p;
    lm.encoder.input_p = config.input_p;
    lm.encoder.hidden_p = config.hidden_p;
    lm.encoder.embed_p = config.embed_p;
    for r in &mut lm.encoder.rnns {
        r.weight_p = config.weight_p;
    }
}

/// The settings of `train --arch awd-lstm` besides the data and common training flags.
#[derive(Clone, Debug)]
pub struct ClassifierOptions {
    /// Start from this language model's (or encoder file's) encoder and vocabulary, with chapter 10's gradual
    /// unfreezing; without it, a classifier from scratch trained with one-cycle.
    pub lm: Option<PathBuf>,
    /// fastai's `drop_mult` (the book: 0.5).
    pub drop_mult: f64,
    /// Vocabulary rules (from scratch).
    pub min_freq: usize,
    /// See [`min_freq`](Self::min_freq).
    pub max_vocab: usize,
    /// Tokenization cache.
    pub token_cache: Option<PathBuf>,
    /// From scratch: the encoder's sizes (with `lm`, the language model's).
    pub sizes: Sizes,
}

impl Default for ClassifierOptions {
    fn default() -> Self {
        Self { lm: None, drop_mult: 0.5, min_freq: DEFAULT_MIN_FREQ, max_vocab: DEFAULT_MAX_VOCAB, token_cache: default_token_cache(), sizes: Sizes::default() }
    }
}

/// `train --arch awd-lstm`: a ULMFiT classifier on `text` (single-label), from a language model
/// (`--lm`: gradual unfreezing from `lr`, the book's 2e-2, its last stage `common.epochs`
/// long) or from scratch (`fit_one_cycle(common.epochs, lr)`, fastai's 1e-2 by default).
pub fn train_classifier(text: &TextData, opts: &ClassifierOptions, common: &TrainArgs) -> Result<TrainSummary> {
    if text.labels.n_out() < 2 || !matches!(text.labels, crate::data::Labels::Single { .. }) {
        return Err(Error::invalid("--arch awd-lstm", "trains single-label classifiers (two classes or more)"));
    }
    prepare_run_dir(&common.out, common.resume)?;
    let device = common.device.device()?;
    device.seed(common.seed);
    let start = Instant::now();
    let toks = tokenize_texts(&text.texts, opts.token_cache.as_deref())?;
    let (vocab, encoder, enc_config) = match &opts.lm {
        Some(path) => {
            let (encoder, config, vocab) = load_encoder(path, &device)?;
            (vocab, Some(encoder), Some(config))
        }
        None => {
            let train_toks: Vec<Vec<String>> = text.splits.train.iter().map(|&i| toks[i].clone()).collect();
            (Vocab::build(&train_toks, opts.min_freq, opts.max_vocab)?, None, None)
        }
    };
    let ids: Vec<Vec<u32>> = toks.iter().map(|t| vocab.numericalize(t)).collect();
    let mut config = AwdClassifierConfig::new(vocab.len(), text.n_out(), opts.drop_mult);
    match &enc_config {
        Some(e) => (config.encoder.emb_sz, config.encoder.n_hid, config.encoder.n_layers) = (e.emb_sz, e.n_hid, e.n_layers),
        None => opts.sizes.apply(&mut config.encoder)?,
    }
    let model = match encoder {
        Some(mut enc) => {
            enc.input_p = config.encoder.input_p;
            enc.hidden_p = config.encoder.hidden_p;
            enc.embed_p = config.encoder.embed_p;
            for r in &mut enc.rnns {
                r.weight_p = config.encoder.weight_p;
            }
            config.init_with(enc, &device)
        }
        None => config.init(&device),
    };
    let (n_train, n_valid, n_test) = text.splits.sizes();
    let train_tokens: usize = text.splits.train.iter().map(|&i| ids[i].len()).sum();
    let valid_tokens: usize = text.splits.valid.iter().map(|&i| ids[i].len()).sum();
    println!("{n_train} training and {n_valid} validation texts; {}; vocabulary of {} words", text.describe_labels(), vocab.len());
    let class = |i: &usize| text.class_of(*i);
    let baseline_accuracy = majority_accuracy(text.splits.train.iter().map(class), text.splits.valid.iter().map(class));
    println!("baseline: always the most frequent class gives accuracy {baseline_accuracy:.4}");
    let dls = text_loaders(text, ids, Vocab::PAD, common.bs, common.seed, device.clone())?;
    let info = RunInfo { seed: common.seed, device: common.device.to_string(), splits: SplitSizes { train: n_train, valid: n_valid, test: n_test } };
    let mut learn = attach_run_dir(classifier_learner(model, &config, dls.train, dls.valid), common, info)?;
    start_from(&mut learn, common, || classifier_header(&config, &vocab, text.classes().to_vec()), &FITTED)?;
    let fit_start = Instant::now();
    let epochs = if opts.lm.is_some() {
        let lr = train_lr(&mut learn, common, 2e-2)?;
        gradual_unfreezing(&mut learn, lr, common.epochs)?;
        common.epochs + 3
    } else {
        let lr = train_lr(&mut learn, common, 1e-2)?;
        fit_one_cycle(&mut learn, common.epochs, LrSpec::Single(lr))?;
        common.epochs
    };
    let fit_secs = fit_start.elapsed().as_secs_f64();
    let eval = learn.validate()?;
    let path = common.out.join("model.safetensors");
    export_classifier(&path, learn.model(), &config, &vocab, text.classes().to_vec(), Some(text.split_record(common.seed)))?;
    let tokens_per_s = ((train_tokens + valid_tokens) * epochs) as f64 / fit_secs;
    println!("model written to {} ({tokens_per_s:.0} tokens/s in training)", path.display());
    Ok(TrainSummary { model: path, metrics: eval.metrics, secs: start.elapsed().as_secs_f64(), tokens_per_s, baseline_accuracy })
}

/// The classes' probabilities for each of `texts` with a ULMFiT classifier, in order (the
/// texts cleaned as in training).
pub fn classify(model: &super::AwdClassifier, vocab: &Vocab, texts: &[String], device: &Device) -> Result<Vec<Vec<f32>>> {
    let cleaned: Vec<String> = texts.iter().map(|t| crate::data::clean_text(t)).collect();
    let toks = FastaiTokenizer::new().tokenize_all(&cleaned);
    let ids: Vec<Vec<u32>> = toks.iter().map(|t| vocab.numericalize(t)).collect();
    let raw = crate::data::rows_by_length(&ids, 32, Vocab::PAD, device, |ids, mask| {
        let lens: Vec<usize> = mask.sum_dim(1).into_data().convert::<i64>().try_to_vec::<i64>().unwrap_or_default().into_iter().map(|v| v.max(0) as usize).collect();
        model.forward(ids, &lens)
    })?;
    Ok(raw.into_iter().map(|r| softmax(&r)).collect())
}

fn softmax(raw: &[f32]) -> Vec<f32> {
    let m = raw.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f32> = raw.iter().map(|v| (v - m).exp()).collect();
    let s: f32 = e.iter().sum();
    e.iter().map(|v| v / s).collect()
}
