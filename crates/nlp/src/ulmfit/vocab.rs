//! The vocabulary of a ULMFiT model: fastai's `make_vocab` and `Numericalize`.
//!
//! [`Vocab::build`] is `make_vocab(Counter(tokens), min_freq, max_vocab)` exactly: the
//! `max_vocab` most common tokens (ties in order of first appearance, as `Counter.most_common`
//! keeps them), those seen at least `min_freq` times, fastai's nine special tokens moved to the
//! front in `defaults.text_spec_tok` order, cut to `max_vocab`, then padded with `xxfake` to a
//! multiple of 8 — fastai's padding adds `8 - len % 8`, so a vocabulary whose length is already
//! a multiple of 8 gets 8 more `xxfake` entries, kept here for identical ids and sizes.
//!
//! A vocabulary is stored in model files as its list of tokens (`{"itos": [...]}`); the
//! token-to-id map is rebuilt on loading.
//!
//! ```
//! use kindling_nlp::ulmfit::vocab::Vocab;
//! let docs = vec![vec!["xxbos".to_string(), "the".into(), "cat".into(), "the".into()]];
//! let vocab = Vocab::build(&docs, 1, 60_000).unwrap();
//! assert_eq!(&vocab.itos()[9..], ["the", "cat", "xxfake", "xxfake", "xxfake", "xxfake", "xxfake"]);
//! assert_eq!(vocab.numericalize(&["xxbos", "the", "dog"]), [Vocab::BOS, 9, Vocab::UNK]);
//! assert_eq!(vocab.decode(&[2, 9, 10]), "xxbos the cat");
//! ```

use std::collections::HashMap;

use kindling_core::{Error, Result};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::tokenize::rules::SPECIAL_TOKENS;

/// fastai's default `min_freq`: a token must appear this many times to get its own id.
pub const DEFAULT_MIN_FREQ: usize = 3;
/// fastai's default `max_vocab`.
pub const DEFAULT_MAX_VOCAB: usize = 60_000;
/// The filler fastai pads a vocabulary with, to a multiple of 8; it never numericalizes to
/// its own id (it reads as unknown).
pub const FAKE: &str = "xxfake";

/// A vocabulary: ids to tokens (`itos`) and back (`stoi`). The first nine tokens are fastai's
/// special tokens, so [`Vocab::UNK`] is 0, [`Vocab::PAD`] is 1, [`Vocab::BOS`] is 2 …
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vocab {
    itos: Vec<String>,
    stoi: HashMap<String, u32>,
}

impl Vocab {
    /// Id of `xxunk`, which every unknown token gets.
    pub const UNK: u32 = 0;
    /// Id of `xxpad`.
    pub const PAD: u32 = 1;
    /// Id of `xxbos`.
    pub const BOS: u32 = 2;
    /// Id of `xxeos`.
    pub const EOS: u32 = 3;
    /// Id of `xxfld`.
    pub const FLD: u32 = 4;
    /// Id of `xxrep`.
    pub const REP: u32 = 5;
    /// Id of `xxwrep`.
    pub const WREP: u32 = 6;
    /// Id of `xxup`.
    pub const UP: u32 = 7;
    /// Id of `xxmaj`.
    pub const MAJ: u32 = 8;

    /// fastai's `make_vocab` on the tokens of `docs`, counted in order (see the module doc).
    ///
    /// Errors: no documents, or a `max_vocab` smaller than the nine special tokens.
    pub fn build(docs: &[Vec<String>], min_freq: usize, max_vocab: usize) -> Result<Vocab> {
        if docs.is_empty() {
            return Err(Error::Data("cannot build a vocabulary from no documents: the corpus has no texts".into()));
        }
        if max_vocab < SPECIAL_TOKENS.len() {
            return Err(Error::invalid("max_vocab", format!("{max_vocab} leaves no room for the {} special tokens", SPECIAL_TOKENS.len())));
        }
        // Counter: counts, with each token's first position (the order `most_common` keeps ties in).
        let mut counts: HashMap<&str, (usize, usize)> = HashMap::new();
        for tok in docs.iter().flatten() {
            let next = counts.len();
            counts.entry(tok.as_str()).or_insert((0, next)).0 += 1;
        }
        let mut common: Vec<(&str, usize, usize)> = counts.into_iter().map(|(t, (c, first))| (t, c, first)).collect();
        common.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
        common.truncate(max_vocab);
        let mut itos: Vec<String> = SPECIAL_TOKENS.iter().map(|s| s.to_string()).collect();
        itos.extend(
            common.into_iter().filter(|&(t, c, _)| c >= min_freq && !SPECIAL_TOKENS.contains(&t)).map(|(t, _, _)| t.to_string()),
        );
        itos.truncate(max_vocab);
        let pad = 8 - itos.len() % 8;
        itos.extend(std::iter::repeat_n(FAKE.to_string(), pad));
        Vocab::from_itos(itos)
    }

