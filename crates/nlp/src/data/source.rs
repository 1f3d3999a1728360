//! Reading labelled texts: from a CSV or Parquet file (a text column and a label column), or
//! from a folder per class (the IMDb layout), split as fastai splits them.
//!
//! Rows are named in messages as `row N`: data rows counted from 1, the header not counted
//! (so `row 1` is the second line of a CSV, row 2 of a spreadsheet showing the file).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use burn::tensor::Device;

use kindling_core::data::split::{ColSplitter, GrandparentSplitter, RandomSplitter, Splitter};
use kindling_core::data::{DataLoaders, Splits};
use kindling_core::export::SplitRecord;
use kindling_core::{Error, Result};
use polars::prelude::*;
use rayon::prelude::*;

use super::batch::{TextBatch, TextItem, text_loaders};
use super::clean::clean_text;
use super::labels::{LabelKind, Labels};
use crate::tokenizer::TextTokenizer;

/// Where labelled texts come from.
#[derive(Clone, Debug, PartialEq)]
pub enum TextSource {
    /// A CSV or Parquet file (by extension: `.parquet`/`.pq` is Parquet, anything else CSV
    /// with a header row) with a text column and a label column.
    Table {
        /// The file.
        path: PathBuf,
        /// The column holding the texts (`--text`).
        text: String,
        /// The column holding the labels (`--label`).
        label: String,
        /// A column marking the validation rows (fastai's `ColSplitter`, `--valid-col`):
        /// booleans, `0`/`1`, or the words `true`/`false`/`yes`/`no` in any case. Without it
        /// the split is random.
        valid_col: Option<String>,
    },
    /// A folder per class (`--text-dir`): `DIR/train/CLASS/*.txt` with `DIR/valid/CLASS/*.txt`
    /// (or `DIR/test/CLASS/*.txt`) as the validation set, split by grandparent folder as
    /// fastai's `GrandparentSplitter`; when there are both `valid` and `test` folders, `test`
    /// is the held-out test set. Without a `valid`/`test` folder (`DIR/train/CLASS/*.txt` alone,
    /// or `DIR/CLASS/*.txt`) the split is random. Folders named `unsup` (IMDb's unlabelled
    /// reviews) and hidden ones are skipped; only `.txt` files are read.
    Folders {
        /// The top folder.
        dir: PathBuf,
    },
}

impl TextSource {
    /// In words, for messages and notes.
    pub fn describe(&self) -> String {
        match self {
            TextSource::Table { path, text, label, .. } => format!("{} (text '{text}', label '{label}')", path.display()),
            TextSource::Folders { dir } => format!("{} (a folder per class)", dir.display()),
        }
    }
}

/// How to read and split texts.
#[derive(Clone, Debug, PartialEq)]
pub struct TextDataOptions {
    /// What the labels are.
    pub kind: LabelKind,
    /// The share of texts held out at random for validation when no column or folder says
    /// which (0 keeps every text for training).
    pub valid_pct: f64,
    /// The seed of the random split.
    pub seed: u64,
    /// Keep only the first N training texts of the split (quick runs).
    pub limit_train: Option<usize>,
    /// Keep only the first N validation texts of the split.
    pub limit_valid: Option<usize>,
}

impl Default for TextDataOptions {
    fn default() -> Self {
        Self { kind: LabelKind::Single, valid_pct: 0.2, seed: 42, limit_train: None, limit_valid: None }
    }
}

/// Token counts of tokenized texts, kept by [`TextData::dataloaders`].
#[derive(Clone, Debug, PartialEq)]
pub struct TokenStats {
    /// Tokens of each text (special tokens included, after truncation).
    pub lengths: Vec<usize>,
    /// The limit they were cut at.
    pub max_len: usize,
    /// Mean width of the first epoch's training batches (their longest text).
    pub train_batch_len: f64,
    /// Mean width of the validation batches.
    pub valid_batch_len: f64,
}

/// Labelled texts, split.
#[derive(Clone, Debug)]
pub struct TextData {
    /// The texts, cleaned ([`clean_text`]).
    pub texts: Vec<String>,
    /// Their labels.
    pub labels: Labels,
    /// Train / valid (/ test) positions.
    pub splits: Splits,
    /// What names each text: `row N` for a table, the path below the top folder (`/`
    /// separated) for a folder per class.
    pub keys: Vec<String>,
    /// Where the texts came from.
    pub source: TextSource,
    /// How the split was made, in words (the [`SplitRecord`]'s method).
    pub split_method: String,
    /// Things the user should know (numeric classes, skipped folders).
    pub notes: Vec<String>,
    stats: Arc<Mutex<Option<TokenStats>>>,
}

