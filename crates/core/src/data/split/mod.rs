//! Train / valid / test splits. Every splitter is deterministic for its seed, returns disjoint
//! index sets, and refuses a split that would leave the training set (or a validation set that
//! was asked for) empty. The test set is held out: the [`Learner`](crate::learner::Learner)
//! never sees it, and evaluating on it is an explicit call.

mod column;
mod folder;
mod indices;
mod predicate;
mod random;
mod time;

pub use column::{BoolColumns, ColSplitter};
pub use folder::GrandparentSplitter;
pub use indices::IndexSplitter;
pub use predicate::FuncSplitter;
pub use random::RandomSplitter;
pub use time::TimeSplitter;

use serde::{Deserialize, Serialize};

use crate::data::transform::SplitKind;
use crate::error::{Error, Result};

/// Splits a list of items (paths, rows, timestamps …) into [`Splits`].
pub trait Splitter<T: ?Sized> {
    /// The split of `items`, by position.
    fn split(&self, items: &T) -> Result<Splits>;
}

/// Positions of the training, validation and held-out test items.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Splits {
    /// Items the model trains on.
    pub train: Vec<usize>,
    /// Items used to measure the model during training and to tune it.
    pub valid: Vec<usize>,
    test: Vec<usize>,
}

impl Splits {
    /// Builds and checks a split of `n` items: indices in range, the three sets disjoint,
    /// the training set not empty, and the validation set not empty when `need_valid`.
    pub fn new(n: usize, train: Vec<usize>, valid: Vec<usize>, test: Vec<usize>, need_valid: bool) -> Result<Self> {
        if n == 0 {
            return Err(Error::Data("the dataset is empty: there is nothing to split".into()));
        }
        let mut seen = vec![None::<SplitKind>; n];
        for (kind, set) in [(SplitKind::Train, &train), (SplitKind::Valid, &valid), (SplitKind::Test, &test)] {
            for &i in set {
                let slot = seen.get_mut(i).ok_or_else(|| {
                    Error::invalid("split", format!("index {i} is out of range for {n} items"))
                })?;
                if let Some(prev) = slot.replace(kind) {
                    return Err(Error::invalid("split", format!("item {i} is in both {prev} and {kind}")));
                }
            }
        }
        if train.is_empty() {
            return Err(Error::Data(format!(
                "the split leaves the training set empty ({} valid, {} test of {n} items)",
                valid.len(),
                test.len()
            )));
        }
        if need_valid && valid.is_empty() {
            return Err(Error::Data(format!(
                "the split leaves the validation set empty ({} train of {n} items); use more data or a larger valid_pct",
                train.len()
            )));
        }
        Ok(Self { train, valid, test })
    }

    /// The held-out test items. Nothing in kindling trains or tunes on these: reading them is
    /// the explicit act of a final evaluation.
    pub fn held_out_test(&self) -> &[usize] {
        &self.test
    }

    /// `(train, valid, test)` sizes.
    pub fn sizes(&self) -> (usize, usize, usize) {
        (self.train.len(), self.valid.len(), self.test.len())
    }

    /// Which set each of the `n` items is in (`None` for an item in no set).
    pub fn assignment(&self, n: usize) -> Vec<Option<SplitKind>> {
        let mut out = vec![None; n];
        for (kind, set) in [(SplitKind::Train, &self.train), (SplitKind::Valid, &self.valid), (SplitKind::Test, &self.test)] {
            for &i in set {
                out[i] = Some(kind);
            }
        }
        out
    }
}

/// Checks a fraction setting: in `[0, 1)`.
pub(crate) fn check_pct(name: &str, pct: f64) -> Result<()> {
    if !(0.0..1.0).contains(&pct) || pct.is_nan() {
        return Err(Error::invalid(name, format!("{pct} is outside [0, 1)")));
    }
    Ok(())
}

/// Checks `valid_pct` and `test_pct` together: each in `[0, 1)` and their sum below 1.
pub(crate) fn check_pcts(valid_pct: f64, test_pct: f64) -> Result<()> {
    check_pct("valid_pct", valid_pct)?;
    check_pct("test_pct", test_pct)?;
    if valid_pct + test_pct >= 1.0 {
        return Err(Error::invalid(
            "valid_pct + test_pct",
            format!("{} leaves nothing to train on", valid_pct + test_pct),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_overlap_out_of_range_and_empty_sets() {
        assert!(Splits::new(3, vec![0, 1], vec![1], vec![], true).unwrap_err().to_string().contains("item 1"));
        assert!(Splits::new(3, vec![0, 5], vec![1], vec![], true).unwrap_err().to_string().contains("out of range"));
        assert!(Splits::new(3, vec![], vec![0], vec![], true).unwrap_err().to_string().contains("training set empty"));
        assert!(Splits::new(3, vec![0], vec![], vec![], true).unwrap_err().to_string().contains("validation set empty"));
        assert!(Splits::new(3, vec![0], vec![], vec![], false).is_ok());
        assert!(Splits::new(0, vec![], vec![], vec![], false).unwrap_err().to_string().contains("empty"));
    }

    #[test]
    fn pct_checks() {
        assert!(check_pcts(0.2, 0.1).is_ok());
        assert!(check_pcts(1.0, 0.0).is_err());
        assert!(check_pcts(-0.1, 0.0).is_err());
        assert!(check_pcts(f64::NAN, 0.0).is_err());
        assert!(check_pcts(0.6, 0.4).is_err());
    }
}
