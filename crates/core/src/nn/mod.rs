//! fastai's reusable layers and rules, shared by the task crates: embedding sizes, the
//! Linear–BatchNorm–Dropout block, the sigmoid squashing of a regression output into a range,
//! and faster CPU kernels (convolution, BatchNorm, max pooling, GELU, softmax, LSTM).

#[macro_use]
mod simd;
pub mod batch_norm;
pub mod conv2d;
mod flex;
pub mod gelu;
mod emb;
mod lin_bn_drop;
pub mod lstm;
mod matmul;
mod math;
pub mod max_pool;
mod sigmoid_range;
pub mod softmax;

pub use batch_norm::{BatchNorm, BatchNormConfig, batch_norm};
pub use conv2d::conv2d;
pub use gelu::gelu;
pub use emb::{emb_sz_rule, embedding, trunc_normal};
pub use lin_bn_drop::{LinBnDrop, LinBnDropConfig};
pub use lstm::{LstmOutput, lstm};
pub use max_pool::max_pool2d;
pub use sigmoid_range::{SigmoidRange, sigmoid_range};
pub use softmax::softmax_last;

/// The number of learned parameters, as PyTorch's `sum(p.numel() for p in m.parameters())`
/// counts them: BatchNorm's running statistics are buffers, not parameters (burn's own
/// `num_params` counts them too).
///
/// ```
/// use burn::tensor::Device;
/// let bn = burn::nn::BatchNormConfig::new(10).init(&Device::flex());
/// assert_eq!(kindling_core::nn::num_params(&bn), 20);
/// ```
pub fn num_params<M: burn::module::Module>(model: &M) -> usize {
    crate::optim::ParamGroups::single().describe(model).iter().filter(|p| !p.is_buffer).map(|p| p.numel).sum()
}