impl TextData {
    /// Reads `source` as `opts` says.
    pub fn load(source: &TextSource, opts: &TextDataOptions) -> Result<Self> {
        match source {
            TextSource::Table { path, text, label, valid_col } => Self::from_table(path, text, label, valid_col.as_deref(), opts),
            TextSource::Folders { dir } => Self::from_folders(dir, opts),
        }
    }

    /// Texts and labels from columns `text_col` and `label_col` of a CSV or Parquet file,
    /// split by `valid_col` when given.
    pub fn from_table(path: &Path, text_col: &str, label_col: &str, valid_col: Option<&str>, opts: &TextDataOptions) -> Result<Self> {
        let mut wanted = vec![text_col, label_col];
        wanted.extend(valid_col);
        let df = read_columns(path, &wanted)?;
        let texts = texts_of(path, &df, text_col)?;
        let file = path.display().to_string();
        let label_cells = string_column(path, &df, label_col)?;
        let source = format!("column '{label_col}'");
        let labels = Labels::build(&label_cells, &opts.kind, None, &source, |i| format!("{file}: row {}", i + 1)).map_err(|e| {
            // Name the file in every message, and say how rows are counted where one is named.
            let msg = e.to_string();
            let msg = if msg.starts_with(&file) { msg } else { format!("{file}: {msg}") };
            let row = msg.starts_with(&format!("{file}: row "));
            Error::Data(if row { format!("{msg} (rows are counted from 1 after the header)") } else { msg })
        })?;
        let n = texts.len();
        let (splits, split_method) = match valid_col {
            Some(v) => {
                let marks = bool_column(path, &df, v)?;
                let table: std::collections::BTreeMap<String, Vec<bool>> = [(v.to_string(), marks)].into();
                let splits = ColSplitter::new(v).split(&table).map_err(|e| Error::bad_file(path, format!("column '{v}': {e}")))?;
                (splits, format!("column '{v}'"))
            }
            None => random_split(n, opts)?,
        };
        let notes = labels.note(&format!("{source} of {file}")).into_iter().collect();
        let source = TextSource::Table { path: path.to_path_buf(), text: text_col.into(), label: label_col.into(), valid_col: valid_col.map(str::to_string) };
        Self::assemble(texts, labels, splits, (1..=n).map(|r| format!("row {r}")).collect(), source, split_method, notes, opts)
    }

