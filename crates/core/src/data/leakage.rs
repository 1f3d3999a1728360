//! A check, before training, for items that appear in more than one split: the same file
//! content, the same row, the same user-item pair. A model validated on items it trained on
//! looks better than it is.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;


use super::split::Splits;
use super::transform::SplitKind;

/// One key found in more than one split.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leak {
    /// The shared key, as text (a content hash, a row, a file name …).
    pub key: String,
    /// Every (split, item position) that carries this key.
    pub items: Vec<(SplitKind, usize)>,
}

/// All keys shared between splits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LeakageReport {
    /// The leaks, in order of first appearance.
    pub leaks: Vec<Leak>,
}

impl LeakageReport {
    /// Finds keys that occur in more than one of train, valid and test. `keys[i]` is item `i`'s
    /// identity: a [`content_hash`] of its bytes, or a natural key.
    ///
    /// ```
    /// use kindling_core::data::{LeakageReport, Splits};
    /// let splits = Splits::new(4, vec![0, 1], vec![2, 3], vec![], true).unwrap();
    /// let report = LeakageReport::check(&splits, &["a", "b", "a", "c"]);
    /// assert_eq!(report.leaks.len(), 1);
    /// assert!(report.to_string().contains("'a'"));
    /// ```
    pub fn check<K: Hash + Eq + fmt::Display>(splits: &Splits, keys: &[K]) -> Self {
        let mut by_key: HashMap<&K, (usize, Vec<(SplitKind, usize)>)> = HashMap::new();
        for (kind, set) in [
            (SplitKind::Train, &splits.train[..]),
            (SplitKind::Valid, &splits.valid[..]),
            (SplitKind::Test, splits.held_out_test()),
        ] {
            for &i in set {
                let Some(key) = keys.get(i) else { continue };
                let next = by_key.len();
                by_key.entry(key).or_insert_with(|| (next, Vec::new())).1.push((kind, i));
            }
        }
        let mut leaks: Vec<(usize, Leak)> = by_key
            .into_iter()
            .filter(|(_, (_, items))| items.iter().any(|(k, _)| *k != items[0].0))
            .map(|(key, (order, items))| (order, Leak { key: key.to_string(), items }))
            .collect();
        leaks.sort_by_key(|(order, _)| *order);
        Self { leaks: leaks.into_iter().map(|(_, l)| l).collect() }
    }

    /// Whether no key is shared between splits.
    pub fn is_clean(&self) -> bool {
        self.leaks.is_empty()
    }
}

impl fmt::Display for LeakageReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_clean() {
            return write!(f, "no item appears in more than one split");
        }
        writeln!(f, "{} item(s) appear in more than one split:", self.leaks.len())?;
        for leak in self.leaks.iter().take(20) {
            let places: Vec<String> = leak.items.iter().map(|(k, i)| format!("{k} #{i}")).collect();
            writeln!(f, "  '{}': {}", leak.key, places.join(", "))?;
        }
        if self.leaks.len() > 20 {
            writeln!(f, "  … and {} more", self.leaks.len() - 20)?;
        }
        Ok(())
    }
}

/// The SHA-256 of `bytes` as lowercase hex: a key for [`LeakageReport::check`] that catches
/// the same file stored under two names.
pub fn content_hash(bytes: &[u8]) -> String {
    crate::hash::sha256_hex(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_cross_split_duplicates_only() {
        let splits = Splits::new(6, vec![0, 1, 2], vec![3, 4], vec![5], true).unwrap();
        // "x" twice inside train is not a leak; "y" in valid #3 and test #5 is.
        let keys: Vec<String> = ["x", "x", "q", "y", "w", "y"].iter().map(|s| content_hash(s.as_bytes())).collect();
        let report = LeakageReport::check(&splits, &keys);
        assert_eq!(report.leaks.len(), 1);
        assert_eq!(report.leaks[0].items, vec![(SplitKind::Valid, 3), (SplitKind::Test, 5)]);
        let clean = LeakageReport::check(&splits, &["a", "a", "a", "b", "c", "d"]);
        assert!(clean.is_clean(), "{clean}");
    }

    #[test]
    fn content_hash_is_sha256() {
        assert_eq!(
            content_hash(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
