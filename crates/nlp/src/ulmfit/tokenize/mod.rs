//! fastai's text tokenization for ULMFiT (fastbook chapter 10), with the same tokens as
//! fastai 2.8's `Tokenizer.from_df` / `tokenize_df` with their defaults:
//!
//! - [`rules`]: fastai's `defaults.text_proc_rules` on the raw text (`fix_html`, `replace_rep`,
//!   `replace_wrep`, `spec_add_spaces`, `rm_useless_spaces`, `replace_all_caps`,
//!   `replace_maj`, `lowercase`, which puts `xxbos` first), the special tokens, and
//!   `replace_space` on each token;
//! - [`words`]: the word split of fastai's `WordTokenizer` (spaCy's English tokenizer);
//! - [`cache`]: a corpus tokenized once and kept on disk, as fastai writes a tokenized copy.
//!
//! ```
//! use kindling_nlp::ulmfit::tokenize::FastaiTokenizer;
//! let tok = FastaiTokenizer::new();
//! assert_eq!(
//!     tok.tokenize("I LOVED this movie!!! Didn't you?"),
//!     ["xxbos", "i", "xxup", "loved", "this", "movie", "xxrep", "3", "!", "xxmaj", "did", "n't", "you", "?"]
//! );
//! ```

pub mod cache;
pub mod rules;
pub mod words;

use rayon::prelude::*;

pub use cache::tokenize_cached;
use rules::{apply_rules, replace_space};
use words::WordTokenizer;

/// Changes whenever a change here would give different tokens for the same text: it is part of
/// the key of the [`cache`], so an old cache is never read by a new tokenizer.
pub const TOKENIZER_VERSION: &str = "kindling-fastai-tokenizer 1 (fastai 2.8.12 rules, spaCy 3.8.18 en)";

/// fastai's default text tokenizer: [`rules::PRE_RULES`], the spaCy English word split
/// ([`WordTokenizer`]), then [`rules::replace_space`] on each token. Every result starts with
/// `xxbos`; no token contains a space (spaCy's whitespace tokens, such as `"\n\n"` from
/// `<br /><br />`, are kept, as in fastai, with their spaces written `▁`).
#[derive(Clone, Copy)]
pub struct FastaiTokenizer {
    words: &'static WordTokenizer,
}

impl Default for FastaiTokenizer {
    fn default() -> Self {
        FastaiTokenizer { words: WordTokenizer::english() }
    }
}

impl std::fmt::Debug for FastaiTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FastaiTokenizer").field("version", &TOKENIZER_VERSION).finish()
    }
}

impl FastaiTokenizer {
    /// The tokenizer with fastai's defaults (the spaCy tables are read on first use).
    pub fn new() -> Self {
        Self::default()
    }

    /// The tokens of one text, as fastai's `tokenize1(text, WordTokenizer())`.
    pub fn tokenize(&self, text: &str) -> Vec<String> {
        let prepared = apply_rules(text);
        self.words.split(&prepared).into_iter().map(|t| if t.contains(' ') { replace_space(&t) } else { t }).collect()
    }

    /// The tokens of every text, on rayon's threads, in the order of `texts`.
    pub fn tokenize_all(&self, texts: &[String]) -> Vec<Vec<String>> {
        texts.par_iter().map(|t| self.tokenize(t)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_text_starts_with_xxbos_and_no_token_has_a_space() {
        let tok = FastaiTokenizer::new();
        assert_eq!(tok.tokenize(""), ["xxbos"]);
        assert_eq!(tok.tokenize("   "), ["xxbos"]);
        let t = tok.tokenize("A<br /><br />b \\n c\n \nd");
        assert_eq!(t, ["xxbos", "a", "\n\n", "b", "\n▁", "c", "\n▁\n", "d"]);
        assert!(t.iter().all(|w| !w.contains(' ') && !w.is_empty()));
    }

    #[test]
    fn tokenize_all_keeps_the_order() {
        let tok = FastaiTokenizer::new();
        let texts: Vec<String> = (0..50).map(|i| format!("Text number {i}, SAID she.")).collect();
        let all = tok.tokenize_all(&texts);
        assert_eq!(all.len(), 50);
        for (i, t) in all.iter().enumerate() {
            assert_eq!(t, &tok.tokenize(&texts[i]));
            assert_eq!(t[4], i.to_string());
        }
    }
}
