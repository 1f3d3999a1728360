//! The word split of fastai's `SpacyTokenizer`: spaCy's English tokenizer (`spacy.blank("en")`,
//! spaCy 3.8) with fastai's special tokens added as special cases, re-implemented from spaCy's
//! `tokenizer.pyx` and run on spaCy's own tables.
//!
//! `spacy_en.json` (written by `tests/golden/fastai_tokenizer.py --spacy-tables`) holds spaCy's
//! English data verbatim: the prefix, suffix and infix regular expressions, the URL matcher and
//! the 1,347 special cases ("don't" → `do n't`, "can't" → `ca n't`, "dont" → `do nt`, "Mr." and
//! "e.g." kept whole, emoticons such as `:)`). The algorithm is spaCy's:
//!
//! 1. the text is cut at whitespace: a single space separates two tokens; any other whitespace
//!    is a token of its own (a newline, a tab, the second of two spaces, `" \n"` after a word:
//!    the first space of a run after a word is the separator);
//! 2. each chunk that is a special case becomes its tokens; otherwise prefixes (`(`, `"`, `$`,
//!    `...`) and suffixes (`,`, `.`, `'s`, `km` after a digit) are peeled off in turn, stopping
//!    as soon as what is left is a special case; what remains is kept whole if it is a special
//!    case or a URL / e-mail address, else split at infixes (hyphens between letters, `...`,
//!    a comma between letters, `+-*^` between digits);
//! 3. a last pass replaces runs of tokens that spell a special case containing punctuation
//!    (`x:)` → `x :)`, `5p.m.` → `5 p.m.`), as spaCy's special-case matcher does.
//!
//! spaCy's regular expressions run on [`fancy_regex`] (they use look-behind and look-ahead),
//! translated from Python's syntax: `\s` and `\w` keep Python's meaning (see
//! [`super::rules::is_py_space`]). Each chunk's split is cached per thread, as spaCy caches it.
//!
//! Checked token for token against fastai 2.8.12 with spaCy 3.8.18: the golden texts
//! (`tests/golden/fastai_tokenizer.json`), all 923,551 tokens of Jane Austen's six novels, the
//! 5,000 Amazon reviews, and 15,000 random strings of punctuation, quotes, emoticons, URLs,
//! entities, odd whitespace and repeated words — no difference. Known differences, in theory
//! only: Rust's Unicode tables are newer than Python 3.11's (Unicode 14), so a character
//! assigned since then may count as a letter, digit or space here and not there (`\w`, `\s`,
//! `str.isspace`, `str.lower`); fancy-regex gives up on a pathological backtracking case (never
//! met with spaCy's patterns) where Python would keep going, and that search then finds nothing;
//! texts of 2^30 characters or more, which spaCy refuses, are split all the same.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use fancy_regex::Regex;
use serde::Deserialize;

use super::rules::{SPECIAL_TOKENS, is_py_space};

/// spaCy's tables as `--spacy-tables` writes them.
#[derive(Deserialize)]
struct SpacyTables {
    spacy_version: String,
    prefix: String,
    suffix: String,
    infix: String,
    url: String,
    rules: Vec<(String, Vec<String>)>,
}

/// One of spaCy's searches: the pattern on [`fancy_regex`], and the same pattern without its
/// look-arounds on the `regex` crate, a superset that says cheaply when there is no match.
struct Search {
    exact: Regex,
    maybe: regex::Regex,
}

impl Search {
    fn new(python: &str) -> Self {
        let rust = py_to_rust(python);
        let exact = Regex::new(&rust).unwrap_or_else(|e| panic!("spaCy pattern does not compile: {e}"));
        let maybe = regex::Regex::new(&strip_lookarounds(&rust)).unwrap_or_else(|e| panic!("spaCy pattern without look-arounds: {e}"));
        Search { exact, maybe }
    }

