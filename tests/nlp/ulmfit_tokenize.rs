//! ULMFiT's tokenizer and vocabulary against fastai 2.8.12 (`tests/golden/fastai_tokenizer.py`):
//! the tokens of hand-picked hard cases and of real reviews and paragraphs of Emma, each rule
//! alone, spaCy's word split alone, `make_vocab` for several `min_freq`/`max_vocab`, and the
//! whole of Jane Austen's six novels (paragraphs as `fastai_ulmfit.py` cuts them) against the
//! token count, vocabulary and fingerprint fastai gives.

use std::path::PathBuf;
use std::time::Instant;

use kindling_nlp::ulmfit::tokenize::rules::{self, Rule};
use kindling_nlp::ulmfit::tokenize::words::WordTokenizer;
use kindling_nlp::ulmfit::tokenize::{FastaiTokenizer, tokenize_cached};
use kindling_nlp::ulmfit::vocab::{DEFAULT_MAX_VOCAB, DEFAULT_MIN_FREQ, Vocab};
use kindling_tests::{repo_root, shared};
use serde_json::Value;

fn golden() -> Value {
    let p = repo_root().join("tests/golden/fastai_tokenizer.json");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    serde_json::from_str(&text).expect("golden file is JSON")
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().expect("array").iter().map(|s| s.as_str().expect("string").to_string()).collect()
}

/// Asserts equal token lists, showing where they part.
#[track_caller]
fn assert_same(ours: &[String], theirs: &[String], what: &str) {
    if ours != theirs {
        let at = ours.iter().zip(theirs).position(|(a, b)| a != b).unwrap_or(ours.len().min(theirs.len()));
        let lo = at.saturating_sub(3);
        panic!(
            "{what}: differs from fastai at token {at}\n  ours:   {:?}\n  fastai: {:?}",
            &ours[lo..(at + 4).min(ours.len())],
            &theirs[lo..(at + 4).min(theirs.len())]
        );
    }
}

#[test]
fn tokens_match_fastai_on_the_golden_texts() {
    let g = golden();
    let tok = FastaiTokenizer::new();
    let texts = strings(&g["texts"]);
    let expected: Vec<Vec<String>> = g["tokens"].as_array().unwrap().iter().map(strings).collect();
    assert_eq!(texts.len(), expected.len());
    assert!(texts.len() >= 50, "{} texts", texts.len());
    for (text, want) in texts.iter().zip(&expected) {
        assert_same(&tok.tokenize(text), want, &format!("{text:?}"));
    }
    // In parallel, in order.
    assert_eq!(tok.tokenize_all(&texts), expected);
}

#[test]
fn each_rule_matches_fastai() {
    let g = golden();
    let texts = strings(&g["texts"]);
    let rules: [(&str, Rule); 9] = [
        ("fix_html", rules::fix_html),
        ("replace_rep", rules::replace_rep),
        ("replace_wrep", rules::replace_wrep),
        ("spec_add_spaces", rules::spec_add_spaces),
        ("rm_useless_spaces", rules::rm_useless_spaces),
        ("replace_all_caps", rules::replace_all_caps),
        ("replace_maj", rules::replace_maj),
        ("lowercase", rules::lowercase_default),
        ("replace_space", rules::replace_space),
    ];
    for (name, rule) in rules {
        let want = strings(&g["rules"][name]);
        assert!(!want.is_empty(), "{name} missing from the golden file");
        for (text, w) in texts.iter().zip(&want) {
            assert_eq!(&rule(text), w, "{name}({text:?})");
        }
    }
}

#[test]
fn word_split_matches_spacy() {
    let g = golden();
    let words = WordTokenizer::english();
    assert_eq!(words.spacy_version(), g["spacy_version"].as_str().unwrap());
    for case in g["words"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        assert_same(&words.split(text), &strings(&case["tokens"]), &format!("spaCy split of {text:?}"));
    }
}

