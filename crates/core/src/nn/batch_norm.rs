use burn::config::Config;
use burn::module::{Module, Param, RunningState};
use burn::tensor::{Device, Tensor};

/// BatchNorm as PyTorch and fastai keep it: the running variance is updated with the
/// *unbiased* batch variance (`n / (n - 1)` times the biased one that normalises the batch),
/// where burn's own `BatchNorm` uses the biased one. On tabular batches of 64 rows the
/// difference is 1.6% of every variance the model is validated with.
///
/// fastai's `BatchNorm(nf)` also starts its shift at `1e-3` instead of 0
/// ([`BatchNormConfig::with_beta_init`]); `TabularModel`'s `bn_cont` is a plain PyTorch one.
///
/// ```
/// use burn::tensor::{Device, Tensor};
/// use kindling_core::nn::BatchNormConfig;
/// let bn = BatchNormConfig::new(3).init(&Device::flex());
/// let y = bn.forward(Tensor::<2>::ones([4, 3], &Device::flex()));
/// assert_eq!(y.dims(), [4, 3]);
/// ```
#[derive(Config, Debug)]
pub struct BatchNormConfig {
    /// Number of channels (the second axis of the input).
    pub num_features: usize,
    /// Added to the variance before the square root.
    #[config(default = 1e-5)]
    pub epsilon: f64,
    /// Weight of the new batch in the running statistics.
    #[config(default = 0.1)]
    pub momentum: f64,
    /// Initial value of the shift (fastai's `BatchNorm`: 1e-3; PyTorch's: 0).
    #[config(default = 0.0)]
    pub beta_init: f64,
}

impl BatchNormConfig {
    /// The layer: scale 1, shift `beta_init`, running mean 0 and variance 1.
    pub fn init(&self, device: &Device) -> BatchNorm {
        let n = self.num_features;
        BatchNorm {
            gamma: Param::from_tensor(Tensor::ones([n], device)),
            beta: Param::from_tensor(Tensor::full([n], self.beta_init, device)),
            running_mean: RunningState::new(Tensor::zeros([n], device)),
            running_var: RunningState::new(Tensor::ones([n], device)),
            momentum: self.momentum,
            epsilon: self.epsilon,
        }
    }
}

/// See [`BatchNormConfig`].
#[derive(Module, Debug)]
pub struct BatchNorm {
    /// Scale.
    pub gamma: Param<Tensor<1>>,
    /// Shift.
    pub beta: Param<Tensor<1>>,
    /// Running mean, used in inference.
    pub running_mean: RunningState<Tensor<1>>,
    /// Running (unbiased) variance, used in inference.
    pub running_var: RunningState<Tensor<1>>,
    /// Weight of the new batch in the running statistics.
    pub momentum: f64,
    /// Added to the variance before the square root.
    pub epsilon: f64,
}

impl BatchNorm {
    /// `[batch, channels, ...]` normalised with the batch's statistics when the input carries
    /// gradients (and the running ones are updated), with the running statistics otherwise.
    pub fn forward<const D: usize>(&self, input: Tensor<D>) -> Tensor<D> {
        let device = input.device();
        if !(device.is_autodiff() && self.gamma.val().is_require_grad()) {
            return burn::tensor::module::batch_norm(
                input,
                self.gamma.val(),
                self.beta.val(),
                self.running_mean.value().to_device(&device),
                self.running_var.value().to_device(&device),
                self.epsilon,
            );
        }
        let dims = input.dims();
        let count: usize = dims.iter().enumerate().filter(|&(i, _)| i != 1).map(|(_, d)| d).product();
        let unbias = if count > 1 { count as f64 / (count - 1) as f64 } else { 1.0 };
        let out = burn::tensor::module::batch_norm_train(input, self.gamma.val(), self.beta.val(), self.epsilon);
        let m = self.momentum;
        let mean = self.running_mean.value_sync().to_device(&device).mul_scalar(1.0 - m).add(out.mean.detach().mul_scalar(m));
        let var = self
            .running_var
            .value_sync()
            .to_device(&device)
            .mul_scalar(1.0 - m)
            .add(out.variance.detach().mul_scalar(m * unbias));
        self.running_mean.update(mean.detach());
        self.running_var.update(var.detach());
        out.output
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    #[test]
    fn running_variance_is_unbiased_as_pytorch() {
        // torch.nn.BatchNorm1d(1) after one training batch [1, 2, 3, 4]:
        // running_mean = 0.25, running_var = 0.9 + 0.1 * 1.6667 = 1.0666667.
        let device = Device::flex().autodiff();
        let bn = BatchNormConfig::new(1).init(&device);
        let x = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0], [4, 1]), &device);
        let _ = bn.forward(x);
        let mean = bn.running_mean.value_sync().into_scalar::<f32>();
        let var = bn.running_var.value_sync().into_scalar::<f32>();
        assert!((mean - 0.25).abs() < 1e-6, "{mean}");
        assert!((var - 1.066_666_7).abs() < 1e-6, "{var}");
    }

    #[test]
    fn inference_uses_running_statistics() {
        let device = Device::flex();
        let bn = BatchNormConfig::new(1).with_beta_init(1e-3).init(&device);
        let x = Tensor::<2>::from_data(TensorData::new(vec![2.0f32], [1, 1]), &device);
        let y = bn.forward(x).into_scalar::<f32>();
        assert!((y - (2.0 / (1.0f32 + 1e-5).sqrt() + 1e-3)).abs() < 1e-6, "{y}");
    }
}
