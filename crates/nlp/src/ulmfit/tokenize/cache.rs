//! A corpus tokenized once and kept on disk, as fastai keeps a tokenized copy of a corpus
//! (`tokenize_folder`'s `<folder>_tok`, `tokenize_csv`'s `*_tok.csv`).
//!
//! Where the cache lives is the caller's choice: [`tokenize_cached`] takes a folder (the
//! ULMFiT command passes one beside its runs, such as `<run dir>/../.kindling-cache`), creates
//! it if needed, and keeps one file per corpus in it:
//! `tokens-<first 16 hex digits of the key>.txt`. The key is the SHA-256 of
//! [`TOKENIZER_VERSION`](super::TOKENIZER_VERSION) and of the texts (each with its length, so
//! that no two corpora collide by where one text ends), so a changed corpus or tokenizer gets
//! a new file and an old one is never read by mistake. Files are never deleted here: remove the
//! folder to reclaim the space.
//!
//! File format (UTF-8): a header line
//! `# kindling tokens v1 docs=<n> tokens=<total> key=<full key>`, then one line per document,
//! its tokens joined by single spaces. A token never contains a space (fastai's
//! `replace_space` has written spaces as `▁`); spaCy's whitespace tokens (`"\n\n"`) are written
//! escaped: `\n` for a newline, `\r` for a carriage return, `\\` for a backslash. A file whose
//! header, key, number of documents or number of tokens is wrong (truncated, edited, from an
//! interrupted copy) is ignored and written afresh; writes are atomic
//! ([`kindling_core::io::write_atomic`]).

use std::path::{Path, PathBuf};

use kindling_core::{Error, Result};

use super::{FastaiTokenizer, TOKENIZER_VERSION};

/// The first line of every cache file, before its counts.
const MAGIC: &str = "# kindling tokens v1";

/// The tokens of `texts` (as [`FastaiTokenizer::tokenize_all`] gives them), read from
/// `cache_dir` when this corpus was tokenized before with this tokenizer version, else
/// computed and written there. With no `cache_dir`, just computed.
///
/// Errors: the folder cannot be created or the file cannot be written (a cache that cannot be
/// read is recomputed, never an error).
pub fn tokenize_cached(tok: &FastaiTokenizer, texts: &[String], cache_dir: Option<&Path>) -> Result<Vec<Vec<String>>> {
    let Some(dir) = cache_dir else {
        return Ok(tok.tokenize_all(texts));
    };
    let key = corpus_key(texts);
    let path = cache_path(dir, &key);
    if let Some(docs) = read_cache(&path, &key, texts.len()) {
        return Ok(docs);
    }
    let docs = tok.tokenize_all(texts);
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    kindling_core::io::write_atomic(&path, render(&docs, &key).as_bytes())?;
    Ok(docs)
}

/// The SHA-256 (hex) that names a corpus: the tokenizer version, then each text with its
/// length in bytes.
pub fn corpus_key(texts: &[String]) -> String {
    let total: usize = texts.iter().map(|t| t.len() + 8).sum();
    let mut bytes = Vec::with_capacity(TOKENIZER_VERSION.len() + 8 + total);
    bytes.extend_from_slice(TOKENIZER_VERSION.as_bytes());
    bytes.extend_from_slice(&(texts.len() as u64).to_le_bytes());
    for t in texts {
        bytes.extend_from_slice(&(t.len() as u64).to_le_bytes());
        bytes.extend_from_slice(t.as_bytes());
    }
    kindling_core::hash::sha256_hex(&bytes)
}

/// The cache file of the corpus whose key is `key`, in `dir`.
pub fn cache_path(dir: &Path, key: &str) -> PathBuf {
    dir.join(format!("tokens-{}.txt", &key[..16.min(key.len())]))
}

/// The file's text for `docs`.
fn render(docs: &[Vec<String>], key: &str) -> String {
    let n_tokens: usize = docs.iter().map(Vec::len).sum();
    let size: usize = docs.iter().flatten().map(|t| t.len() + 1).sum();
    let mut out = String::with_capacity(size + docs.len() + 128);
    out.push_str(&format!("{MAGIC} docs={} tokens={n_tokens} key={key}\n", docs.len()));
    for doc in docs {
        for (i, t) in doc.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            escape_into(t, &mut out);
        }
        out.push('\n');
    }
    out
}

fn escape_into(t: &str, out: &mut String) {
    for c in t.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            // Cannot happen (fastai's `replace_space`), but a space must never split a token.
            ' ' => out.push('▁'),
            c => out.push(c),
        }
    }
}

