//! Checking every image before training, so that a bad file is reported by name up front and
//! never stops an epoch halfway.

use std::path::{Path, PathBuf};

use kindling_core::{Error, Result};

use super::decode::{DecodeOptions, decode};
use super::sources::{LabelledItems, Source};

/// Decodes every file item (on all cores) and returns an error listing every one that cannot be
/// used, with the reason. A decoder that panics on a file (a bug in a decoding library) makes
/// that file a bad one, named; it never passes for a checked file.
pub fn check_images(items: &LabelledItems, opts: DecodeOptions) -> Result<()> {
    let files: Vec<&PathBuf> = items.items.iter().filter_map(|i| match &i.source { Source::File(p) => Some(p), Source::Idx(..) => None }).collect();
    check_files(&files, |p| decode(p, opts).map(|_| ()))
}

/// [`check_images`] with the decoder as a parameter: `decode` runs on every file, on all cores.
fn check_files<F>(files: &[&PathBuf], decode: F) -> Result<()>
where
    F: Fn(&Path) -> Result<()> + Sync,
{
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let chunk = files.len().div_ceil(threads).max(1);
    let decode = &decode;
    let one = move |p: &Path| -> Option<String> {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| decode(p))) {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some(format!("{}: the image decoder crashed on this file", p.display())),
        }
    };
    let results: Vec<std::thread::Result<Vec<String>>> = std::thread::scope(|s| {
        let handles: Vec<_> = files.chunks(chunk).map(|part| s.spawn(move || part.iter().filter_map(|p| one(p)).collect::<Vec<_>>())).collect();
        handles.into_iter().map(|h| h.join()).collect()
    });
    let mut bad = Vec::new();
    for (k, r) in results.into_iter().enumerate() {
        match r {
            Ok(v) => bad.extend(v),
            Err(_) => {
                let part = &files[k * chunk..((k + 1) * chunk).min(files.len())];
                let (first, last) = (part.first().map(|p| p.display().to_string()), part.last().map(|p| p.display().to_string()));
                return Err(Error::Data(format!(
                    "the image check stopped on a crash while reading {} to {}: the images were not checked",
                    first.unwrap_or_default(),
                    last.unwrap_or_default()
                )));
            }
        }
    }
    if bad.is_empty() {
        return Ok(());
    }
    bad.sort();
    let shown: Vec<&str> = bad.iter().take(30).map(String::as_str).collect();
    Err(Error::Data(format!(
        "{} of {} images cannot be used; fix or remove them before training:\n  {}{}",
        bad.len(),
        files.len(),
        shown.join("\n  "),
        if bad.len() > 30 { format!("\n  … and {} more", bad.len() - 30) } else { String::new() }
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A decoder that panics once turned the whole chunk into "no bad files"
    /// (`join().unwrap_or_default()`), and training started on unchecked data.
    #[test]
    fn a_decoder_panic_is_a_bad_file_not_a_pass() {
        let paths: Vec<PathBuf> = (0..5).map(|i| PathBuf::from(format!("img{i}.png"))).collect();
        let files: Vec<&PathBuf> = paths.iter().collect();
        let res = check_files(&files, |p| if p.ends_with("img3.png") { panic!("decoder bug") } else { Ok(()) });
        let err = res.unwrap_err().to_string();
        assert!(err.starts_with("1 of 5 images") && err.contains("img3.png") && err.contains("crashed"), "{err}");
        assert!(check_files(&files, |_| Ok(())).is_ok());
    }
}
