//! Id vocabularies, as fastai's Categorify builds them for collaborative filtering: `#na#` at
//! index 0, then the ids of the training ratings in sorted order.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Ids to embedding rows and back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IdVocab {
    /// `#na#`, then the ids.
    pub ids: Vec<String>,
    #[serde(skip)]
    index: HashMap<String, usize>,
}

impl IdVocab {
    /// A vocabulary of the distinct `ids` (sorted numerically when all are numbers, else lexically).
    pub fn new<'a>(ids: impl IntoIterator<Item = &'a str>) -> Self {
        let mut v: Vec<String> = ids.into_iter().map(str::to_string).collect();
        v.sort();
        v.dedup();
        if v.iter().all(|s| s.parse::<f64>().is_ok()) {
            v.sort_by(|a, b| a.parse::<f64>().unwrap().total_cmp(&b.parse::<f64>().unwrap()));
        }
        let mut ids = vec![kindling_tabular::procs::NA.to_string()];
        ids.extend(v);
        Self::from_ids(ids)
    }

    /// A vocabulary from its stored list.
    pub fn from_ids(ids: Vec<String>) -> Self {
        let index = ids.iter().enumerate().skip(1).map(|(i, s)| (s.clone(), i)).collect();
        Self { ids, index }
    }

    /// Rows in the embedding (the `#na#` row included).
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether only `#na#` is there.
    pub fn is_empty(&self) -> bool {
        self.ids.len() <= 1
    }

    /// The row of `id`, `None` when it was not in the training data.
    pub fn get(&self, id: &str) -> Option<usize> {
        if self.index.is_empty() && self.ids.len() > 1 {
            return self.ids.iter().skip(1).position(|s| s == id).map(|p| p + 1);
        }
        self.index.get(id).copied()
    }

    /// The row of `id`, or 0 (`#na#`) when unseen.
    pub fn get_or_na(&self, id: &str) -> usize {
        self.get(id).unwrap_or(0)
    }

    /// Restores the lookup table after deserialising.
    pub fn reindex(self) -> Self {
        Self::from_ids(self.ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn na_first_numeric_order_and_unknowns() {
        let v = IdVocab::new(["10", "9", "10", "100"]);
        assert_eq!(v.ids, vec!["#na#", "9", "10", "100"]);
        assert_eq!(v.get("10"), Some(2));
        assert_eq!(v.get("11"), None);
        assert_eq!(v.get_or_na("11"), 0);
        let t = IdVocab::new(["Toy Story", "Heat"]);
        assert_eq!(t.ids, vec!["#na#", "Heat", "Toy Story"]);
    }
}