    /// Texts from a folder per class (see [`TextSource::Folders`]).
    pub fn from_folders(dir: &Path, opts: &TextDataOptions) -> Result<Self> {
        if opts.kind != LabelKind::Single {
            return Err(Error::invalid("--text-dir", "a folder per class gives one class per text: multi-label and regression need a table (--csv)"));
        }
        if !dir.is_dir() {
            return Err(Error::io(dir, std::io::Error::new(std::io::ErrorKind::NotFound, "no such folder")));
        }
        let mut notes = Vec::new();
        let train = dir.join("train");
        let valid_name = ["valid", "test"].into_iter().find(|n| dir.join(n).is_dir());
        let grandparents = train.is_dir() && subfolders(&train, &mut notes)?.next().is_some();
        let held_out_test = grandparents && valid_name == Some("valid") && dir.join("test").is_dir();
        let mut files: Vec<(PathBuf, String)> = Vec::new();
        if grandparents {
            files.extend(class_files(&train, &mut notes)?);
            if let Some(v) = valid_name {
                files.extend(class_files(&dir.join(v), &mut notes)?);
            }
            if held_out_test {
                files.extend(class_files(&dir.join("test"), &mut notes)?);
            }
        } else {
            files.extend(class_files(dir, &mut notes)?);
        }
        if files.is_empty() {
            return Err(Error::Data(format!(
                "{}: no .txt files found; expected DIR/CLASS/*.txt, or DIR/train/CLASS/*.txt with DIR/valid/CLASS/*.txt",
                dir.display()
            )));
        }
        let texts = files
            .par_iter()
            .map(|(p, _)| {
                let bytes = std::fs::read(p).map_err(|e| Error::io(p, e))?;
                let text = String::from_utf8(bytes).map_err(|e| {
                    Error::bad_file(p, format!("is not UTF-8 text (invalid byte at offset {}): save it as UTF-8", e.utf8_error().valid_up_to()))
                })?;
                let text = clean_text(&text);
                if text.trim().is_empty() {
                    return Err(Error::bad_file(p, "is empty: every text file needs some text"));
                }
                Ok(text)
            })
            .collect::<Result<Vec<_>>>()?;
        let keys: Vec<String> = files
            .iter()
            .map(|(p, _)| p.strip_prefix(dir).unwrap_or(p).components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/"))
            .collect();
        let cells: Vec<Option<String>> = files.iter().map(|(_, c)| Some(c.clone())).collect();
        let source = format!("the class folders of {}", dir.display());
        let labels = Labels::build(&cells, &LabelKind::Single, None, &source, |i| files[i].0.display().to_string())?;
        let (splits, split_method) = match (grandparents, valid_name) {
            (true, Some(v)) => {
                let mut splitter = GrandparentSplitter::new("train", v);
                let mut method = format!("folders train/{v}");
                if held_out_test {
                    splitter = splitter.with_test("test");
                    method.push_str(" (test held out)");
                }
                let rel: Vec<&str> = keys.iter().map(String::as_str).collect();
                (splitter.split(&rel[..]).map_err(|e| Error::Data(format!("{}: {e}", dir.display())))?, method)
            }
            _ => random_split(files.len(), opts)?,
        };
        notes.extend(labels.note(&source));
        Self::assemble(texts, labels, splits, keys, TextSource::Folders { dir: dir.to_path_buf() }, split_method, notes, opts)
    }

    #[allow(clippy::too_many_arguments)]
    fn assemble(
        texts: Vec<String>,
        labels: Labels,
        mut splits: Splits,
        keys: Vec<String>,
        source: TextSource,
        mut split_method: String,
        notes: Vec<String>,
        opts: &TextDataOptions,
    ) -> Result<Self> {
        if opts.limit_train.is_some() || opts.limit_valid.is_some() {
            let (mut train, mut valid) = (splits.train.clone(), splits.valid.clone());
            if let Some(n) = opts.limit_train {
                train.truncate(n);
                split_method.push_str(&format!(", limit_train {n}"));
            }
            if let Some(n) = opts.limit_valid {
                valid.truncate(n);
                split_method.push_str(&format!(", limit_valid {n}"));
            }
            let need_valid = !splits.valid.is_empty();
            splits = Splits::new(texts.len(), train, valid, splits.held_out_test().to_vec(), need_valid)?;
        }
        Ok(Self { texts, labels, splits, keys, source, split_method, notes, stats: Arc::default() })
    }

    /// Number of texts.
    pub fn len(&self) -> usize {
        self.texts.len()
    }

    /// Whether there are no texts.
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty()
    }

    /// Class (label) names in output order; empty for regression.
    pub fn classes(&self) -> &[String] {
        self.labels.classes()
    }

    /// The model's outputs: one per class or label, 1 for regression.
    pub fn n_out(&self) -> usize {
        self.labels.n_out()
    }

    /// The class index of text `i` (single-label data; 0 for multi-label and regression).
    pub fn class_of(&self, i: usize) -> usize {
        match &self.labels {
            Labels::Single { ids, .. } => ids[i],
            _ => 0,
        }
    }

    /// The record of the split for the model file: the method (with any limits), `seed`, the
    /// sizes and a hash of the validation texts' keys (row numbers or paths).
    pub fn split_record(&self, seed: u64) -> SplitRecord {
        SplitRecord::new(&self.split_method, seed, &self.splits, |i| self.keys[i].clone())
    }

    /// The labels in words: classes with their counts in the training set, labels per text,
    /// or the range of values.
    pub fn describe_labels(&self) -> String {
        let train = &self.splits.train;
        match &self.labels {
            Labels::Single { ids, classes } => {
                let mut counts = vec![0usize; classes.len()];
                for &i in train {
                    counts[ids[i]] += 1;
                }
                let each: Vec<String> = classes.iter().zip(&counts).map(|(c, n)| format!("{c} {n}")).collect();
                format!("{} classes (training texts: {})", classes.len(), each.join(", "))
            }
            Labels::Multi { sets, classes } => {
                let total: usize = train.iter().map(|&i| sets[i].len()).sum();
                let none = train.iter().filter(|&&i| sets[i].is_empty()).count();
                format!(
                    "{} labels ({}), {:.2} per training text, {none} training texts with none",
                    classes.len(),
                    classes.join(", "),
                    total as f64 / train.len().max(1) as f64
                )
            }
            Labels::Values(v) => {
                let vals: Vec<f32> = train.iter().map(|&i| v[i]).collect();
                let (lo, hi) = vals.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
                let mean = vals.iter().map(|&x| x as f64).sum::<f64>() / vals.len().max(1) as f64;
                format!("values from {lo} to {hi} (mean {mean:.4}) in the training texts")
            }
        }
    }

