//! Checking every image and mask before training, so that a bad pair is reported by name up
//! front: an unreadable file, a mask whose size differs from its image's, or a class id that
//! the codes do not name.

use kindling_core::{Error, Result};
use kindling_vision::data::decode::{DecodeOptions, decode};

use super::codes::Codes;
use super::mask::read_mask;
use super::sources::SegItem;

/// What the check found on the items that passed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckReport {
    /// `[height, width]` of each item.
    pub sizes: Vec<[usize; 2]>,
    /// The largest class id in each mask (after `binary`).
    pub max_ids: Vec<u8>,
}

impl CheckReport {
    /// The largest class id over all masks.
    pub fn max_id(&self) -> u8 {
        self.max_ids.iter().copied().max().unwrap_or(0)
    }

    /// The one size every item has, or `None` when they differ.
    pub fn common_size(&self) -> Option<[usize; 2]> {
        let first = *self.sizes.first()?;
        self.sizes.iter().all(|s| *s == first).then_some(first)
    }
}

/// The check of one pair: `[h, w]` and the mask's largest id, or what is wrong.
fn check_one(item: &SegItem, channels: usize, binary: bool) -> std::result::Result<([usize; 2], u8), String> {
    let img = decode(&item.image, DecodeOptions { channels, ..DecodeOptions::default() }).map_err(|e| e.to_string())?;
    let mask = read_mask(&item.mask).map_err(|e| e.to_string())?;
    if (mask.height, mask.width) != (img.height, img.width) {
        return Err(format!(
            "{}: the mask is {}×{} pixels but its image {} is {}×{}",
            item.mask.display(),
            mask.width,
            mask.height,
            item.image.display(),
            img.width,
            img.height
        ));
    }
    let mask = if binary { mask.binarized() } else { mask };
    Ok(([img.height, img.width], mask.max_id()))
}

/// Decodes every image and mask (on all cores) and returns an error listing every pair that
/// cannot be used, with the reason. With `binary`, mask ids are read as 0 / not 0.
pub fn check_items(items: &[SegItem], channels: usize, binary: bool) -> Result<CheckReport> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let chunk = items.len().div_ceil(threads).max(1);
    let one = |it: &SegItem| match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check_one(it, channels, binary))) {
        Ok(r) => r,
        Err(_) => Err(format!("{}: the decoder crashed on this image or its mask", it.image.display())),
    };
    let results: Vec<std::result::Result<([usize; 2], u8), String>> = std::thread::scope(|s| {
        let handles: Vec<_> = items.chunks(chunk).map(|part| s.spawn(move || part.iter().map(one).collect::<Vec<_>>())).collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_else(|_| vec![Err("the check crashed".to_string())])).collect()
    });
    let mut bad: Vec<String> = results.iter().filter_map(|r| r.as_ref().err().cloned()).collect();
    if results.len() != items.len() && bad.is_empty() {
        bad.push("the check crashed".into());
    }
    if !bad.is_empty() {
        bad.sort();
        let n = bad.len();
        bad.truncate(30);
        return Err(Error::Data(format!(
            "{n} of {} image/mask pairs cannot be used; fix or remove them before training:\n  {}{}",
            items.len(),
            bad.join("\n  "),
            if n > 30 { format!("\n  … and {} more", n - 30) } else { String::new() }
        )));
    }
    let (sizes, max_ids) = results.into_iter().map(|r| r.expect("errors returned above")).unzip();
    Ok(CheckReport { sizes, max_ids })
}

/// An error naming every mask that holds a class id outside `codes` (and where the codes came
/// from, `origin`).
pub fn check_ids(items: &[SegItem], report: &CheckReport, codes: &Codes, origin: &str) -> Result<()> {
    let n = codes.len();
    let bad: Vec<String> = items
        .iter()
        .zip(&report.max_ids)
        .filter(|(_, m)| **m as usize >= n)
        .map(|(it, m)| format!("{}: holds class id {m}, but {origin} names {n} classes (ids 0 to {})", it.mask.display(), n - 1))
        .collect();
    if bad.is_empty() {
        return Ok(());
    }
    let count = bad.len();
    let shown: Vec<&str> = bad.iter().take(30).map(String::as_str).collect();
    let hint = if report.max_id() == 255 && n <= 2 { "\n(masks saved as 0/255: pass --binary-masks to read every non-zero pixel as class 1)" } else { "" };
    Err(Error::Data(format!(
        "{count} mask(s) hold class ids outside the codes:\n  {}{}{hint}",
        shown.join("\n  "),
        if count > 30 { format!("\n  … and {} more", count - 30) } else { String::new() }
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::mask::{Mask, write_mask};

    fn pair(dir: &std::path::Path, name: &str, img_hw: (u32, u32), mask: &Mask) -> SegItem {
        let image = dir.join(format!("{name}.png"));
        image::GrayImage::new(img_hw.1, img_hw.0).save(&image).unwrap();
        let m = dir.join(format!("{name}_P.png"));
        write_mask(&m, mask).unwrap();
        SegItem { image, mask: m }
    }

    #[test]
    fn finds_size_mismatches_bad_ids_and_unreadable_files_by_name() {
        let dir = std::env::temp_dir().join(format!("kindling-seg-check-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = pair(&dir, "good", (2, 3), &Mask { height: 2, width: 3, data: vec![0, 1, 2, 0, 1, 2] });
        let high = pair(&dir, "high", (2, 3), &Mask { height: 2, width: 3, data: vec![0, 9, 0, 0, 0, 0] });
        let report = check_items(&[good.clone(), high.clone()], 3, false).unwrap();
        assert_eq!(report.max_ids, vec![2, 9]);
        assert_eq!(report.common_size(), Some([2, 3]));
        let codes = Codes::numbered(3).unwrap();
        let err = check_ids(&[good.clone(), high.clone()], &report, &codes, "codes.txt").unwrap_err().to_string();
        assert!(err.contains("high_P.png: holds class id 9, but codes.txt names 3 classes"), "{err}");
        assert!(!err.contains("good_P.png"), "{err}");

        let wrong = pair(&dir, "wrong", (4, 4), &Mask { height: 2, width: 3, data: vec![0; 6] });
        let missing = SegItem { image: dir.join("good.png"), mask: dir.join("nope_P.png") };
        let err = check_items(&[good.clone(), wrong, missing], 3, false).unwrap_err().to_string();
        assert!(err.starts_with("2 of 3 image/mask pairs"), "{err}");
        assert!(err.contains("wrong_P.png: the mask is 3×2 pixels but its image") && err.contains("nope_P.png"), "{err}");
        let r = check_items(&[high], 1, true).unwrap();
        assert_eq!(r.max_ids, vec![1], "binary masks read 9 as 1");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