    /// Python's `pattern.search(s)`: the first match's byte range.
    fn search(&self, s: &str) -> Option<(usize, usize)> {
        // No exact match starts before the superset's first match (which, its look-behinds
        // consumed, starts at or before the exact one); the exact search starts there, with
        // the text before it still visible to its look-behinds.
        let from = self.maybe.find(s)?.start();
        self.exact.find_from_pos(s, from).ok().flatten().map(|m| (m.start(), m.end()))
    }

    /// Python's `pattern.finditer(s)`: the byte ranges of the non-overlapping matches.
    fn find_all(&self, s: &str) -> Vec<(usize, usize)> {
        if !self.maybe.is_match(s) {
            return Vec::new();
        }
        self.exact.find_iter(s).map_while(Result::ok).map(|m| (m.start(), m.end())).collect()
    }
}

/// A token during the split, with spaCy's `whitespace_` (a single space follows it), which the
/// special-case pass needs to rebuild a span's text.
struct Tok {
    text: String,
    space: bool,
}

/// spaCy's English word split, as fastai's `SpacyTokenizer` builds it. Get the one instance
/// with [`WordTokenizer::english`].
pub struct WordTokenizer {
    specials: HashMap<String, Vec<String>>,
    prefix: Search,
    suffix: Search,
    infix: Search,
    url: Search,
    /// Special cases that the affix rules would break up, by their first token as split without
    /// special cases: spaCy's `_special_matcher` (a `PhraseMatcher`).
    matcher: HashMap<String, Vec<Vec<String>>>,
    spacy_version: String,
}

static ENGLISH: LazyLock<WordTokenizer> = LazyLock::new(WordTokenizer::build_english);

/// Chunks kept per thread before the cache starts afresh (spaCy keeps 10,000 per tokenizer).
const CACHE_LIMIT: usize = 50_000;

thread_local! {
    static CACHE: RefCell<HashMap<String, Vec<String>>> = RefCell::new(HashMap::new());
}

