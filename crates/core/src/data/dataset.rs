//! Datasets: anything that can hand out item `i` of `len()` items, from any thread.

use std::sync::Arc;

use crate::error::{Error, Result};

/// An indexable collection of items, shared between loader threads.
///
/// `get` returns a `Result` so that a corrupt file or a bad row is reported with the item's
/// index (and the file or row it came from) instead of panicking in a worker thread.
pub trait Dataset: Send + Sync {
    /// The item type: a path, a decoded image, a row of numbers …
    type Item: Send;

    /// Number of items.
    fn len(&self) -> usize;

    /// Whether the dataset has no items.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Item `index`, or an error naming what is wrong with it.
    fn get(&self, index: usize) -> Result<Self::Item>;
}

impl<D: Dataset + ?Sized> Dataset for Arc<D> {
    type Item = D::Item;
    fn len(&self) -> usize {
        (**self).len()
    }
    fn get(&self, index: usize) -> Result<D::Item> {
        (**self).get(index)
    }
}

/// A dataset held in memory, handing out clones of its items.
///
/// ```
/// use kindling_core::data::{Dataset, VecDataset};
/// let ds = VecDataset::new(vec![(1.0f32, 0usize), (2.0, 1)]);
/// assert_eq!(ds.len(), 2);
/// assert_eq!(ds.get(1).unwrap(), (2.0, 1));
/// assert!(ds.get(2).is_err());
/// ```
#[derive(Clone, Debug)]
pub struct VecDataset<T> {
    items: Arc<Vec<T>>,
}

impl<T> VecDataset<T> {
    /// Wraps `items`.
    pub fn new(items: Vec<T>) -> Self {
        Self { items: Arc::new(items) }
    }

    /// The items, in order.
    pub fn items(&self) -> &[T] {
        &self.items
    }
}

impl<T: Clone + Send + Sync> Dataset for VecDataset<T> {
    type Item = T;
    fn len(&self) -> usize {
        self.items.len()
    }
    fn get(&self, index: usize) -> Result<T> {
        self.items.get(index).cloned().ok_or_else(|| out_of_range(index, self.items.len()))
    }
}

/// A dataset whose items are those of another passed through a fallible function,
/// such as decoding an image from its path.
pub struct MapDataset<D, F> {
    inner: D,
    func: F,
}

impl<D, F> MapDataset<D, F> {
    /// Items of `inner`, each mapped by `func(index, item)`.
    pub fn new(inner: D, func: F) -> Self {
        Self { inner, func }
    }
}

impl<D, F, O> Dataset for MapDataset<D, F>
where
    D: Dataset,
    F: Fn(usize, D::Item) -> Result<O> + Send + Sync,
    O: Send,
{
    type Item = O;
    fn len(&self) -> usize {
        self.inner.len()
    }
    fn get(&self, index: usize) -> Result<O> {
        (self.func)(index, self.inner.get(index)?)
    }
}

/// The items of another dataset at the given indices, in that order (one split of a dataset).
#[derive(Clone)]
pub struct Subset<D> {
    inner: D,
    indices: Arc<Vec<usize>>,
}

impl<D: Dataset> Subset<D> {
    /// A view of `inner` at `indices`; an index past the end is an error now, not at `get`.
    pub fn new(inner: D, indices: Vec<usize>) -> Result<Self> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= inner.len()) {
            return Err(out_of_range(bad, inner.len()));
        }
        Ok(Self { inner, indices: Arc::new(indices) })
    }

    /// The positions in the underlying dataset.
    pub fn indices(&self) -> &[usize] {
        &self.indices
    }
}

impl<D: Dataset> Dataset for Subset<D> {
    type Item = D::Item;
    fn len(&self) -> usize {
        self.indices.len()
    }
    fn get(&self, index: usize) -> Result<D::Item> {
        let &i = self.indices.get(index).ok_or_else(|| out_of_range(index, self.indices.len()))?;
        self.inner.get(i)
    }
}

fn out_of_range(index: usize, len: usize) -> Error {
    Error::Item { index, message: format!("out of range for a dataset of {len} items") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subset_and_map_compose() {
        let base = VecDataset::new((0..10).collect::<Vec<i32>>());
        let sub = Subset::new(base.clone(), vec![7, 2]).unwrap();
        let mapped = MapDataset::new(sub, |_, x: i32| Ok(x * 10));
        assert_eq!(mapped.len(), 2);
        assert_eq!(mapped.get(0).unwrap(), 70);
        assert_eq!(mapped.get(1).unwrap(), 20);
        assert!(Subset::new(base, vec![10]).is_err());
    }
}
