//! A Hugging Face `tokenizer.json` (BERT's WordPiece, RoBERTa's byte-level BPE …) through the
//! `tokenizers` crate, giving the same token ids as Python's `tokenizers`/`transformers`.
//!
//! Texts get the special tokens the file's post-processor adds (`[CLS] … [SEP]` for BERT,
//! `<s> … </s>` for RoBERTa) and are cut to `max_len` tokens as `transformers` cuts them with
//! `truncation=True, max_length=max_len`: the head of the text is kept, then the closing special
//! token(s), so a BERT text longer than `max_len` tokens keeps its first `max_len - 2` word
//! pieces between `[CLS]` and `[SEP]`. The padding and truncation settings stored in the file
//! are ignored: batches are padded by the loader to their own longest text.

use std::path::Path;

use kindling_core::{Error, Result};
use rayon::prelude::*;
use tokenizers::utils::truncation::{TruncationDirection, TruncationParams, TruncationStrategy, truncate_encodings};
use tokenizers::{PostProcessor, Tokenizer};

/// A tokenizer read from a `tokenizer.json`.
#[derive(Clone)]
pub struct TextTokenizer {
    inner: Tokenizer,
    json: String,
    pad_id: u32,
    n_special: usize,
    vocab_size: usize,
}

impl std::fmt::Debug for TextTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextTokenizer").field("vocab_size", &self.vocab_size).field("pad_id", &self.pad_id).finish()
    }
}

impl TextTokenizer {
    /// Reads a `tokenizer.json` (as found in a Hugging Face Hub directory). A missing,
    /// unreadable or invalid file, or one without a padding token, is an error naming it.
    pub fn from_file(path: &Path) -> Result<Self> {
        let json = std::fs::read_to_string(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::bad_file(path, "no such file: a Hugging Face tokenizer.json is needed (save one with `tokenizer.save_pretrained`)"),
            std::io::ErrorKind::InvalidData => Error::bad_file(path, "is not UTF-8 text: not a tokenizer.json"),
            _ => Error::io(path, e),
        })?;
        Self::from_json(&json).map_err(|e| Error::bad_file(path, e.to_string()))
    }

    /// A tokenizer from the text of a `tokenizer.json` (as stored in a model file).
    pub fn from_json(json: &str) -> Result<Self> {
        let mut inner: Tokenizer = json.parse().map_err(|e| Error::Data(format!("not a valid Hugging Face tokenizer.json: {e}")))?;
        let pad_id = match inner.get_padding() {
            Some(p) => p.pad_id,
            None => ["[PAD]", "<pad>"].iter().find_map(|t| inner.token_to_id(t)).ok_or_else(|| {
                Error::Data("the tokenizer has no padding token (no padding settings, no [PAD] or <pad> token): texts of different lengths cannot be batched".into())
            })?,
        };
        inner.with_padding(None);
        inner.with_truncation(None).map_err(|e| Error::Data(format!("cannot turn the tokenizer's truncation off: {e}")))?;
        let n_special = inner.get_post_processor().map_or(0, |p| p.added_tokens(false));
        let vocab_size = inner.get_vocab(true).values().max().map_or(0, |&m| m as usize + 1);
        Ok(Self { inner, json: json.to_string(), pad_id, n_special, vocab_size })
    }

    /// The `tokenizer.json` text this tokenizer was read from (padding and truncation settings
    /// included, as in the file; they are ignored when it is read back).
    pub fn to_json(&self) -> String {
        self.json.clone()
    }

    /// The token ids of `text` with the special tokens, at most `max_len` of them (the head of
    /// the text and the closing special tokens are kept). `max_len` must leave room for the
    /// special tokens.
    pub fn encode(&self, text: &str, max_len: usize) -> Result<Vec<u32>> {
        self.encode_marked(text, max_len).map(|(ids, _)| ids)
    }

    /// [`encode`](Self::encode), and whether the text was longer than `max_len` and cut.
    pub fn encode_marked(&self, text: &str, max_len: usize) -> Result<(Vec<u32>, bool)> {
        if max_len < self.n_special.max(1) {
            return Err(Error::invalid("max_len", format!("{max_len} leaves no room for this tokenizer's {} special tokens", self.n_special)));
        }
        let err = |e: tokenizers::Error| Error::Data(format!("cannot tokenize {:?}: {e}", preview(text)));
        let enc = self.inner.encode_fast(text, false).map_err(err)?;
        let room = max_len - self.n_special;
        let cut = enc.len() > room;
        let params = TruncationParams { max_length: room, strategy: TruncationStrategy::LongestFirst, stride: 0, direction: TruncationDirection::Right };
        let (enc, _) = truncate_encodings(enc, None, &params).map_err(err)?;
        let enc = self.inner.post_process(enc, None, true).map_err(err)?;
        Ok((enc.get_ids().to_vec(), cut))
    }

    /// [`encode_marked`](Self::encode_marked) for every text, in parallel, in order.
    pub fn encode_batch_marked(&self, texts: &[&str], max_len: usize) -> Result<Vec<(Vec<u32>, bool)>> {
        texts.par_iter().map(|t| self.encode_marked(t, max_len)).collect()
    }

    /// [`encode`](Self::encode) for every text, in parallel, in order.
    pub fn encode_batch(&self, texts: &[&str], max_len: usize) -> Result<Vec<Vec<u32>>> {
        texts.par_iter().map(|t| self.encode(t, max_len)).collect()
    }

    /// The text of `ids`, special tokens left out.
    pub fn decode(&self, ids: &[u32]) -> Result<String> {
        self.inner.decode(ids, true).map_err(|e| Error::Data(format!("cannot decode {} token ids: {e}", ids.len())))
    }

    /// The padding token's id: from the file's padding settings, else its `[PAD]` or `<pad>`
    /// token (a tokenizer without one is refused when read).
    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// One more than the largest token id (special and added tokens included): the model needs
    /// at least this many embeddings.
    pub fn vocab_size(&self) -> usize {
        self.vocab_size
    }

    /// How many special tokens a single text gets (2 for BERT and RoBERTa).
    pub fn n_special(&self) -> usize {
        self.n_special
    }

    /// The id of `token`, if the vocabulary has it.
    pub fn token_to_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    /// The underlying `tokenizers` tokenizer (padding and truncation off).
    pub fn inner(&self) -> &Tokenizer {
        &self.inner
    }
}