    /// A vocabulary from its list of tokens (as stored in a model file).
    ///
    /// Errors: the list does not start with fastai's special tokens in order, or is too long
    /// for `u32` ids.
    pub fn from_itos(itos: Vec<String>) -> Result<Vocab> {
        let starts_right = itos.len() >= SPECIAL_TOKENS.len() && itos.iter().zip(SPECIAL_TOKENS).all(|(a, b)| a == b);
        if !starts_right {
            let head: Vec<&str> = itos.iter().take(SPECIAL_TOKENS.len()).map(String::as_str).collect();
            return Err(Error::Data(format!(
                "a vocabulary must start with fastai's special tokens [{}]; this one starts with [{}]",
                SPECIAL_TOKENS.join(", "),
                head.join(", ")
            )));
        }
        if u32::try_from(itos.len()).is_err() {
            return Err(Error::Data(format!("a vocabulary of {} tokens does not fit 32-bit ids", itos.len())));
        }
        // As fastai's `o2i`: the last of duplicates wins; `xxfake` has no id of its own.
        let stoi = itos.iter().enumerate().filter(|(_, t)| *t != FAKE).map(|(i, t)| (t.clone(), i as u32)).collect();
        Ok(Vocab { itos, stoi })
    }

    /// Number of ids (the model's embedding rows), `xxfake` padding included.
    pub fn len(&self) -> usize {
        self.itos.len()
    }

    /// Whether there are no ids (never true for a built or loaded vocabulary).
    pub fn is_empty(&self) -> bool {
        self.itos.is_empty()
    }

    /// The tokens, by id.
    pub fn itos(&self) -> &[String] {
        &self.itos
    }

    /// The id of `token`, if it has one (`xxfake` has none).
    pub fn index(&self, token: &str) -> Option<u32> {
        self.stoi.get(token).copied()
    }

    /// The token with id `id`.
    pub fn token(&self, id: u32) -> Option<&str> {
        self.itos.get(id as usize).map(String::as_str)
    }

    /// The ids of `tokens`, unknown ones as [`Vocab::UNK`] (fastai's `Numericalize.encodes`).
    pub fn numericalize<S: AsRef<str>>(&self, tokens: &[S]) -> Vec<u32> {
        tokens.iter().map(|t| self.index(t.as_ref()).unwrap_or(Self::UNK)).collect()
    }

    /// The tokens of `ids` joined by spaces (fastai's `Numericalize.decodes` then
    /// `Tokenizer.decodes`); an id out of range reads as `xxunk`.
    pub fn decode(&self, ids: &[u32]) -> String {
        let toks: Vec<&str> = ids.iter().map(|&i| self.token(i).unwrap_or(SPECIAL_TOKENS[0])).collect();
        toks.join(" ")
    }
}