fn unescape(t: &str) -> String {
    if !t.contains('\\') {
        return t.to_string();
    }
    let mut out = String::with_capacity(t.len());
    let mut chars = t.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some(other) => out.push(other),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The documents in the file at `path`, or `None` when it is missing or not exactly the cache of
/// `n_docs` documents under `key`.
fn read_cache(path: &Path, key: &str, n_docs: usize) -> Option<Vec<Vec<String>>> {
    let bytes = std::fs::read(path).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let body = text.strip_suffix('\n')?;
    let mut lines = body.split('\n');
    let header = lines.next()?;
    let fields = header.strip_prefix(MAGIC)?;
    let mut docs_field = None;
    let mut tokens_field = None;
    let mut key_field = None;
    for f in fields.split_whitespace() {
        if let Some(v) = f.strip_prefix("docs=") {
            docs_field = v.parse::<usize>().ok();
        } else if let Some(v) = f.strip_prefix("tokens=") {
            tokens_field = v.parse::<usize>().ok();
        } else if let Some(v) = f.strip_prefix("key=") {
            key_field = Some(v);
        }
    }
    if docs_field? != n_docs || key_field? != key {
        return None;
    }
    let docs: Vec<Vec<String>> =
        lines.map(|l| if l.is_empty() { Vec::new() } else { l.split(' ').map(unescape).collect() }).collect();
    let n_tokens: usize = docs.iter().map(Vec::len).sum();
    (docs.len() == n_docs && n_tokens == tokens_field?).then_some(docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("kindling-tokcache-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn escaping_round_trips() {
        for t in ["\n\n", "\\", "a\\nb", "\r\n▁", "plain", "\\\\n"] {
            let mut s = String::new();
            escape_into(t, &mut s);
            assert!(!s.contains('\n') && !s.contains(' '));
            assert_eq!(unescape(&s), t);
        }
    }

    #[test]
    fn a_corpus_is_written_once_then_read_and_a_bad_file_is_rewritten() {
        let dir = tmp("roundtrip");
        let tok = FastaiTokenizer::new();
        let texts: Vec<String> = vec!["Hello WORLD.<br /><br />Bye \\ now".into(), String::new(), "a\\nb".into()];
        let first = tokenize_cached(&tok, &texts, Some(&dir)).unwrap();
        assert_eq!(first, tok.tokenize_all(&texts));
        let path = cache_path(&dir, &corpus_key(&texts));
        assert!(path.exists());
        // Read back: the same tokens, from the file.
        let text = std::fs::read_to_string(&path).unwrap();
        let edited = text.replace("xxmaj hello", "xxmaj HELLO");
        std::fs::write(&path, &edited).unwrap();
        assert_eq!(tokenize_cached(&tok, &texts, Some(&dir)).unwrap()[0][2], "HELLO");
        // Truncated, a token missing, garbage, not UTF-8: each recomputed and rewritten.
        for bad in [&text[..text.len() - 5], &text.replacen(" hello", "", 1), "junk", ""] {
            std::fs::write(&path, bad).unwrap();
            assert_eq!(tokenize_cached(&tok, &texts, Some(&dir)).unwrap(), first);
            assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        }
        std::fs::write(&path, [0xff, 0xfe, b'\n']).unwrap();
        assert_eq!(tokenize_cached(&tok, &texts, Some(&dir)).unwrap(), first);
        // Another corpus, another file; no folder, no file.
        let other = vec!["Other".to_string()];
        assert_eq!(tokenize_cached(&tok, &other, Some(&dir)).unwrap(), [["xxbos", "xxmaj", "other"]]);
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 2);
        assert_eq!(tokenize_cached(&tok, &other, None).unwrap(), [["xxbos", "xxmaj", "other"]]);
        let empty: Vec<String> = Vec::new();
        assert!(tokenize_cached(&tok, &empty, Some(&dir)).unwrap().is_empty());
        assert!(tokenize_cached(&tok, &empty, Some(&dir)).unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn keys_tell_corpora_apart() {
        let a = corpus_key(&["ab".into(), "c".into()]);
        assert_ne!(a, corpus_key(&["a".into(), "bc".into()]));
        assert_ne!(a, corpus_key(&["ab".into(), "c".into(), String::new()]));
        assert_eq!(a, corpus_key(&["ab".into(), "c".into()]));
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn an_unwritable_folder_is_an_error_not_a_panic() {
        let file = tmp("notadir");
        std::fs::write(&file, b"x").unwrap();
        let err = tokenize_cached(&FastaiTokenizer::new(), &["x".into()], Some(&file.join("sub"))).unwrap_err();
        assert!(err.to_string().contains("notadir"), "{err}");
        std::fs::remove_file(&file).unwrap();
    }
}
