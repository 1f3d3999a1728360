//! The CPU BatchNorm as burn backend extensions: training (with its backward pass) on flex and
//! its autodiff wrapper, and inference on flex.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::Autodiff;
use burn::backend::flex::{Flex, FlexTensor};
use burn::backend::tensor::FloatTensor;
use burn::backend::{AutodiffBackend, Backend, ExtensionType, TensorMetadata, backend_extension};
use burn::tensor::TensorData;

use super::kernel::{self, BatchNormShape};
use crate::nn::flex::{flex_tensor, values};

/// The normalised output and the batch's statistics (mean and biased variance, per channel).
#[derive(ExtensionType)]
pub struct BatchNormTrainOutput<B: Backend> {
    /// The normalised, scaled and shifted input.
    pub output: FloatTensor<B>,
    /// Per-channel mean of the batch.
    pub mean: FloatTensor<B>,
    /// Per-channel biased variance of the batch.
    pub variance: FloatTensor<B>,
}

/// BatchNorm with the batch's statistics, differentiable in the input, scale and shift.
#[backend_extension(Flex, Autodiff)]
pub trait CpuBatchNormTrain: Backend {
    /// `x` `[N, C, ...]` normalised per channel, then `· gamma + beta`.
    fn kindling_batch_norm_train(x: FloatTensor<Self>, gamma: FloatTensor<Self>, beta: FloatTensor<Self>, epsilon: f64) -> BatchNormTrainOutput<Self>;
}

/// BatchNorm with given statistics (inference, no gradient).
#[backend_extension(Flex)]
pub trait CpuBatchNormInference: Backend {
    /// `x` `[N, C, ...]` normalised with `mean` and `variance`, then `· gamma + beta`.
    fn kindling_batch_norm(x: FloatTensor<Self>, gamma: FloatTensor<Self>, beta: FloatTensor<Self>, mean: FloatTensor<Self>, variance: FloatTensor<Self>, epsilon: f64) -> FloatTensor<Self>;
}

fn vector(values: Vec<f32>) -> FlexTensor {
    let n = values.len();
    FlexTensor::from_data(TensorData::new(values, [n]))
}

impl CpuBatchNormTrain for Flex {
    fn kindling_batch_norm_train(x: FlexTensor, gamma: FlexTensor, beta: FlexTensor, epsilon: f64) -> BatchNormTrainOutput<Self> {
        let dims = x.shape().to_vec();
        let s = BatchNormShape::of(&dims);
        let (out, mean, var) = kernel::train_forward(s, &values(&x), &values(&gamma), &values(&beta), epsilon);
        BatchNormTrainOutput { output: flex_tensor(out, dims), mean: vector(mean), variance: vector(var) }
    }
}

impl CpuBatchNormInference for Flex {
    fn kindling_batch_norm(x: FlexTensor, gamma: FlexTensor, beta: FlexTensor, mean: FlexTensor, variance: FlexTensor, epsilon: f64) -> FlexTensor {
        let dims = x.shape().to_vec();
        let s = BatchNormShape::of(&dims);
        let out = kernel::inference(s, &values(&x), &values(&gamma), &values(&beta), &values(&mean), &values(&variance), epsilon);
        flex_tensor(out, dims)
    }
}

/// The backward step: input, scale and shift gradients from one pass over the input and the
/// output's gradient (plus one more for the input gradient when it is needed).
#[derive(Debug)]
struct BatchNormBackward;

impl Backward<Flex, 3> for BatchNormBackward {
    type State = (FlexTensor, FlexTensor, FlexTensor, FlexTensor, f64);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let [node_x, node_gamma, node_beta] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x, gamma, mean, var, epsilon) = ops.state;
        let dims = x.shape().to_vec();
        let s = BatchNormShape::of(&dims);
        let (dx, dgamma, dbeta) = kernel::train_backward(s, &values(&x), &values(&grad), &values(&gamma), &values(&mean), &values(&var), epsilon, node_x.is_some());
        if let (Some(node), Some(dx)) = (node_x, dx) {
            grads.register::<Flex>(node.id, flex_tensor(dx, dims));
        }
        if let Some(node) = node_gamma {
            grads.register::<Flex>(node.id, vector(dgamma));
        }
        if let Some(node) = node_beta {
            grads.register::<Flex>(node.id, vector(dbeta));
        }
    }
}

impl<C: CheckpointStrategy> CpuBatchNormTrain for Autodiff<Flex, C> {
    fn kindling_batch_norm_train(x: FloatTensor<Self>, gamma: FloatTensor<Self>, beta: FloatTensor<Self>, epsilon: f64) -> BatchNormTrainOutput<Self> {
        let prep = BatchNormBackward.prepare::<C>([x.node(), gamma.node(), beta.node()]).compute_bound().stateful();
        let (xp, gp) = (x.primitive().clone(), gamma.primitive().clone());
        let result = Flex::kindling_batch_norm_train(xp.clone(), gp.clone(), beta.into_primitive(), epsilon);
        // The statistics leave the graph: they only feed the running averages.
        let (mean, variance) = (Self::from_inner(result.mean.clone()), Self::from_inner(result.variance.clone()));
        let output = match prep {
            OpsKind::Tracked(prep) => prep.finish((xp, gp, result.mean, result.variance, epsilon), result.output),
            OpsKind::UnTracked(prep) => prep.finish(result.output),
        };
        BatchNormTrainOutput { output, mean, variance }
    }
}