    /// Every text tokenized once, in parallel ([`TextTokenizer::encode`], at most `max_len`
    /// tokens each), in order; see [`tokenize_all`].
    pub fn tokenize(&self, tokenizer: &TextTokenizer, max_len: usize) -> Result<Vec<Vec<u32>>> {
        tokenize_all(tokenizer, &self.texts, max_len)
    }

    /// Tokenizes every text and builds the loaders ([`text_loaders`]); the token counts are
    /// kept for [`describe_lengths`](Self::describe_lengths), [`train_tokens`](Self::train_tokens)
    /// and [`valid_tokens`](Self::valid_tokens).
    pub fn dataloaders(&self, tokenizer: &TextTokenizer, max_len: usize, bs: usize, seed: u64, device: &Device) -> Result<DataLoaders<TextItem, TextBatch>> {
        let ids = self.tokenize(tokenizer, max_len)?;
        let lengths: Vec<usize> = ids.iter().map(Vec::len).collect();
        let dls = text_loaders(self, ids, tokenizer.pad_id(), bs, seed, device.clone())?;
        let width = |batches: Vec<Vec<usize>>| {
            let n = batches.len().max(1) as f64;
            batches.iter().map(|b| b.iter().map(|&i| lengths[i]).max().unwrap_or(0)).sum::<usize>() as f64 / n
        };
        let train_batch_len = width(dls.train.epoch_batches(0));
        let valid_batch_len = width(dls.valid.epoch_batches(0));
        *self.stats.lock().unwrap_or_else(|e| e.into_inner()) = Some(TokenStats { lengths, max_len, train_batch_len, valid_batch_len });
        Ok(dls)
    }

