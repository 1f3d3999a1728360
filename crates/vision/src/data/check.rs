//! Checking every image before training, so that a bad file is reported by name up front and
//! never stops an epoch halfway.

use kindling_core::{Error, Result};

use super::decode::{DecodeOptions, decode};
use super::sources::{LabelledItems, Source};

/// Decodes every file item (on all cores) and returns an error listing every one that cannot be
/// used, with the reason.
pub fn check_images(items: &LabelledItems, opts: DecodeOptions) -> Result<()> {
    let files: Vec<&std::path::PathBuf> = items.items.iter().filter_map(|i| match &i.source { Source::File(p) => Some(p), Source::Idx(..) => None }).collect();
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let chunk = files.len().div_ceil(threads).max(1);
    let mut bad: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = files
            .chunks(chunk)
            .map(|part| s.spawn(move || part.iter().filter_map(|p| decode(p, opts).err().map(|e| e.to_string())).collect::<Vec<_>>()))
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
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
