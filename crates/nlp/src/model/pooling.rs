//! From hidden states to one vector per text: the mean over real tokens, or BERT's pooler.

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::{Device, Int, Tensor};

use super::init;

/// The mean of the hidden states over each text's real tokens (mask 1), padding left out:
/// `[batch, tokens, hidden]` and `[batch, tokens]` → `[batch, hidden]`. This is
/// sentence-transformers' mean pooling (a text with no token gives zeros).
pub fn mean_pool(hidden: Tensor<3>, mask: Tensor<2, Int>) -> Tensor<2> {
    let [b, t, h] = hidden.dims();
    let m = mask.float().reshape([b, t, 1]);
    let sum = (hidden * m.clone()).sum_dim(1).reshape([b, h]);
    let count = m.sum_dim(1).reshape([b, 1]).clamp_min(1e-9);
    sum / count
}

/// BERT's pooler: `tanh(dense(x))` on the first token's hidden state (HF `pooler.dense`).
#[derive(Module, Debug)]
pub struct Pooler {
    /// `hidden → hidden`.
    pub dense: Linear,
}

impl Pooler {
    /// A random pooler of width `hidden`.
    pub fn init(hidden: usize, device: &Device) -> Self {
        Self { dense: init::linear(hidden, hidden, device) }
    }

    /// `[batch, hidden]` → `[batch, hidden]`.
    pub fn forward(&self, first: Tensor<2>) -> Tensor<2> {
        self.dense.forward(first).tanh()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    #[test]
    fn mean_pool_leaves_padding_out() {
        let device = Device::flex();
        // Two texts of 3 tokens, width 2: the first has 2 real tokens, the second 3.
        let hidden = Tensor::<3>::from_data(
            TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0, 100.0, 100.0, 1.0, 1.0, 2.0, 2.0, 6.0, 0.0], [2, 3, 2]),
            &device,
        );
        let mask = Tensor::<2, Int>::from_data(TensorData::new(vec![1i64, 1, 0, 1, 1, 1], [2, 3]), &device);
        let pooled = mean_pool(hidden, mask).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(pooled, vec![2.0, 3.0, 3.0, 1.0]);
    }

    #[test]
    fn mean_pool_of_an_empty_text_is_zero() {
        let device = Device::flex();
        let hidden = Tensor::<3>::ones([1, 2, 3], &device);
        let mask = Tensor::<2, Int>::zeros([1, 2], &device);
        let pooled = mean_pool(hidden, mask).into_data().try_to_vec::<f32>().unwrap();
        assert_eq!(pooled, vec![0.0; 3]);
    }
}