impl WordTokenizer {
    /// spaCy's English tokenizer with fastai's special tokens (`xxbos`, `xxmaj` …) as special
    /// cases, built on first use (its regular expressions compiled, well under a second) and
    /// shared.
    pub fn english() -> &'static WordTokenizer {
        &ENGLISH
    }

    fn build_english() -> WordTokenizer {
        let tables: SpacyTables = serde_json::from_str(include_str!("spacy_en.json")).expect("spacy_en.json holds spaCy's tables");
        let mut tok = WordTokenizer {
            specials: HashMap::new(),
            prefix: Search::new(&tables.prefix),
            suffix: Search::new(&tables.suffix),
            infix: Search::new(&tables.infix),
            url: Search::new(&tables.url),
            matcher: HashMap::new(),
            spacy_version: tables.spacy_version,
        };
        // spaCy loads its rules sorted, then fastai adds its own (`add_special_case`).
        let mut rules = tables.rules;
        rules.extend(SPECIAL_TOKENS.iter().map(|s| (s.to_string(), vec![s.to_string()])));
        for (key, orths) in rules {
            debug_assert_eq!(orths.concat(), key);
            tok.specials.insert(key, orths);
        }
        // `add_special_case`: a case that the affix rules would split goes to the matcher, under
        // its split without special cases.
        let mut keys: Vec<&String> = tok.specials.keys().collect();
        keys.sort();
        let mut matcher: HashMap<String, Vec<Vec<String>>> = HashMap::new();
        for key in keys {
            let affixed = tok.find_prefix(key) > 0 || !tok.infix.find_all(key).is_empty() || tok.find_suffix(key) > 0 || key.contains(' ');
            if affixed {
                let pattern: Vec<String> = tok.tokenize_affixes(key, false).into_iter().map(|t| t.text).collect();
                if let Some(first) = pattern.first() {
                    matcher.entry(first.clone()).or_default().push(pattern);
                }
            }
        }
        tok.matcher = matcher;
        tok
    }

    /// The spaCy version the tables come from.
    pub fn spacy_version(&self) -> &str {
        &self.spacy_version
    }

    /// Splits `text` into words as `spacy.blank("en")` does (with fastai's special tokens):
    /// the texts of the tokens, whitespace tokens included.
    ///
    /// ```
    /// use kindling_nlp::ulmfit::tokenize::words::WordTokenizer;
    /// let w = WordTokenizer::english();
    /// assert_eq!(w.split("I don't know, Mr. Smith..."), ["I", "do", "n't", "know", ",", "Mr.", "Smith", "..."]);
    /// assert_eq!(w.split("state-of-the-art\n\nhttp://fast.ai"), ["state", "-", "of", "-", "the", "-", "art", "\n\n", "http://fast.ai"]);
    /// ```
    pub fn split(&self, text: &str) -> Vec<String> {
        let doc = self.tokenize_affixes(text, true);
        self.apply_special_cases(doc)
    }

    /// spaCy's `_tokenize_affixes`: the whitespace walk, each chunk split.
    fn tokenize_affixes(&self, text: &str, with_special: bool) -> Vec<Tok> {
        let mut doc: Vec<Tok> = Vec::new();
        let Some(first) = text.chars().next() else { return doc };
        let mut in_ws = is_py_space(first);
        let mut start = 0;
        for (i, c) in text.char_indices() {
            if is_py_space(c) != in_ws {
                if start < i {
                    self.tokenize_chunk(&text[start..i], with_special, &mut doc);
                }
                if c == ' ' {
                    if let Some(last) = doc.last_mut() {
                        last.space = true;
                    }
                    start = i + 1;
                } else {
                    start = i;
                }
                in_ws = !in_ws;
            }
        }
        if start < text.len() {
            self.tokenize_chunk(&text[start..], with_special, &mut doc);
            if let Some(last) = doc.last_mut() {
                last.space = text.ends_with(' ') && !in_ws;
            }
        }
        doc
    }

    /// One chunk: a special case, or the cached or fresh affix split.
    fn tokenize_chunk(&self, chunk: &str, with_special: bool, doc: &mut Vec<Tok>) {
        let push = |doc: &mut Vec<Tok>, toks: &[String]| doc.extend(toks.iter().map(|t| Tok { text: t.clone(), space: false }));
        if with_special {
            if let Some(orths) = self.specials.get(chunk) {
                push(doc, orths);
                return;
            }
            let hit = CACHE.with(|c| c.borrow().get(chunk).map(|toks| push(doc, toks)).is_some());
            if hit {
                return;
            }
        }
        let toks = self.split_chunk(chunk, with_special);
        push(doc, &toks);
        if with_special {
            CACHE.with(|c| {
                let mut c = c.borrow_mut();
                if c.len() >= CACHE_LIMIT {
                    c.clear();
                }
                c.insert(chunk.to_string(), toks);
            });
        }
    }

    fn is_special(&self, s: &str, with_special: bool) -> bool {
        with_special && self.specials.contains_key(s)
    }

    /// Length in bytes of the prefix of `s` (0 if none): spaCy's `find_prefix`.
    fn find_prefix(&self, s: &str) -> usize {
        self.prefix.search(s).map_or(0, |(a, b)| b - a)
    }

    /// Length in bytes of the suffix of `s` (0 if none): spaCy's `find_suffix`.
    fn find_suffix(&self, s: &str) -> usize {
        self.suffix.search(s).map_or(0, |(a, b)| b - a)
    }

    /// spaCy's `_split_affixes` then `_attach_tokens`, for one chunk.
    fn split_chunk(&self, chunk: &str, with_special: bool) -> Vec<String> {
        let mut prefixes: Vec<&str> = Vec::new();
        let mut suffixes: Vec<&str> = Vec::new();
        let mut string = chunk;
        let mut last_size = 0;
        while !string.is_empty() && string.len() != last_size {
            if self.is_special(string, with_special) {
                break;
            }
            last_size = string.len();
            let pre_len = self.find_prefix(string);
            if pre_len != 0 {
                let minus_pre = &string[pre_len..];
                if !minus_pre.is_empty() && self.is_special(minus_pre, with_special) {
                    prefixes.push(&string[..pre_len]);
                    string = minus_pre;
                    break;
                }
            }
            let suf_len = self.find_suffix(&string[pre_len..]);
            let cut = string.len() - suf_len;
            if suf_len != 0 {
                let minus_suf = &string[..cut];
                if !minus_suf.is_empty() && self.is_special(minus_suf, with_special) {
                    suffixes.push(&string[cut..]);
                    string = minus_suf;
                    break;
                }
            }
            if pre_len != 0 && suf_len != 0 && pre_len + suf_len <= string.len() {
                prefixes.push(&string[..pre_len]);
                suffixes.push(&string[cut..]);
                string = &string[pre_len..cut];
            } else if pre_len != 0 {
                prefixes.push(&string[..pre_len]);
                string = &string[pre_len..];
            } else if suf_len != 0 {
                suffixes.push(&string[cut..]);
                string = &string[..cut];
            }
        }

        let mut out: Vec<String> = prefixes.iter().map(|s| s.to_string()).collect();
        if !string.is_empty() {
            if let Some(orths) = self.specials.get(string).filter(|_| with_special) {
                out.extend(orths.iter().cloned());
            } else if string.contains('.') && self.url.search(string).is_some() {
                // (Every URL or address the pattern accepts has a dot.)
                out.push(string.to_string());
            } else {
                let matches = self.infix.find_all(string);
                let mut start = 0;
                for (a, b) in matches {
                    // spaCy skips a match at the very start (`start_before_infixes`).
                    if a == 0 {
                        continue;
                    }
                    if a != start {
                        out.push(string[start..a].to_string());
                    }
                    if a != b {
                        out.push(string[a..b].to_string());
                    }
                    start = b;
                }
                if start < string.len() {
                    out.push(string[start..].to_string());
                }
            }
        }
        out.extend(suffixes.iter().rev().map(|s| s.to_string()));
        out
    }

    /// spaCy's `_apply_special_cases`: runs of tokens that spell a special case as the affix
    /// rules split it are found (overlaps allowed), the longest kept first (then the earliest),
    /// and replaced by the special case's tokens where their text, spaces included, is the case.
    fn apply_special_cases(&self, doc: Vec<Tok>) -> Vec<String> {
        let mut found: Vec<(usize, usize)> = Vec::new();
        for (i, tok) in doc.iter().enumerate() {
            if let Some(patterns) = self.matcher.get(&tok.text) {
                for p in patterns {
                    let end = i + p.len();
                    if end <= doc.len() && doc[i..end].iter().zip(p).all(|(t, w)| &t.text == w) {
                        found.push((i, end));
                    }
                }
            }
        }
        if found.is_empty() {
            return doc.into_iter().map(|t| t.text).collect();
        }
        // `_filter_special_spans`: longest first, then leftmost; a span is kept when neither its
        // first nor its last token was seen, and every span's tokens are then seen.
        found.sort_by(|a, b| (b.1 - b.0).cmp(&(a.1 - a.0)).then(a.0.cmp(&b.0)));
        let mut seen: HashSet<usize> = HashSet::new();
        let mut kept: Vec<(usize, usize)> = Vec::new();
        for &(s, e) in &found {
            if !seen.contains(&s) && !seen.contains(&(e - 1)) {
                kept.push((s, e));
            }
            seen.extend(s..e);
        }
        kept.sort_unstable();
        let mut out = Vec::with_capacity(doc.len());
        let mut i = 0;
        let mut k = kept.iter().peekable();
        while i < doc.len() {
            match k.peek() {
                Some(&&(s, e)) if s == i => {
                    k.next();
                    let mut text = String::new();
                    for (j, t) in doc[s..e].iter().enumerate() {
                        text.push_str(&t.text);
                        if t.space && j + 1 < e - s {
                            text.push(' ');
                        }
                    }
                    match self.specials.get(&text) {
                        Some(orths) => out.extend(orths.iter().cloned()),
                        None => out.extend(doc[s..e].iter().map(|t| t.text.clone())),
                    }
                    i = e;
                }
                _ => {
                    out.push(doc[i].text.clone());
                    i += 1;
                }
            }
        }
        out
    }
}