#[test]
fn vocabularies_match_make_vocab() {
    let g = golden();
    let docs: Vec<Vec<String>> = g["tokens"].as_array().unwrap().iter().map(strings).collect();
    let cases = g["vocabs"].as_array().unwrap();
    assert!(cases.len() >= 5);
    for case in cases {
        let (min_freq, max_vocab) = (case["min_freq"].as_u64().unwrap() as usize, case["max_vocab"].as_u64().unwrap() as usize);
        let vocab = Vocab::build(&docs, min_freq, max_vocab).unwrap();
        assert_same(vocab.itos(), &strings(&case["itos"]), &format!("make_vocab(min_freq={min_freq}, max_vocab={max_vocab})"));
        assert_eq!(vocab.len() % 8, 0);
    }
    assert_eq!((DEFAULT_MIN_FREQ, DEFAULT_MAX_VOCAB), (3, 60_000));
}

/// Jane Austen's novels as `fastai_ulmfit.py` reads them: each file split on blank lines, each
/// paragraph stripped, its newlines made spaces, empty ones dropped.
fn austen_paragraphs() -> Vec<String> {
    let dir = shared().join("data/jane-austen");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    assert_eq!(files.len(), 6, "six novels in {}", dir.display());
    let mut paras = Vec::new();
    for f in files {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        for p in text.split("\n\n") {
            let p = p.trim_matches(rules::is_py_space);
            if !p.is_empty() {
                paras.push(p.replace('\n', " "));
            }
        }
    }
    paras
}

#[test]
fn jane_austen_matches_fastai_and_the_cache_returns_it() {
    let g = golden();
    let a = &g["austen"];
    let paras = austen_paragraphs();
    assert_eq!(paras.len() as u64, a["paragraphs"].as_u64().unwrap());
    let t = Instant::now();
    let tok = FastaiTokenizer::new();
    tok.tokenize("Ready.");
    println!("tokenizer ready in {:.3} s", t.elapsed().as_secs_f64());
    let t = Instant::now();
    let docs = tok.tokenize_all(&paras);
    let secs = t.elapsed().as_secs_f64();
    let n_tokens: usize = docs.iter().map(Vec::len).sum();
    let vocab = Vocab::build(&docs, DEFAULT_MIN_FREQ, DEFAULT_MAX_VOCAB).unwrap();
    println!(
        "austen: {} paragraphs, {n_tokens} tokens, vocab {} (min_freq 3) in {secs:.2} s, {} cores (fastai: {} tokens, vocab {})",
        paras.len(),
        vocab.len(),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        a["tokens"],
        a["vocab_len"]
    );
    assert_eq!(n_tokens as u64, a["tokens"].as_u64().unwrap());
    assert_eq!(vocab.len() as u64, a["vocab_len"].as_u64().unwrap());
    let joined: Vec<String> = docs.iter().map(|d| d.join("\u{1}")).collect();
    assert_eq!(kindling_core::hash::sha256_hex(joined.join("\u{2}").as_bytes()), a["tokens_sha256"].as_str().unwrap(), "token fingerprint");
    assert_eq!(kindling_core::hash::sha256_hex(vocab.itos().join("\u{1}").as_bytes()), a["vocab_sha256"].as_str().unwrap(), "vocab fingerprint");
    assert!(secs < 120.0, "tokenizing Jane Austen took {secs:.1} s");

    // Cached: written once, then read back identical (and faster than tokenizing).
    let dir = std::env::temp_dir().join(format!("kindling-ulmfit-tokcache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(tokenize_cached(&tok, &paras, Some(&dir)).unwrap(), docs);
    let t = Instant::now();
    assert_eq!(tokenize_cached(&tok, &paras, Some(&dir)).unwrap(), docs);
    println!("austen from the cache: {:.2} s", t.elapsed().as_secs_f64());
    std::fs::remove_dir_all(&dir).unwrap();
}
