use super::{Splits, Splitter, check_pcts};
use crate::data::Dataset;
use crate::error::Result;
use crate::seed;

/// A seeded random split, as fastai's `RandomSplitter(valid_pct, seed)`, with an optional
/// held-out test fraction taken from the same permutation.
///
/// The permutation is PyTorch's (`torch.manual_seed(seed); torch.randperm(n)`, see
/// [`seed::torch_randperm`]), so for the same seed kindling validates on exactly the rows fastai
/// validates on, and the two can be compared row for row. The test rows come right after the
/// validation rows in that permutation.
///
/// ```
/// use kindling_core::data::split::{RandomSplitter, Splitter};
/// let s = RandomSplitter::new(0.2, 42).split(&100).unwrap();
/// assert_eq!(s.sizes(), (80, 20, 0));
/// let s = RandomSplitter::new(0.2, 42).with_test_pct(0.1).split(&100).unwrap();
/// assert_eq!(s.sizes(), (70, 20, 10));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct RandomSplitter {
    valid_pct: f64,
    test_pct: f64,
    seed: u64,
}

impl RandomSplitter {
    /// `valid_pct` of the items (rounded down) go to validation.
    pub fn new(valid_pct: f64, seed: u64) -> Self {
        Self { valid_pct, test_pct: 0.0, seed }
    }

    /// Also hold out `test_pct` of the items as a test set.
    pub fn with_test_pct(mut self, test_pct: f64) -> Self {
        self.test_pct = test_pct;
        self
    }

    fn split_n(&self, n: usize) -> Result<Splits> {
        check_pcts(self.valid_pct, self.test_pct)?;
        let perm = seed::torch_randperm(n, self.seed);
        let n_valid = (self.valid_pct * n as f64) as usize;
        let n_test = (self.test_pct * n as f64) as usize;
        let valid = perm[..n_valid].to_vec();
        let test = perm[n_valid..n_valid + n_test].to_vec();
        let train = perm[n_valid + n_test..].to_vec();
        Splits::new(n, train, valid, test, self.valid_pct > 0.0)
    }
}

/// Splits `n` items, given as their count.
impl Splitter<usize> for RandomSplitter {
    fn split(&self, n: &usize) -> Result<Splits> {
        self.split_n(*n)
    }
}

/// Splits any slice by its length.
impl<T> Splitter<[T]> for RandomSplitter {
    fn split(&self, items: &[T]) -> Result<Splits> {
        self.split_n(items.len())
    }
}

impl RandomSplitter {
    /// Splits a dataset by its length.
    pub fn split_dataset<D: Dataset + ?Sized>(&self, ds: &D) -> Result<Splits> {
        self.split_n(ds.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_disjoint_and_sized() {
        let a = RandomSplitter::new(0.25, 7).with_test_pct(0.15).split(&1000).unwrap();
        let b = RandomSplitter::new(0.25, 7).with_test_pct(0.15).split(&1000).unwrap();
        let c = RandomSplitter::new(0.25, 8).with_test_pct(0.15).split(&1000).unwrap();
        assert_eq!(a, b);
        assert_ne!(a.valid, c.valid);
        assert_eq!(a.sizes(), (600, 250, 150));
        assert!(a.assignment(1000).iter().all(Option::is_some), "every item lands in one set");
    }

    #[test]
    fn too_small_for_a_validation_set() {
        let err = RandomSplitter::new(0.2, 0).split(&3).unwrap_err().to_string();
        assert!(err.contains("validation set empty"), "{err}");
    }

    #[test]
    fn bad_pct() {
        assert!(RandomSplitter::new(1.0, 0).split(&10).is_err());
        assert!(RandomSplitter::new(-0.5, 0).split(&10).is_err());
    }
}
