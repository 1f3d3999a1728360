//! fastai's default text rules (`fastai.text.core`, 2.8), written out in Rust with the same
//! results as fastai's regular expressions, which run on Python's `re` with Unicode `str`
//! semantics.
//!
//! Before the word split ([`PRE_RULES`], fastai's `defaults.text_proc_rules` up to
//! `rm_useless_spaces`): [`fix_html`], [`replace_rep`], [`replace_wrep`], [`spec_add_spaces`],
//! [`rm_useless_spaces`]; then [`replace_all_caps`], [`replace_maj`] and [`lowercase`] (which
//! puts [`BOS`] first). fastai's list runs all eight before the split; so does
//! [`apply_rules`]. After the split, each token goes through [`replace_space`]
//! (`defaults.text_postproc_rules`).
//!
//! Python's classes are kept where they differ from Rust's: `\s` is Python's `str.isspace`
//! ([`is_py_space`]: Rust's White_Space plus U+001C..U+001F), `\w` is letters, digits and `_`
//! (`[\p{L}\p{N}_]`), `[A-Z]`/`[a-z]` are ASCII only, `str.lower()` is
//! [`str::to_lowercase`] (both apply the final-sigma rule), `str.strip()` strips
//! [`is_py_space`] characters.

use std::collections::HashMap;
use std::sync::LazyLock;

/// Unknown token: every token outside the vocabulary numericalizes to it (index 0).
pub const UNK: &str = "xxunk";
/// Padding token (index 1).
pub const PAD: &str = "xxpad";
/// Beginning of a text: [`lowercase`] puts it first (index 2).
pub const BOS: &str = "xxbos";
/// End of a text (fastai's `add_eos`, off by default) (index 3).
pub const EOS: &str = "xxeos";
/// Field marker, for texts made of several columns (index 4).
pub const FLD: &str = "xxfld";
/// Character repetition: `!!!!` becomes `xxrep 4 !` ([`replace_rep`]) (index 5).
pub const TK_REP: &str = "xxrep";
/// Word repetition: `very very very` becomes `xxwrep 3 very` ([`replace_wrep`]) (index 6).
pub const TK_WREP: &str = "xxwrep";
/// The next word was in capitals ([`replace_all_caps`]) (index 7).
pub const TK_UP: &str = "xxup";
/// The next word was capitalized ([`replace_maj`]) (index 8).
pub const TK_MAJ: &str = "xxmaj";

/// fastai's special tokens in `defaults.text_spec_tok` order, which is their order at the
/// front of every vocabulary.
pub const SPECIAL_TOKENS: [&str; 9] = [UNK, PAD, BOS, EOS, FLD, TK_REP, TK_WREP, TK_UP, TK_MAJ];

/// A text rule: a function from text to text.
pub type Rule = fn(&str) -> String;

/// fastai's `defaults.text_proc_rules`, in order, with `lowercase` at its defaults (`xxbos`
/// first, no `xxeos`).
pub const PRE_RULES: [Rule; 8] = [
    fix_html,
    replace_rep,
    replace_wrep,
    spec_add_spaces,
    rm_useless_spaces,
    replace_all_caps,
    replace_maj,
    lowercase_default,
];

/// Applies [`PRE_RULES`] in order.
///
/// ```
/// use kindling_nlp::ulmfit::tokenize::rules::apply_rules;
/// assert_eq!(apply_rules("I LOVED it!!!!"), "xxbos i xxup loved it xxrep 4 !");
/// ```
pub fn apply_rules(text: &str) -> String {
    PRE_RULES.iter().fold(text.to_string(), |t, rule| rule(&t))
}

