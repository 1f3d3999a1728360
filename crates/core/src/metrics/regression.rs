use super::{HostPreds, HostTarget, Metric};

/// Sums of squared and absolute errors over the epoch.
#[derive(Default, Debug, Clone)]
struct Errors {
    sq: f64,
    abs: f64,
    n: u64,
}

impl Errors {
    fn add(&mut self, preds: &HostPreds, target: &HostTarget) {
        match target {
            HostTarget::Values(t) => {
                for (p, y) in preds.values.iter().zip(t) {
                    let d = (*p - *y) as f64;
                    self.sq += d * d;
                    self.abs += d.abs();
                    self.n += 1;
                }
            }
            HostTarget::Classes(_) => panic!("a regression metric needs value targets"),
        }
    }
}

macro_rules! regression_metric {
    ($(#[$doc:meta])* $ty:ident, $name:literal, |$e:ident| $value:expr) => {
        $(#[$doc])*
        #[derive(Default, Debug, Clone)]
        pub struct $ty(Errors);

        impl Metric for $ty {
            fn name(&self) -> String {
                $name.into()
            }
            fn reset(&mut self) {
                self.0 = Errors::default();
            }
            fn accumulate(&mut self, preds: &HostPreds, target: &HostTarget) {
                self.0.add(preds, target);
            }
            fn value(&self) -> Option<f64> {
                let $e = &self.0;
                ($e.n > 0).then(|| $value)
            }
            fn higher_is_better(&self) -> bool {
                false
            }
        }
    };
}

regression_metric!(
    /// Mean squared error over the epoch (fastai's `mse`).
    ///
    /// ```
    /// use kindling_core::metrics::{Mse, HostPreds, HostTarget, Metric};
    /// let mut m = Mse::default();
    /// m.accumulate(&HostPreds { values: vec![1.0, 3.0], n_out: 1 }, &HostTarget::Values(vec![0.0, 1.0]));
    /// assert_eq!(m.value(), Some(2.5));
    /// ```
    Mse, "mse", |e| e.sq / e.n as f64
);
regression_metric!(
    /// Root of the epoch's mean squared error (fastai's `rmse`), not a mean of batch RMSEs.
    Rmse, "rmse", |e| (e.sq / e.n as f64).sqrt()
);
regression_metric!(
    /// Mean absolute error over the epoch (fastai's `mae`).
    Mae, "mae", |e| e.abs / e.n as f64
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rmse_is_root_of_epoch_mse() {
        let mut m = Rmse::default();
        m.accumulate(&HostPreds { values: vec![2.0], n_out: 1 }, &HostTarget::Values(vec![0.0]));
        m.accumulate(&HostPreds { values: vec![0.0, 0.0, 0.0], n_out: 1 }, &HostTarget::Values(vec![0.0, 0.0, 0.0]));
        assert_eq!(m.value(), Some(1.0)); // sqrt(4 / 4); the mean of batch RMSEs would be (2 + 0) / 2 = 1 too, so check MSE-based value on uneven batches below
        m.accumulate(&HostPreds { values: vec![0.0; 4], n_out: 1 }, &HostTarget::Values(vec![0.0; 4]));
        assert_eq!(m.value(), Some((4.0f64 / 8.0).sqrt()));
        let mut mae = Mae::default();
        mae.accumulate(&HostPreds { values: vec![1.0, -1.0], n_out: 1 }, &HostTarget::Values(vec![0.0, 0.0]));
        assert_eq!(mae.value(), Some(1.0));
    }
}