    /// The token counts of the last [`dataloaders`](Self::dataloaders) call.
    pub fn token_stats(&self) -> Option<TokenStats> {
        self.stats.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Tokens per text and per batch in words (after [`dataloaders`](Self::dataloaders)).
    pub fn describe_lengths(&self) -> String {
        let Some(s) = self.token_stats() else { return "not tokenized yet".into() };
        let mut l = s.lengths.clone();
        l.sort_unstable();
        let mean = l.iter().sum::<usize>() as f64 / l.len().max(1) as f64;
        let at_limit = l.iter().filter(|&&n| n >= s.max_len).count();
        format!(
            "tokens per text: mean {mean:.1}, median {}, longest {}; {at_limit} texts ({:.1}%) reach --max-len {} and are cut; batches padded to {:.1} tokens on average (train), {:.1} (valid)",
            l.get(l.len() / 2).copied().unwrap_or(0),
            l.last().copied().unwrap_or(0),
            100.0 * at_limit as f64 / l.len().max(1) as f64,
            s.max_len,
            s.train_batch_len,
            s.valid_batch_len
        )
    }

    /// Tokens (padding excluded) in the training texts; 0 before tokenizing.
    pub fn train_tokens(&self) -> usize {
        self.token_stats().map_or(0, |s| self.splits.train.iter().map(|&i| s.lengths[i]).sum())
    }

    /// Tokens (padding excluded) in the validation texts; 0 before tokenizing.
    pub fn valid_tokens(&self) -> usize {
        self.token_stats().map_or(0, |s| self.splits.valid.iter().map(|&i| s.lengths[i]).sum())
    }
}

/// `texts` tokenized in parallel, in order, with a progress bar on standard error (when it is a
/// terminal) once the work is seen to take more than a few seconds.
pub fn tokenize_all(tokenizer: &TextTokenizer, texts: &[String], max_len: usize) -> Result<Vec<Vec<u32>>> {
    const CHUNK: usize = 512;
    let start = Instant::now();
    let mut out = Vec::with_capacity(texts.len());
    let mut bar: Option<indicatif::ProgressBar> = None;
    for chunk in texts.chunks(CHUNK) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        out.extend(tokenizer.encode_batch(&refs, max_len)?);
        let elapsed = start.elapsed();
        if bar.is_none() && elapsed > Duration::from_millis(500) && std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            let left = elapsed.mul_f64((texts.len() - out.len()) as f64 / out.len() as f64);
            if left > Duration::from_secs(3) {
                let b = indicatif::ProgressBar::with_draw_target(Some(texts.len() as u64), indicatif::ProgressDrawTarget::stderr());
                if let Ok(style) = indicatif::ProgressStyle::with_template("tokenizing [{bar:40}] {pos}/{len} texts, {elapsed} < {eta}") {
                    b.set_style(style.progress_chars("=> "));
                }
                bar = Some(b);
            }
        }
        if let Some(b) = &bar {
            b.set_position(out.len() as u64);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    Ok(out)
}

/// The texts of column `text_col` of a CSV or Parquet file, cleaned, for prediction (no
/// labels needed). An empty text is an error naming its row.
pub fn read_text_column(path: &Path, text_col: &str) -> Result<Vec<String>> {
    let df = read_columns(path, &[text_col])?;
    texts_of(path, &df, text_col)
}

/// Column `text_col`, cleaned; an empty or missing text is an error naming its row.
fn texts_of(path: &Path, df: &DataFrame, text_col: &str) -> Result<Vec<String>> {
    string_column(path, df, text_col)?
        .into_iter()
        .enumerate()
        .map(|(i, t)| {
            let t = clean_text(t.as_deref().unwrap_or(""));
            if t.trim().is_empty() {
                return Err(Error::Data(format!(
                    "{}: row {}: the text (column '{text_col}') is empty (rows are counted from 1 after the header)",
                    path.display(),
                    i + 1
                )));
            }
            Ok(t)
        })
        .collect()
}

fn random_split(n: usize, opts: &TextDataOptions) -> Result<(Splits, String)> {
    let splits = RandomSplitter::new(opts.valid_pct, opts.seed).split(&n)?;
    Ok((splits, format!("random, valid_pct {}", opts.valid_pct)))
}

fn is_parquet(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet") || e.eq_ignore_ascii_case("pq"))
}

/// Columns `names` of a CSV (every column read as text) or Parquet file.
fn read_columns(path: &Path, names: &[&str]) -> Result<DataFrame> {
    if !path.is_file() {
        return Err(Error::io(path, std::io::Error::new(std::io::ErrorKind::NotFound, "no such file")));
    }
    let pl = |e: PolarsError| polars_error(path, e);
    let path_str = path.to_string_lossy().to_string();
    let mut lf = if is_parquet(path) {
        LazyFrame::scan_parquet(PlRefPath::new(path_str.as_str()), ScanArgsParquet::default()).map_err(pl)?
    } else {
        LazyCsvReader::new(PlRefPath::new(path_str.as_str()))
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .with_raise_if_empty(true)
            .finish()
            .map_err(pl)?
    };
    let schema = lf.collect_schema().map_err(pl)?;
    let available: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
    for n in names {
        if !available.iter().any(|a| a == n) {
            return Err(Error::bad_file(path, Error::MissingColumn { name: n.to_string(), available: available.join(", ") }.to_string()));
        }
    }
    let mut unique: Vec<&str> = Vec::new();
    for n in names {
        if !unique.contains(n) {
            unique.push(n);
        }
    }
    lf = lf.select(unique.iter().map(|n| col(*n)).collect::<Vec<_>>());
    lf.collect().map_err(pl)
}

/// A column as optional strings (numbers and booleans written out).
fn string_column(path: &Path, df: &DataFrame, name: &str) -> Result<Vec<Option<String>>> {
    let pl = |e: PolarsError| Error::bad_file(path, format!("column '{name}': {e}"));
    let c = df.column(name).map_err(pl)?;
    let c = if c.dtype() == &DataType::String { c.clone() } else { c.cast(&DataType::String).map_err(pl)? };
    Ok(c.str().map_err(pl)?.iter().map(|v| v.map(str::to_string)).collect())
}

/// A validation-marker column as booleans: a boolean column, numbers 0/1, or words.
fn bool_column(path: &Path, df: &DataFrame, name: &str) -> Result<Vec<bool>> {
    let pl = |e: PolarsError| Error::bad_file(path, format!("column '{name}': {e}"));
    let c = df.column(name).map_err(pl)?;
    let bad = |i: usize, v: &str| Error::bad_file(path, format!("row {}: '{v}' in column '{name}' is not true/false or 1/0 (rows are counted from 1 after the header)", i + 1));
    let missing = |i: usize| Error::bad_file(path, format!("row {}: column '{name}' is empty; mark every row true/false or 1/0 (rows are counted from 1 after the header)", i + 1));
    if c.dtype() == &DataType::Boolean {
        return c.bool().map_err(pl)?.iter().enumerate().map(|(i, v)| v.ok_or_else(|| missing(i))).collect();
    }
    string_column(path, df, name)?
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            let v = v.ok_or_else(|| missing(i))?;
            match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "1.0" | "yes" => Ok(true),
                "false" | "0" | "0.0" | "no" => Ok(false),
                "" => Err(missing(i)),
                _ => Err(bad(i, &v)),
            }
        })
        .collect()
}

