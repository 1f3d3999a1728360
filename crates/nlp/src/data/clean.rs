//! Cleaning texts before tokenizing: the HTML line breaks that scraped reviews (Amazon, IMDb)
//! are full of.

/// `text` with every HTML line break (`<br />`, `<br/>`, `<br>`, any case, any spaces inside
/// the tag) replaced by a space. Nothing else changes: the tokenizer normalises the rest
/// (whitespace, case, accents) as the pretrained model expects. Training, validation and
/// prediction texts all go through this.
///
/// ```
/// use kindling_nlp::data::clean_text;
/// assert_eq!(clean_text("Great.<br /><br />Would buy<BR>again<br/>!"), "Great.  Would buy again !");
/// assert_eq!(clean_text("a <b>bold</b> <brand>"), "a <b>bold</b> <brand>");
/// ```
pub fn clean_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('<') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        match line_break_len(tail) {
            Some(n) => {
                out.push(' ');
                rest = &tail[n..];
            }
            None => {
                out.push('<');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The length in bytes of the `<br …>` tag `s` starts with, if it starts with one.
fn line_break_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if b.len() < 4 || !b[1].eq_ignore_ascii_case(&b'b') || !b[2].eq_ignore_ascii_case(&b'r') {
        return None;
    }
    let mut i = 3;
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    if i < b.len() && b[i] == b'/' {
        i += 1;
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
    }
    (i < b.len() && b[i] == b'>').then_some(i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_break_form_becomes_a_space() {
        for br in ["<br />", "<br/>", "<br>", "<BR />", "<Br  / >", "<br\n/>"] {
            assert_eq!(clean_text(&format!("a{br}b")), "a b", "{br:?}");
        }
        assert_eq!(clean_text("x<br /><br />y"), "x  y");
        assert_eq!(clean_text("<br />"), " ");
    }

    #[test]
    fn other_text_and_tags_are_left_alone() {
        for s in ["", "no tags", "1 < 2 and 3 > 2", "<b>bold</b>", "<brand>", "<br", "<br /", "tail <", "é<br>ü"] {
            let expected = if s == "é<br>ü" { "é ü".to_string() } else { s.to_string() };
            assert_eq!(clean_text(s), expected, "{s:?}");
        }
    }
}