/// Characters that have a meaning in a Rust regular expression (escaping them is always valid).
fn is_meta(c: char) -> bool {
    matches!(c, '\\' | '.' | '+' | '*' | '?' | '(' | ')' | '|' | '[' | ']' | '{' | '}' | '^' | '$' | '#' | '&' | '-' | '~')
}

/// Python `re` syntax (as spaCy's patterns use it) to Rust `regex` / `fancy_regex` syntax:
/// `\uXXXX`/`\UXXXXXXXX` as `\x{…}`; `\w \W \s \S` with Python's meaning; escaped punctuation
/// that Rust does not accept escaped (`\'`) as a plain character; inside a class, `[`, `&`, `~`
/// and a doubled `-` escaped (Rust reads them as nested classes and set operations).
fn py_to_rust(p: &str) -> String {
    const PY_S: &str = r"\s\x{1c}-\x{1f}";
    const PY_W: &str = r"\p{L}\p{N}_";
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::with_capacity(p.len() + 64);
    let mut in_class = false;
    let mut class_open = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let just_opened = std::mem::take(&mut class_open);
        match c {
            '\\' if i + 1 < chars.len() => {
                let e = chars[i + 1];
                i += 2;
                let hex_len = match e {
                    'u' => 4,
                    'U' => 8,
                    'x' => 2,
                    _ => 0,
                };
                if hex_len > 0 {
                    let hex: String = chars[i..(i + hex_len).min(chars.len())].iter().collect();
                    out.push_str(&format!("\\x{{{hex}}}"));
                    i += hex_len;
                    continue;
                }
                match (e, in_class) {
                    ('w', false) => out.push_str(&format!("[{PY_W}]")),
                    ('w', true) => out.push_str(PY_W),
                    ('s', false) => out.push_str(&format!("[{PY_S}]")),
                    ('s', true) => out.push_str(PY_S),
                    ('W', _) => out.push_str(&format!("[^{PY_W}]")),
                    ('S', _) => out.push_str(&format!("[^{PY_S}]")),
                    (e, _) if e.is_ascii_alphanumeric() => {
                        out.push('\\');
                        out.push(e);
                    }
                    (e, _) if is_meta(e) => {
                        out.push('\\');
                        out.push(e);
                    }
                    (e, _) => out.push(e),
                }
                continue;
            }
            '[' if !in_class => {
                in_class = true;
                class_open = true;
                out.push('[');
                if chars.get(i + 1) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
            }
            '[' | '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            ']' if in_class && just_opened => out.push_str("\\]"),
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            '-' if in_class && (chars.get(i + 1) == Some(&'-') || (i > 0 && chars[i - 1] == '-')) => out.push_str("\\-"),
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// The pattern with its negative look-arounds removed and its positive ones made plain
/// groups: it finds a match in every string where the pattern finds one (and in a few more),
/// and the `regex` crate runs it.
fn strip_lookarounds(p: &str) -> String {
    let chars: Vec<char> = p.chars().collect();
    let mut out = String::with_capacity(p.len());
    let mut i = 0;
    let mut in_class = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            out.push(c);
            if let Some(&n) = chars.get(i + 1) {
                out.push(n);
            }
            i += 2;
            continue;
        }
        if in_class {
            if c == ']' {
                in_class = false;
            }
            out.push(c);
            i += 1;
            continue;
        }
        if c == '[' {
            in_class = true;
            out.push(c);
            // A `]` (or `^]`) right after the opening is a literal.
            if chars.get(i + 1) == Some(&'^') {
                out.push('^');
                i += 1;
            }
            i += 1;
            continue;
        }
        let rest: String = chars[i..(i + 4).min(chars.len())].iter().collect();
        // A positive look-around becomes a plain group: it then consumes what it looked at,
        // which changes where a match is, not whether there is one.
        if rest.starts_with("(?=") || rest.starts_with("(?<=") {
            out.push_str("(?:");
            i += if rest.starts_with("(?=") { 3 } else { 4 };
            continue;
        }
        if rest.starts_with("(?!") || rest.starts_with("(?<!") {
            // Skip to the matching parenthesis.
            let mut depth = 0;
            let mut j = i;
            let mut cls = false;
            while j < chars.len() {
                match chars[j] {
                    '\\' => j += 1,
                    '[' if !cls => cls = true,
                    ']' if cls => cls = false,
                    '(' if !cls => depth += 1,
                    ')' if !cls => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            i = j + 1;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Vec<String> {
        WordTokenizer::english().split(s)
    }

    #[test]
    fn python_syntax_is_translated() {
        assert_eq!(py_to_rust(r"^\'|\u00a1[\w\+\-]"), r"^'|\x{00a1}[\p{L}\p{N}_\+\-]");
        assert_eq!(py_to_rust(r"[a[&~--]"), r"[a\[\&\~\-\-]");
        assert_eq!(py_to_rust(r"[]a]\S"), r"[\]a][^\s\x{1c}-\x{1f}]");
        assert_eq!(strip_lookarounds(r"(?<=[0-9)])\+(?=[(0-9])$|x(?!y)|(?<![a])z"), r"(?:[0-9)])\+(?:[(0-9])$|x|z");
    }

    #[test]
    fn whitespace_is_cut_as_spacy_does() {
        assert_eq!(split(""), Vec::<String>::new());
        assert_eq!(split("a b"), ["a", "b"]);
        assert_eq!(split(" a"), [" ", "a"]);
        assert_eq!(split("a "), ["a"]);
        assert_eq!(split("a  b"), ["a", " ", "b"]);
        assert_eq!(split("a\n\nb"), ["a", "\n\n", "b"]);
        assert_eq!(split("a  \n b"), ["a", " \n ", "b"]);
        assert_eq!(split("a\u{1c}b"), ["a", "\u{1c}", "b"]);
    }

    #[test]
    fn special_cases_and_affixes() {
        assert_eq!(split("don't."), ["do", "n't", "."]);
        assert_eq!(split("Don't dont cannot gonna"), ["Do", "n't", "do", "nt", "can", "not", "gon", "na"]);
        assert_eq!(split("(e.g.)"), ["(", "e.g.", ")"]);
        assert_eq!(split("it's I'm we'll y'all 'tis"), ["it", "'s", "I", "'m", "we", "'ll", "y'", "all", "'", "tis"]);
        assert_eq!(split("\"Hi\" 'quoted'"), ["\"", "Hi", "\"", "'", "quoted", "'"]);
        assert_eq!(split("$5.00 10km 3.5 1,000"), ["$", "5.00", "10", "km", "3.5", "1,000"]);
        assert_eq!(split("hello... wait…"), ["hello", "...", "wait", "…"]);
        assert_eq!(split("xxbos xxmaj (xxup"), ["xxbos", "xxmaj", "(", "xxup"]);
    }

    #[test]
    fn infixes_urls_and_the_special_matcher() {
        assert_eq!(split("well-known a--b 10-20 Hello,world 1/2"), ["well", "-", "known", "a", "--", "b", "10", "-", "20", "Hello", ",", "world", "1/2"]);
        assert_eq!(split("can't-do"), ["can't", "-", "do"]);
        assert_eq!(split("www.google.com foo@bar.com, http://x.org/a?b=1"), ["www.google.com", "foo@bar.com", ",", "http://x.org/a?b=1"]);
        assert_eq!(split("x:) 5p.m. a.m ."), ["x", ":)", "5", "p.m.", "a.m", "."]);
        assert_eq!(split("😀😀"), ["😀", "😀"]);
    }

    #[test]
    fn the_cache_gives_the_same_split() {
        let a = split("Well-known, (really) it's 10km...");
        assert_eq!(a, split("Well-known, (really) it's 10km..."));
    }
}
