//! BatchNorm with PyTorch's running statistics: kindling's own layer ([`BatchNorm`]), the same
//! computation for burn's layer ([`batch_norm`]), and the CPU kernels behind both.

mod extension;
mod kernel;

use burn::backend::Dispatch;
use burn::config::Config;
use burn::module::{Module, Param, RunningState};
use burn::tensor::{Device, Tensor};

use super::flex::{is_plain_flex, runs_on_flex};
pub use extension::{BatchNormTrainOutput, CpuBatchNormInference, CpuBatchNormTrain};
pub use kernel::BatchNormShape;

/// BatchNorm as PyTorch and fastai keep it, computed by kindling's CPU kernels on the flex
/// backend (burn's generic operations elsewhere): the running variance is updated with the
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
        let training = input.device().is_autodiff() && self.gamma.val().is_require_grad();
        forward(input, training, [&self.gamma, &self.beta], [&self.running_mean, &self.running_var], self.momentum, self.epsilon)
    }
}

/// `bn.forward(x)` for burn's own `BatchNorm` (the layer torchvision checkpoints load into),
/// through kindling's CPU kernels on the flex backend, and with PyTorch's running variance
/// (unbiased, as [`BatchNorm`] keeps it) so that a model validates as it would in fastai.
/// Training mode as burn decides it: an autodiff input and the layer's `training` flag.
///
/// ```
/// use burn::tensor::{Device, Distribution, Tensor};
/// let device = Device::flex();
/// let bn = burn::nn::BatchNormConfig::new(4).init(&device);
/// let x = Tensor::<4>::random([2, 4, 5, 5], Distribution::Normal(0.0, 1.0), &device);
/// assert_eq!(kindling_core::nn::batch_norm(&bn, x).dims(), [2, 4, 5, 5]);
/// ```
pub fn batch_norm<const D: usize>(bn: &burn::nn::BatchNorm, input: Tensor<D>) -> Tensor<D> {
    let training = input.device().is_autodiff() && bn.training.is_enabled();
    forward(input, training, [&bn.gamma, &bn.beta], [&bn.running_mean, &bn.running_var], bn.momentum, bn.epsilon)
}

/// The shared forward pass: batch statistics (updating the running ones) or running ones.
fn forward<const D: usize>(input: Tensor<D>, training: bool, [gamma, beta]: [&Param<Tensor<1>>; 2], [running_mean, running_var]: [&RunningState<Tensor<1>>; 2], momentum: f64, epsilon: f64) -> Tensor<D> {
    let device = input.device();
    if !training {
        let (mean, var) = (running_mean.value().to_device(&device), running_var.value().to_device(&device));
        // The inference kernel takes tensors held by flex itself. An input held by the autodiff
        // backend, even with autodiff switched off, goes to burn's operation; the running
        // statistics may be held that way (they were last written during training), so the
        // per-channel vectors are copied over as plain ones.
        if is_plain_flex(&input) {
            let plain = |t: Tensor<1>| Tensor::<1>::from_data(t.into_data(), &device).into_dispatch();
            let out = <Dispatch as CpuBatchNormInference>::kindling_batch_norm(input.into_dispatch(), plain(gamma.val()), plain(beta.val()), plain(mean), plain(var), epsilon);
            return Tensor::from_dispatch(out);
        }
        return burn::tensor::module::batch_norm(input, gamma.val(), beta.val(), mean, var, epsilon);
    }
    let dims = input.dims();
    let count: usize = dims.iter().enumerate().filter(|&(i, _)| i != 1).map(|(_, d)| d).product();
    let unbias = if count > 1 { count as f64 / (count - 1) as f64 } else { 1.0 };
    let (output, batch_mean, batch_var) = if runs_on_flex(&input) {
        let out = <Dispatch as CpuBatchNormTrain>::kindling_batch_norm_train(input.into_dispatch(), gamma.val().into_dispatch(), beta.val().into_dispatch(), epsilon);
        (Tensor::from_dispatch(out.output), Tensor::<1>::from_dispatch(out.mean), Tensor::<1>::from_dispatch(out.variance))
    } else {
        let out = burn::tensor::module::batch_norm_train(input, gamma.val(), beta.val(), epsilon);
        (out.output, out.mean, out.variance)
    };
    let m = momentum;
    let mean = running_mean.value_sync().to_device(&device).mul_scalar(1.0 - m).add(batch_mean.detach().mul_scalar(m));
    let var = running_var.value_sync().to_device(&device).mul_scalar(1.0 - m).add(batch_var.detach().mul_scalar(m * unbias));
    running_mean.update(mean.detach());
    running_var.update(var.detach());
    output
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

    /// Output and gradients of `sum(bn(x) · r)` through kindling's kernels and through burn's
    /// own layer agree (training mode), and so does inference afterwards.
    #[test]
    fn matches_burn_in_training_and_inference() {
        use burn::tensor::{Distribution, Tolerance};
        let device = Device::flex().autodiff();
        device.seed(5);
        for dims in [[4usize, 3, 5, 5], [64, 7, 1, 1]] {
            let bn = burn::nn::BatchNormConfig::new(dims[1]).init(&device);
            let x = Tensor::<4>::random(dims, Distribution::Normal(2.0, 3.0), &device);
            let r = Tensor::<4>::random(dims, Distribution::Normal(0.0, 1.0), &device);
            let run = |ours: bool| {
                let x = x.clone().require_grad();
                let out = if ours { batch_norm(&bn, x.clone()) } else { bn.forward(x.clone()) };
                let grads = (out.clone() * r.clone()).sum().backward();
                [out.into_data(), x.grad(&grads).unwrap().into_data(), bn.gamma.val().grad(&grads).unwrap().into_data(), bn.beta.val().grad(&grads).unwrap().into_data()]
            };
            for (a, b) in run(true).iter().zip(&run(false)) {
                a.assert_approx_eq::<f32>(b, Tolerance::absolute(1e-4));
            }
            let plain = x.clone().inner();
            let valid = bn.valid();
            batch_norm(&valid, plain.clone()).into_data().assert_approx_eq::<f32>(&valid.forward(plain).into_data(), Tolerance::absolute(1e-4));
        }
    }

    /// After a training step, the model moved off autodiff normalises with the updated running
    /// statistics (through the inference kernel).
    #[test]
    fn validates_after_training() {
        let device = Device::flex().autodiff();
        let bn = BatchNormConfig::new(2).init(&device);
        let x = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, 10.0, 3.0, 30.0], [2, 2]), &device);
        let _ = bn.forward(x.clone());
        let valid = bn.valid();
        let y = valid.forward(x.inner()).into_data().try_to_vec::<f32>().unwrap();
        // Running mean 0.2 and 2.0, running variance 0.9 + 0.1·2 = 1.1 and 0.9 + 0.1·200 = 20.9.
        let expected = [(1.0 - 0.2) / (1.1f32 + 1e-5).sqrt(), (10.0 - 2.0) / (20.9f32 + 1e-5).sqrt()];
        assert!((y[0] - expected[0]).abs() < 1e-5 && (y[1] - expected[1]).abs() < 1e-5, "{y:?}");
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