impl Serialize for Vocab {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Stored<'a> {
            itos: &'a [String],
        }
        Stored { itos: &self.itos }.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Vocab {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Stored {
            itos: Vec<String>,
        }
        let stored = Stored::deserialize(deserializer)?;
        Vocab::from_itos(stored.itos).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn docs(texts: &[&str]) -> Vec<Vec<String>> {
        texts.iter().map(|t| t.split(' ').map(String::from).collect()).collect()
    }

    #[test]
    fn most_common_ties_keep_first_appearance_and_specials_lead() {
        let d = docs(&["xxbos b a c xxmaj", "xxbos c a b d d d"]);
        let v = Vocab::build(&d, 2, 60_000).unwrap();
        // counts: d 3, xxbos 2, b 2, a 2, c 2 (first seen in that order).
        assert_eq!(&v.itos()[..14], ["xxunk", "xxpad", "xxbos", "xxeos", "xxfld", "xxrep", "xxwrep", "xxup", "xxmaj", "d", "b", "a", "c", FAKE]);
        assert_eq!(v.len(), 16);
    }

    #[test]
    fn padding_adds_eight_when_already_a_multiple_of_eight() {
        // 9 specials + 7 tokens = 16: fastai pads with 8 more.
        let d = docs(&["a b c d e f g"]);
        let v = Vocab::build(&d, 1, 60_000).unwrap();
        assert_eq!(v.len(), 24);
        assert_eq!(v.itos().iter().filter(|t| *t == FAKE).count(), 8);
        assert_eq!(v.index(FAKE), None);
        assert_eq!(v.numericalize(&[FAKE]), [Vocab::UNK]);
    }

    #[test]
    fn max_vocab_cuts_before_the_specials_are_added_and_after() {
        let d = docs(&["a a a b b c"]);
        // most_common(10) keeps a, b, c; specials first; cut to 10: a only.
        let v = Vocab::build(&d, 1, 10).unwrap();
        assert_eq!(&v.itos()[9..], ["a", FAKE, FAKE, FAKE, FAKE, FAKE, FAKE]);
        assert!(Vocab::build(&d, 1, 8).unwrap_err().to_string().contains("max_vocab"));
    }

    #[test]
    fn no_documents_is_an_error() {
        let err = Vocab::build(&[], 3, 60_000).unwrap_err();
        assert!(err.to_string().contains("no documents"), "{err}");
        // Documents with no tokens: just the specials.
        assert_eq!(Vocab::build(&[vec![]], 3, 60_000).unwrap().len(), 16);
    }

    #[test]
    fn ids_and_text() {
        let v = Vocab::build(&docs(&["xxbos hello world hello"]), 1, 60_000).unwrap();
        assert_eq!(v.index("hello"), Some(9));
        assert_eq!(v.token(10), Some("world"));
        assert_eq!(v.token(1000), None);
        assert_eq!(v.numericalize(&["xxbos".to_string(), "world".into(), "mars".into()]), [Vocab::BOS, 10, Vocab::UNK]);
        assert_eq!(v.decode(&[2, 9, 10, 999]), "xxbos hello world xxunk");
        assert_eq!(v.decode(&[]), "");
        for (i, s) in SPECIAL_TOKENS.iter().enumerate() {
            assert_eq!(v.index(s), Some(i as u32));
        }
        assert_eq!((Vocab::UNK, Vocab::PAD, Vocab::BOS, Vocab::EOS, Vocab::FLD, Vocab::REP, Vocab::WREP, Vocab::UP, Vocab::MAJ), (0, 1, 2, 3, 4, 5, 6, 7, 8));
    }

    #[test]
    fn serde_stores_the_tokens_only_and_checks_them() {
        let v = Vocab::build(&docs(&["xxbos a b a"]), 1, 60_000).unwrap();
        let json = serde_json::to_string(&v).unwrap();
        assert!(json.starts_with("{\"itos\":[\"xxunk\""), "{json}");
        let back: Vocab = serde_json::from_str(&json).unwrap();
        assert_eq!(back, v);
        let err = serde_json::from_str::<Vocab>("{\"itos\":[\"a\",\"b\"]}").unwrap_err();
        assert!(err.to_string().contains("special tokens"), "{err}");
        assert!(Vocab::from_itos(vec![]).is_err());
    }

    #[test]
    fn duplicates_resolve_to_the_last_as_in_fastai() {
        let mut itos: Vec<String> = SPECIAL_TOKENS.iter().map(|s| s.to_string()).collect();
        itos.extend(["x".to_string(), "x".to_string()]);
        let v = Vocab::from_itos(itos).unwrap();
        assert_eq!(v.index("x"), Some(10));
    }
}
