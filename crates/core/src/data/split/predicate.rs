use super::{Splits, Splitter};
use crate::data::transform::SplitKind;
use crate::error::Result;

/// Assigns each item to a set with a function, as fastai's `FuncSplitter`.
///
/// ```
/// use kindling_core::data::{SplitKind, split::{FuncSplitter, Splitter}};
/// let items = [1, 2, 3, 4, 5, 6];
/// let s = FuncSplitter::new(|x: &i32| if x % 3 == 0 { SplitKind::Valid } else { SplitKind::Train })
///     .split(&items[..]).unwrap();
/// assert_eq!(s.valid, vec![2, 5]);
/// ```
pub struct FuncSplitter<F> {
    func: F,
}

impl<F> FuncSplitter<F> {
    /// Each item goes where `func` says.
    pub fn new(func: F) -> Self {
        Self { func }
    }
}

impl<T, F: Fn(&T) -> SplitKind> Splitter<[T]> for FuncSplitter<F> {
    fn split(&self, items: &[T]) -> Result<Splits> {
        let (mut train, mut valid, mut test) = (Vec::new(), Vec::new(), Vec::new());
        for (i, item) in items.iter().enumerate() {
            match (self.func)(item) {
                SplitKind::Train => train.push(i),
                SplitKind::Valid => valid.push(i),
                SplitKind::Test => test.push(i),
            }
        }
        Splits::new(items.len(), train, valid, test, true)
    }
}
