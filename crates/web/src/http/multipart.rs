//! The one file of a `multipart/form-data` body (an HTML form's `<input type="file">`, or
//! `curl -F file=@photo.png`), parsed by hand: axum's `multipart` feature would bring in
//! `multer` and change the features of crates the burn stack shares, rebuilding it. The whole
//! body is already in memory (bounded by the caller), so this is a search for the boundary.

use crate::http::ApiError;

/// The `boundary` parameter of a `multipart/form-data` content type, or a 400 saying what is
/// wrong with it.
pub fn boundary(content_type: &str) -> Result<String, ApiError> {
    let (kind, params) = content_type.split_once(';').unwrap_or((content_type, ""));
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return Err(ApiError::unsupported(format!("{kind} is not multipart/form-data")));
    }
    let b = params
        .split(';')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
        .filter(|b| !b.is_empty() && b.len() <= 70)
        .ok_or_else(|| ApiError::bad_request("the multipart/form-data content type has no boundary (or one longer than 70 characters)"))?;
    Ok(b)
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?.windows(needle.len()).position(|w| w == needle).map(|p| p + from)
}

/// The content of the first part of `body` that carries a file (a `filename` in its
/// `Content-Disposition`), or else of the only part; a body with no such part is a 400 that
/// says so.
pub fn file_part<'a>(body: &'a [u8], boundary: &str) -> Result<&'a [u8], ApiError> {
    let delim = format!("--{boundary}");
    let bad = |why: &str| ApiError::bad_request(format!("the multipart body {why}"));
    let mut at = find(body, delim.as_bytes(), 0).ok_or_else(|| bad("does not contain its boundary"))?;
    let mut parts = Vec::new();
    loop {
        let after = at + delim.len();
        if body.get(after..after + 2) == Some(b"--") {
            break;
        }
        let head_start = find(body, b"\r\n", after).ok_or_else(|| bad("ends inside a boundary line"))? + 2;
        let head_end = find(body, b"\r\n\r\n", head_start).ok_or_else(|| bad("has a part without the blank line after its headers"))?;
        let next = find(body, format!("\r\n{delim}").as_bytes(), head_end + 4).ok_or_else(|| bad("ends before its closing boundary (truncated?)"))?;
        let head = String::from_utf8_lossy(&body[head_start..head_end]).to_ascii_lowercase();
        parts.push((head.contains("filename="), &body[head_end + 4..next]));
        at = next + 2;
    }
    if let Some((_, content)) = parts.iter().find(|(file, _)| *file) {
        return Ok(content);
    }
    match parts.as_slice() {
        [(_, only)] => Ok(only),
        [] => Err(bad("has no parts")),
        _ => Err(bad("has several parts and none is a file (a part with a filename)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = Vec::new();
        for (disposition, content) in parts {
            b.extend_from_slice(format!("--XyZ\r\nContent-Disposition: form-data; {disposition}\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
            b.extend_from_slice(content);
            b.extend_from_slice(b"\r\n");
        }
        b.extend_from_slice(b"--XyZ--\r\n");
        b
    }

    #[test]
    fn the_boundary_comes_from_the_content_type() {
        assert_eq!(boundary("multipart/form-data; boundary=XyZ").unwrap(), "XyZ");
        assert_eq!(boundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b\"").unwrap(), "a b");
        assert!(boundary("multipart/form-data").unwrap_err().message.contains("no boundary"));
        assert!(boundary("multipart/mixed; boundary=x").is_err());
    }

    #[test]
    fn the_file_part_is_found_whatever_its_bytes() {
        let png: &[u8] = b"\x89PNG\r\n\x1a\n--Xy\r\n\r\nbytes";
        let body = form(&[("name=\"note\"", b"hello"), ("name=\"file\"; filename=\"a.png\"", png)]);
        assert_eq!(file_part(&body, "XyZ").unwrap(), png);
        // One part without a filename is taken as the file.
        let body = form(&[("name=\"image\"", b"abc")]);
        assert_eq!(file_part(&body, "XyZ").unwrap(), b"abc");
        // An empty file is found (and refused later as an empty image).
        let body = form(&[("name=\"file\"; filename=\"e.png\"", b"")]);
        assert_eq!(file_part(&body, "XyZ").unwrap(), b"");
    }

    #[test]
    fn broken_bodies_are_refused_with_the_reason() {
        let msg = |body: &[u8]| file_part(body, "XyZ").unwrap_err().message;
        assert!(msg(b"no boundary here").contains("does not contain its boundary"));
        let body = form(&[("name=\"file\"; filename=\"a.png\"", b"abcdef")]);
        assert!(msg(&body[..body.len() - 12]).contains("truncated"));
        assert!(msg(b"--XyZ\r\nContent-Disposition: form-data").contains("blank line"));
        assert!(msg(b"--XyZ--\r\n").contains("no parts"));
        let two = form(&[("name=\"a\"", b"1"), ("name=\"b\"", b"2")]);
        assert!(msg(&two).contains("none is a file"));
    }
}
