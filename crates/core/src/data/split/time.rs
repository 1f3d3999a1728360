use super::{Splits, Splitter, check_pcts};
use crate::error::{Error, Result};

/// A time-ordered split for backtesting: items are ordered by their time key, the last
/// `test_pct` are held out as test, the `valid_pct` before them validate, and all earlier items
/// train. Nothing in validation or test is older than anything in training.
///
/// ```
/// use kindling_core::data::split::{TimeSplitter, Splitter};
/// let times = [5.0, 1.0, 4.0, 2.0, 3.0];
/// let s = TimeSplitter::new(0.2).with_test_pct(0.2).split(&times[..]).unwrap();
/// assert_eq!((s.train.clone(), s.valid.clone(), s.held_out_test().to_vec()), (vec![1, 3, 4], vec![2], vec![0]));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct TimeSplitter {
    valid_pct: f64,
    test_pct: f64,
}

impl TimeSplitter {
    /// The latest `valid_pct` of items validate.
    pub fn new(valid_pct: f64) -> Self {
        Self { valid_pct, test_pct: 0.0 }
    }

    /// The latest `test_pct` of items are held out as test (after validation in time).
    pub fn with_test_pct(mut self, test_pct: f64) -> Self {
        self.test_pct = test_pct;
        self
    }
}

impl<K: PartialOrd> Splitter<[K]> for TimeSplitter {
    fn split(&self, keys: &[K]) -> Result<Splits> {
        check_pcts(self.valid_pct, self.test_pct)?;
        if let Some(i) = keys.iter().position(|k| k.partial_cmp(k).is_none()) {
            return Err(Error::Data(format!("time key of item {i} is not comparable (NaN?)")));
        }
        let n = keys.len();
        let mut order: Vec<usize> = (0..n).collect();
        // Stable: items with equal times keep their original order.
        order.sort_by(|&a, &b| keys[a].partial_cmp(&keys[b]).expect("checked above"));
        let n_test = (self.test_pct * n as f64) as usize;
        let n_valid = (self.valid_pct * n as f64) as usize;
        let n_train = n - n_valid - n_test;
        let mut train = order[..n_train].to_vec();
        let valid = order[n_train..n_train + n_valid].to_vec();
        let test = order[n_train + n_valid..].to_vec();
        train.sort_unstable();
        Splits::new(n, train, valid, test, self.valid_pct > 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_is_never_older_than_training() {
        let times: Vec<f64> = (0..100).map(|i| ((i * 37) % 100) as f64).collect();
        let s = TimeSplitter::new(0.2).with_test_pct(0.1).split(&times[..]).unwrap();
        assert_eq!(s.sizes(), (70, 20, 10));
        let max_train = s.train.iter().map(|&i| times[i]).fold(f64::MIN, f64::max);
        let min_valid = s.valid.iter().map(|&i| times[i]).fold(f64::MAX, f64::min);
        let max_valid = s.valid.iter().map(|&i| times[i]).fold(f64::MIN, f64::max);
        let min_test = s.held_out_test().iter().map(|&i| times[i]).fold(f64::MAX, f64::min);
        assert!(max_train < min_valid && max_valid < min_test);
    }

    #[test]
    fn nan_time_is_an_error() {
        assert!(TimeSplitter::new(0.2).split(&[1.0, f64::NAN, 2.0][..]).is_err());
    }
}
