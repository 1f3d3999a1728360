use super::{Splits, Splitter};
use crate::error::Result;

/// Explicit validation (and optional test) positions, as fastai's `IndexSplitter`; every other
/// item trains.
///
/// ```
/// use kindling_core::data::split::{IndexSplitter, Splitter};
/// let s = IndexSplitter::new(vec![0, 3]).with_test(vec![4]).split(&5).unwrap();
/// assert_eq!((s.train.clone(), s.valid.clone(), s.held_out_test().to_vec()), (vec![1, 2], vec![0, 3], vec![4]));
/// ```
#[derive(Clone, Debug)]
pub struct IndexSplitter {
    valid: Vec<usize>,
    test: Vec<usize>,
}

impl IndexSplitter {
    /// Validation items at `valid`.
    pub fn new(valid: Vec<usize>) -> Self {
        Self { valid, test: Vec::new() }
    }

    /// Test items at `test`.
    pub fn with_test(mut self, test: Vec<usize>) -> Self {
        self.test = test;
        self
    }
}

impl Splitter<usize> for IndexSplitter {
    fn split(&self, &n: &usize) -> Result<Splits> {
        let mut taken = vec![false; n];
        for &i in self.valid.iter().chain(&self.test) {
            if let Some(t) = taken.get_mut(i) {
                *t = true;
            }
        }
        let train = (0..n).filter(|&i| !taken[i]).collect();
        Splits::new(n, train, self.valid.clone(), self.test.clone(), true)
    }
}

impl<T> Splitter<[T]> for IndexSplitter {
    fn split(&self, items: &[T]) -> Result<Splits> {
        self.split(&items.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_and_range_are_errors() {
        assert!(IndexSplitter::new(vec![1]).with_test(vec![1]).split(&3).is_err());
        assert!(IndexSplitter::new(vec![9]).split(&3).is_err());
        assert!(IndexSplitter::new(vec![0, 1, 2]).split(&3).is_err());
    }
}