/// Python's `str.isspace()`, which is also what `\s` matches in Python's `re` on `str`: Rust's
/// [`char::is_whitespace`] plus the four information separators U+001C..U+001F.
pub fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `\w` on `str`: letters, digits and other numerals, and `_`.
fn is_py_word(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Python's `str.strip()`.
fn py_strip(t: &str) -> &str {
    t.trim_matches(is_py_space)
}

/// fastai's `fix_html`: the "messy things seen in documents" replaced in fastai's order
/// (`#39;` → `'`, `amp;` → `&`, `#146;` → `'`, `nbsp;` → space, `#36;` → `$`, a literal `\n`
/// → newline, `quot;` → `'`, `<br />` → newline, `\"` → `"`, `<unk>` → `xxunk`, ` @.@ ` →
/// `.`, ` @-@ ` → `-`, `...` → ` …`), then Python's `html.unescape`.
///
/// As in fastai, `&amp;` becomes `&&` (the `amp;` is replaced before the unescape sees it).
///
/// ```
/// use kindling_nlp::ulmfit::tokenize::rules::fix_html;
/// assert_eq!(fix_html("a<br />b &lt;3 &amp; wait..."), "a\nb <3 && wait …");
/// ```
pub fn fix_html(x: &str) -> String {
    let x = x
        .replace("#39;", "'")
        .replace("amp;", "&")
        .replace("#146;", "'")
        .replace("nbsp;", " ")
        .replace("#36;", "$")
        .replace("\\n", "\n")
        .replace("quot;", "'")
        .replace("<br />", "\n")
        .replace("\\\"", "\"")
        .replace("<unk>", UNK)
        .replace(" @.@ ", ".")
        .replace(" @-@ ", "-")
        .replace("...", " …");
    html_unescape(&x)
}

/// Python's HTML5 named character references (`html.entities.html5`), names with their `;`
/// where they have one (and the 106 legacy names that also work without).
static HTML5: LazyLock<HashMap<String, String>> = LazyLock::new(|| {
    serde_json::from_str(include_str!("html5_entities.json")).expect("html5_entities.json is a JSON object of strings")
});

/// Python's `html.unescape`: named references looked up in the HTML5 table (the longest
/// known prefix of an unknown name, as the standard says), numeric ones decimal or hex, with
/// the standard's replacements for invalid numbers (Windows-1252 for 0x80..0x9F, U+FFFD for
/// surrogates and out-of-range numbers, nothing for non-characters and most controls).
pub fn html_unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        match charref(after) {
            Some((len, replacement)) => {
                out.push_str(&replacement);
                rest = &after[len..];
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The reference right after an `&` (Python's `_charref` pattern): its length in bytes and
/// what replaces it, or `None` where the pattern does not match.
fn charref(s: &str) -> Option<(usize, String)> {
    let b = s.as_bytes();
    if b.first() == Some(&b'#') {
        let (hex, start) = if matches!(b.get(1), Some(b'x' | b'X')) { (true, 2) } else { (false, 1) };
        let digits = b[start..].iter().take_while(|c| if hex { c.is_ascii_hexdigit() } else { c.is_ascii_digit() }).count();
        if digits == 0 {
            return None;
        }
        let end = start + digits;
        let len = if b.get(end) == Some(&b';') { end + 1 } else { end };
        // Too long for u32: out of Unicode's range, as Python's big int would be.
        let num = u32::from_str_radix(&s[start..end], if hex { 16 } else { 10 }).unwrap_or(u32::MAX);
        return Some((len, numeric_charref(num)));
    }
    // `[^\t\n\f <&#;]{1,32};?`
    let mut end = 0;
    let mut n = 0;
    for (i, c) in s.char_indices() {
        if n == 32 || matches!(c, '\t' | '\n' | '\u{c}' | ' ' | '<' | '&' | '#' | ';') {
            break;
        }
        end = i + c.len_utf8();
        n += 1;
    }
    if n == 0 {
        return None;
    }
    let len = if s[end..].starts_with(';') { end + 1 } else { end };
    let name = &s[..len];
    if let Some(v) = HTML5.get(name) {
        return Some((len, v.clone()));
    }
    // The longest prefix of 2 characters or more (but shorter than the name) that is known.
    let bounds: Vec<usize> = name.char_indices().map(|(i, _)| i).skip(2).collect();
    for &x in bounds.iter().rev() {
        if let Some(v) = HTML5.get(&name[..x]) {
            return Some((len, format!("{v}{}", &name[x..])));
        }
    }
    Some((len, format!("&{name}")))
}

/// Python's `_replace_charref` for a numeric reference.
fn numeric_charref(num: u32) -> String {
    const CP1252: [char; 32] = [
        '\u{20ac}', '\u{81}', '\u{201a}', '\u{192}', '\u{201e}', '\u{2026}', '\u{2020}', '\u{2021}', '\u{2c6}', '\u{2030}',
        '\u{160}', '\u{2039}', '\u{152}', '\u{8d}', '\u{17d}', '\u{8f}', '\u{90}', '\u{2018}', '\u{2019}', '\u{201c}',
        '\u{201d}', '\u{2022}', '\u{2013}', '\u{2014}', '\u{2dc}', '\u{2122}', '\u{161}', '\u{203a}', '\u{153}', '\u{9d}',
        '\u{17e}', '\u{178}',
    ];
    match num {
        0x00 => "\u{fffd}".into(),
        0x0d => "\r".into(),
        0x80..=0x9f => CP1252[(num - 0x80) as usize].to_string(),
        0xd800..=0xdfff => "\u{fffd}".into(),
        n if n > 0x10ffff => "\u{fffd}".into(),
        0x1..=0x8 | 0xb | 0xe..=0x1f | 0x7f | 0xfdd0..=0xfdef => String::new(),
        n if n & 0xfffe == 0xfffe => String::new(),
        n => char::from_u32(n).map(String::from).unwrap_or_default(),
    }
}

/// fastai's `replace_rep`: a character (not a space) repeated 3 times or more, `cccc`, becomes
/// ` xxrep 4 c ` (Python's `(\S)(\1{2,})`).
///
/// ```
/// use kindling_nlp::ulmfit::tokenize::rules::replace_rep;
/// assert_eq!(replace_rep("Wow!!!!"), "Wow xxrep 4 ! ");
/// ```
pub fn replace_rep(t: &str) -> String {
    let chars: Vec<char> = t.chars().collect();
    let mut out = String::with_capacity(t.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let run = chars[i..].iter().take_while(|&&d| d == c).count();
        if run >= 3 && !is_py_space(c) {
            out.push_str(&format!(" {TK_REP} {run} {c} "));
        } else {
            out.extend(std::iter::repeat_n(c, run));
        }
        i += run;
    }
    out
}

/// fastai's `_re_wrep`, `(?:\s|^)(\w+)\s+((?:\1\s+)+)\1(\s|\W|$)`, with Python's classes.
static RE_WREP: LazyLock<fancy_regex::Regex> = LazyLock::new(|| {
    let s = r"[\s\x{1c}-\x{1f}]";
    let w = r"[\p{L}\p{N}_]";
    let nw = r"[^\p{L}\p{N}_]";
    fancy_regex::Regex::new(&format!(r"(?:{s}|^)({w}+){s}+((?:\1{s}+)+)\1({s}|{nw}|$)")).expect("the xxwrep pattern compiles")
});

/// fastai's `replace_wrep`: a word repeated 3 times or more, `word word word word`, becomes
/// ` xxwrep 4 word ` followed by the character that ended the run (Python's regex, with its
/// quirks: the character after the run is consumed, so a second run right after the first is
/// left alone, as in fastai).
///
/// ```
/// use kindling_nlp::ulmfit::tokenize::rules::replace_wrep;
/// assert_eq!(replace_wrep("very very very good"), " xxwrep 3 very  good");
/// ```
pub fn replace_wrep(t: &str) -> String {
    if !has_adjacent_repeat(t) {
        return t.to_string();
    }
    let mut out = String::with_capacity(t.len() + 16);
    let mut last = 0;
    for caps in RE_WREP.captures_iter(t) {
        // A pathological backtracking limit is the only error; leave the rest of the text as it is.
        let Ok(caps) = caps else { break };
        let m = caps.get(0).expect("group 0");
        let c = caps.get(1).map_or("", |g| g.as_str());
        let cc = caps.get(2).map_or("", |g| g.as_str());
        let e = caps.get(3).map_or("", |g| g.as_str());
        let n = cc.split(is_py_space).filter(|w| !w.is_empty()).count() + 2;
        out.push_str(&t[last..m.start()]);
        out.push_str(&format!(" {TK_WREP} {n} {c} {e}"));
        last = m.end();
    }
    out.push_str(&t[last..]);
    out
}

/// Whether two consecutive whitespace-separated chunks are equal and made of word characters:
/// without that, `_re_wrep` cannot match (its `\1\s+` needs a whole chunk equal to the first).
fn has_adjacent_repeat(t: &str) -> bool {
    let mut prev: Option<&str> = None;
    for chunk in t.split(is_py_space).filter(|c| !c.is_empty()) {
        if prev == Some(chunk) && chunk.chars().all(is_py_word) {
            return true;
        }
        prev = Some(chunk);
    }
    false
}

/// fastai's `spec_add_spaces`: spaces around `/`, `#` and `\`.
///
/// ```
/// use kindling_nlp::ulmfit::tokenize::rules::spec_add_spaces;
/// assert_eq!(spec_add_spaces("a/b#c"), "a / b # c");
/// ```
pub fn spec_add_spaces(t: &str) -> String {
    let mut out = String::with_capacity(t.len() + 8);
    for c in t.chars() {
        if matches!(c, '/' | '#' | '\\') {
            out.push(' ');
            out.push(c);
            out.push(' ');
        } else {
            out.push(c);
        }
    }
    out
}

/// fastai's `rm_useless_spaces`: runs of two or more spaces (U+0020 only, not tabs or
/// newlines) become one.
///
/// ```
/// use kindling_nlp::ulmfit::tokenize::rules::rm_useless_spaces;
/// assert_eq!(rm_useless_spaces("a   b \n  c"), "a b \n c");
/// ```
pub fn rm_useless_spaces(t: &str) -> String {
    let mut out = String::with_capacity(t.len());
    let mut prev_space = false;
    for c in t.chars() {
        if c == ' ' && prev_space {
            continue;
        }
        prev_space = c == ' ';
        out.push(c);
    }
    out
}

/// Rewrites each whitespace-separated chunk that `keep` accepts as fastai's case rules do:
/// `marker` before it when it is longer than one character, then the chunk lowercased.
/// (`(\s|^)(CHUNK)(?=(\s|$))`: a match is always a whole chunk.)
fn replace_case(t: &str, marker: &str, keep: fn(&str) -> bool) -> String {
    let mut out = String::with_capacity(t.len() + 16);
    let mut start = None;
    let flush = |out: &mut String, chunk: &str| {
        if keep(chunk) {
            if chunk.chars().nth(1).is_some() {
                out.push_str(marker);
                out.push(' ');
            }
            out.push_str(&chunk.to_lowercase());
        } else {
            out.push_str(chunk);
        }
    };
    for (i, c) in t.char_indices() {
        if is_py_space(c) {
            if let Some(s) = start.take() {
                flush(&mut out, &t[s..i]);
            }
            out.push(c);
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        flush(&mut out, &t[s..]);
    }
    out
}

/// fastai's `replace_all_caps`: a word in capitals (`[A-Z]+[^a-z\s]*`: ASCII capitals first,
/// then no ASCII lowercase letter) is lowercased, with `xxup ` before it when it is longer than
/// one character.
///
/// ```
/// use kindling_nlp::ulmfit::tokenize::rules::replace_all_caps;
/// assert_eq!(replace_all_caps("I LOVED it, OK?"), "i xxup loved it, xxup ok?");
/// ```
pub fn replace_all_caps(t: &str) -> String {
    replace_case(t, TK_UP, |w| w.starts_with(|c: char| c.is_ascii_uppercase()) && !w.contains(|c: char| c.is_ascii_lowercase()))
}

/// fastai's `replace_maj`: a capitalized word (`[A-Z][^A-Z\s]*`: one ASCII capital, then no
/// ASCII capital) is lowercased, with `xxmaj ` before it when it is longer than one character.
///
/// ```
/// use kindling_nlp::ulmfit::tokenize::rules::replace_maj;
/// assert_eq!(replace_maj("Hello McDonald I"), "xxmaj hello McDonald i");
/// ```
pub fn replace_maj(t: &str) -> String {
    replace_case(t, TK_MAJ, |w| {
        let mut cs = w.chars();
        cs.next().is_some_and(|c| c.is_ascii_uppercase()) && !cs.any(|c| c.is_ascii_uppercase())
    })
}

/// fastai's `lowercase(t, add_bos, add_eos)`: the text lowercased and stripped, with `xxbos `
/// before it and ` xxeos` after it when asked.
///
/// ```
/// use kindling_nlp::ulmfit::tokenize::rules::lowercase;
/// assert_eq!(lowercase(" Hi There \n", true, false), "xxbos hi there");
/// assert_eq!(lowercase("", true, true), "xxbos  xxeos");
/// ```
pub fn lowercase(t: &str, add_bos: bool, add_eos: bool) -> String {
    let lower = t.to_lowercase();
    let mut out = String::with_capacity(lower.len() + 12);
    if add_bos {
        out.push_str(BOS);
        out.push(' ');
    }
    out.push_str(py_strip(&lower));
    if add_eos {
        out.push(' ');
        out.push_str(EOS);
    }
    out
}

/// [`lowercase`] with fastai's defaults (`add_bos=True, add_eos=False`), as a [`Rule`].
pub fn lowercase_default(t: &str) -> String {
    lowercase(t, true, false)
}

/// fastai's `replace_space`, run on every token after the split: spaces inside a token (spaCy
/// keeps runs of whitespace as tokens) become `▁`, so that a token never holds a space.
///
/// ```
/// use kindling_nlp::ulmfit::tokenize::rules::replace_space;
/// assert_eq!(replace_space("\n "), "\n▁");
/// ```
pub fn replace_space(t: &str) -> String {
    t.replace(' ', "▁")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fix_html_replaces_in_fastais_order_then_unescapes() {
        assert_eq!(fix_html("a &#39;b&#39; &quot;c&quot;"), "a &'b&' &'c&'");
        assert_eq!(fix_html("x&nbsp;y"), "x& y");
        assert_eq!(fix_html("one<br /><br />two"), "one\n\ntwo");
        assert_eq!(fix_html(r#"a\nb \"q\""#), "a\nb \"q\"");
        assert_eq!(fix_html("<unk> 1 @.@ 5 and x @-@ y"), "xxunk 1.5 and x-y");
        assert_eq!(fix_html("so...."), "so ….");
        assert_eq!(fix_html("&eacute;t&eacute; &hellip; &mdash; &#8217; &#x41;&#X42 &copy 2"), "été … — ’ AB © 2");
    }

    #[test]
    fn html_unescape_follows_python() {
        assert_eq!(html_unescape("no amp"), "no amp");
        assert_eq!(html_unescape("&"), "&");
        assert_eq!(html_unescape("& &; &#; &#x; &#xZ"), "& &; &#; &#x; &#xZ");
        // Longest known prefix: `&notit;` is `¬` + `it;`, `&ampx` is `&x`.
        assert_eq!(html_unescape("&notit; &ampx"), "¬it; &x");
        assert_eq!(html_unescape("&unknownname;"), "&unknownname;");
        assert_eq!(html_unescape("&#0;&#13;&#128;&#150;&#55296;&#1114112;&#99999999999999;"), "\u{fffd}\r€–\u{fffd}\u{fffd}\u{fffd}");
        assert_eq!(html_unescape("a&#1;b&#xFFFF;c&#x10FFFE;d&#11;e"), "abcde");
        assert_eq!(html_unescape("&NewLine;&Tab;&lt&gt;"), "\n\t<>");
    }

    #[test]
    fn replace_rep_counts_runs_of_non_spaces() {
        assert_eq!(replace_rep("aa bbb cccc"), "aa  xxrep 3 b   xxrep 4 c ");
        assert_eq!(replace_rep("x     y"), "x     y");
        assert_eq!(replace_rep("😀😀😀"), " xxrep 3 😀 ");
        assert_eq!(replace_rep("..!!!"), ".. xxrep 3 ! ");
        assert_eq!(replace_rep(""), "");
    }

    #[test]
    fn replace_wrep_matches_pythons_regex() {
        assert_eq!(replace_wrep("this is very very very very good"), "this is xxwrep 4 very  good");
        assert_eq!(replace_wrep("the the the cat"), " xxwrep 3 the  cat");
        assert_eq!(replace_wrep("go go go gone"), " xxwrep 3 go  gone");
        assert_eq!(replace_wrep("a a a b b b"), " xxwrep 3 a  b b b");
        assert_eq!(replace_wrep("no no."), "no no.");
        assert_eq!(replace_wrep("mat mat mat."), " xxwrep 3 mat .");
        assert_eq!(replace_wrep("x x x"), " xxwrep 3 x ");
        assert_eq!(replace_wrep("word word"), "word word");
    }

    #[test]
    fn spaces_rules() {
        assert_eq!(spec_add_spaces(r"a\b"), r"a \ b");
        assert_eq!(rm_useless_spaces("  a  "), " a ");
        assert_eq!(replace_space("ab"), "ab");
    }

    #[test]
    fn case_rules_work_on_whole_chunks() {
        assert_eq!(replace_all_caps("USA's U.S.A. A I NASA."), "USA's xxup u.s.a. a i xxup nasa.");
        assert_eq!(replace_all_caps("ÉCOLE AÉ McD"), "ÉCOLE xxup aé McD");
        assert_eq!(replace_all_caps(" \tHELLO\nWORLD "), " \txxup hello\nxxup world ");
        assert_eq!(replace_maj("Hello iPhone Über Ab-c A"), "xxmaj hello iPhone Über xxmaj ab-c a");
        assert_eq!(replace_maj("McDonald"), "McDonald");
    }

    #[test]
    fn lowercase_strips_python_spaces() {
        assert_eq!(lowercase("\u{1c}ΣΑΣ\u{1f}", true, false), "xxbos σας");
        assert_eq!(lowercase("A", false, false), "a");
    }

    #[test]
    fn all_rules_in_order() {
        assert_eq!(apply_rules(""), "xxbos ");
        assert_eq!(apply_rules("Hello   World"), "xxbos xxmaj hello xxmaj world");
    }
}