/// The first 40 characters of `text`, for messages.
fn preview(text: &str) -> String {
    let mut p: String = text.chars().take(40).collect();
    if p.len() < text.len() {
        p.push('…');
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny WordPiece tokenizer.json, as BERT's, padding and truncation set in the file.
    pub(crate) const TINY_BERT: &str = r###"{
      "version": "1.0",
      "truncation": {"max_length": 4, "strategy": "LongestFirst", "stride": 0},
      "padding": {"strategy": {"Fixed": 16}, "direction": "Right", "pad_to_multiple_of": null, "pad_id": 0, "pad_type_id": 0, "pad_token": "[PAD]"},
      "added_tokens": [
        {"id": 0, "special": true, "content": "[PAD]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false},
        {"id": 1, "special": true, "content": "[UNK]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false},
        {"id": 2, "special": true, "content": "[CLS]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false},
        {"id": 3, "special": true, "content": "[SEP]", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false}
      ],
      "normalizer": {"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": null, "lowercase": true},
      "pre_tokenizer": {"type": "BertPreTokenizer"},
      "post_processor": {"type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}, {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
        "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]}, "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
      "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": true},
      "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100,
        "vocab": {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "the": 4, "cat": 5, "sat": 6, "on": 7, "mat": 8, "##s": 9, ".": 10}}
    }"###;

    #[test]
    fn specials_added_file_truncation_and_padding_ignored() {
        let t = TextTokenizer::from_json(TINY_BERT).unwrap();
        assert_eq!((t.pad_id(), t.n_special(), t.vocab_size()), (0, 2, 11));
        // The file says max_length 4 and pads to 16: neither applies.
        assert_eq!(t.encode("The cats sat on the mat.", 100).unwrap(), vec![2, 4, 5, 9, 6, 7, 4, 8, 10, 3]);
        assert_eq!(t.encode("the dog", 100).unwrap(), vec![2, 4, 1, 3]);
    }

    #[test]
    fn truncation_keeps_the_head_and_the_separator() {
        let t = TextTokenizer::from_json(TINY_BERT).unwrap();
        assert_eq!(t.encode("the cat sat on the mat", 5).unwrap(), vec![2, 4, 5, 6, 3]);
        assert_eq!(t.encode("the cat sat on the mat", 2).unwrap(), vec![2, 3]);
        assert!(t.encode("the cat", 1).unwrap_err().to_string().contains("max_len"));
        let batch = t.encode_batch(&["the cat sat", "mat", ""], 4).unwrap();
        assert_eq!(batch, vec![vec![2, 4, 5, 3], vec![2, 8, 3], vec![2, 3]]);
        assert_eq!(t.decode(&batch[0]).unwrap(), "the cat");
    }

    /// A tiny byte-level BPE tokenizer.json, as RoBERTa's: `<s> … </s>`, `<pad>` and no
    /// padding settings.
    const TINY_ROBERTA: &str = r###"{
      "version": "1.0", "truncation": null, "padding": null,
      "added_tokens": [
        {"id": 0, "special": true, "content": "<s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false},
        {"id": 1, "special": true, "content": "<pad>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false},
        {"id": 2, "special": true, "content": "</s>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false},
        {"id": 3, "special": true, "content": "<unk>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false}
      ],
      "normalizer": null,
      "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
      "post_processor": {"type": "RobertaProcessing", "sep": ["</s>", 2], "cls": ["<s>", 0], "trim_offsets": true, "add_prefix_space": false},
      "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
      "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "continuing_subword_prefix": null, "end_of_word_suffix": null,
        "fuse_unk": false, "byte_fallback": false, "ignore_merges": false,
        "vocab": {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "a": 4, "b": 5, "Ġ": 6, "Ġa": 7},
        "merges": ["Ġ a"]}
    }"###;

    #[test]
    fn roberta_style_specials_pad_and_truncation() {
        let t = TextTokenizer::from_json(TINY_ROBERTA).unwrap();
        assert_eq!((t.pad_id(), t.n_special(), t.vocab_size()), (1, 2, 8));
        assert_eq!(t.encode("a b a", 64).unwrap(), vec![0, 4, 6, 5, 7, 2]);
        assert_eq!(t.encode("a b a", 4).unwrap(), vec![0, 4, 6, 2]);
        assert_eq!(t.decode(&[0, 4, 6, 5, 7, 2]).unwrap(), "a b a");
    }

    #[test]
    fn json_round_trip_and_bad_files() {
        let t = TextTokenizer::from_json(TINY_BERT).unwrap();
        let back = TextTokenizer::from_json(&t.to_json()).unwrap();
        assert_eq!(back.encode("the mats", 10).unwrap(), t.encode("the mats", 10).unwrap());
        let dir = std::env::temp_dir().join(format!("kindling-tok-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("nope/tokenizer.json");
        let err = TextTokenizer::from_file(&missing).unwrap_err().to_string();
        assert!(err.contains("nope/tokenizer.json") && err.contains("no such file"), "{err}");
        let corrupt = dir.join("tokenizer.json");
        std::fs::write(&corrupt, "{\"version\": \"1.0\", \"model\": ").unwrap();
        let err = TextTokenizer::from_file(&corrupt).unwrap_err().to_string();
        assert!(err.contains("tokenizer.json") && err.contains("not a valid"), "{err}");
        let no_pad = TINY_BERT.replace("\"[PAD]\"", "\"[NOPE]\"").replace(r#""padding": {"strategy": {"Fixed": 16}, "direction": "Right", "pad_to_multiple_of": null, "pad_id": 0, "pad_type_id": 0, "pad_token": "[NOPE]"},"#, "");
        let err = TextTokenizer::from_json(&no_pad).unwrap_err().to_string();
        assert!(err.contains("no padding token"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