/// A polars error as kindling's, naming the file and, for text that is not UTF-8, the row.
fn polars_error(path: &Path, e: PolarsError) -> Error {
    if !is_parquet(path)
        && let Some((row, line)) = find_non_utf8_record(path)
    {
        let which = if row == 0 { "the header".to_string() } else { format!("row {row} (line {line}; rows are counted from 1 after the header)") };
        return Error::bad_file(path, format!("{which} is not UTF-8 text: save the file as UTF-8"));
    }
    let msg = e.to_string();
    if msg.to_lowercase().contains("empty") {
        return Error::bad_file(path, format!("the file is empty ({msg})"));
    }
    Error::bad_file(path, msg)
}

/// The first CSV record that is not valid UTF-8, as (data row counted from 1 after the header,
/// 0 for the header; the 1-based line it starts on). Quoted fields may span lines.
pub(crate) fn find_non_utf8_record(path: &Path) -> Option<(usize, usize)> {
    let bytes = std::fs::read(path).ok()?;
    let (mut record, mut line, mut start, mut start_line, mut quoted) = (0usize, 1usize, 0usize, 1usize, false);
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'"' {
            quoted = !quoted;
        } else if b == b'\n' {
            line += 1;
            if !quoted {
                if std::str::from_utf8(&bytes[start..i]).is_err() {
                    return Some((record, start_line));
                }
                record += 1;
                start = i + 1;
                start_line = line;
            }
        }
    }
    std::str::from_utf8(&bytes[start..]).is_err().then_some((record, start_line))
}

/// The non-hidden subfolders of `dir`, sorted; `unsup` skipped with a note.
fn subfolders(dir: &Path, notes: &mut Vec<String>) -> Result<std::vec::IntoIter<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let p = entry.map_err(|e| Error::io(dir, e))?.path();
        let name = p.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        if !p.is_dir() || name.starts_with('.') {
            continue;
        }
        if name == "unsup" {
            let note = format!("{}: skipped (unlabelled texts)", p.display());
            if !notes.contains(&note) {
                notes.push(note);
            }
            continue;
        }
        out.push(p);
    }
    out.sort();
    Ok(out.into_iter())
}

/// `(file, class)` for every `dir/CLASS/*.txt`, sorted by class then file name.
fn class_files(dir: &Path, notes: &mut Vec<String>) -> Result<Vec<(PathBuf, String)>> {
    let mut out = Vec::new();
    for class_dir in subfolders(dir, notes)? {
        let Some(class) = class_dir.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
            return Err(Error::bad_file(&class_dir, "the folder name is not UTF-8: it cannot name a class"));
        };
        let mut files: Vec<PathBuf> = std::fs::read_dir(&class_dir)
            .map_err(|e| Error::io(&class_dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("txt")) && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
            .collect();
        files.sort();
        out.extend(files.into_iter().map(|f| (f, class.clone())));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_utf8_record_counts_quoted_newlines() {
        let dir = std::env::temp_dir().join(format!("kindling-nlp-utf8-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("t.csv");
        let mut bytes = b"text,label\n\"two\nlines\",a\nok,b\n".to_vec();
        bytes.extend_from_slice(b"bad \xff byte,a\n");
        std::fs::write(&p, &bytes).unwrap();
        assert_eq!(find_non_utf8_record(&p), Some((3, 5)));
        std::fs::write(&p, b"text,label\nfine,a\n").unwrap();
        assert_eq!(find_non_utf8_record(&p), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
