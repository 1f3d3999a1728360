//! The AWD-LSTM language model (fastai's `get_language_model`): the encoder, output dropout,
//! and a linear decoder over the vocabulary whose weight is the embedding matrix (tied), with
//! its own bias; the recurrent state carried from batch to batch; and fastai's activation
//! regularisation (`RNNRegularizer`: AR on the dropped output, TAR on the raw one) added to the
//! training loss.

use burn::module::{Module, Param};
use burn::tensor::{Device, Int, Tensor};
use kindling_core::learner::TaskModel;

use super::awd_lstm::{AwdLstm, AwdLstmConfig, CarriedState};
use super::dropout::rnn_dropout;
use super::lm_data::LmBatch;

/// fastai's `TextLearner` defaults for `RNNRegularizer`: `alpha` (AR) 2, `beta` (TAR) 1.
pub const AR_ALPHA: f64 = 2.0;
/// See [`AR_ALPHA`].
pub const TAR_BETA: f64 = 1.0;

/// See the module doc.
#[derive(Module, Debug)]
pub struct LanguageModel {
    /// The AWD-LSTM encoder; its embedding is also the decoder's weight.
    pub encoder: AwdLstm,
    /// The decoder's bias `[vocab]`.
    pub decoder_bias: Param<Tensor<1>>,
    /// Dropout before the decoder.
    pub output_p: f64,
    /// The state carried between batches.
    #[module(skip)]
    pub state: CarriedState,
}

impl AwdLstmConfig {
    /// A language model with fastai's initialisation (the decoder's bias zero).
    pub fn init_language_model(&self, device: &Device) -> LanguageModel {
        LanguageModel {
            encoder: self.init(device),
            decoder_bias: Param::from_tensor(Tensor::zeros([self.vocab_size], device)),
            output_p: self.output_p,
            state: CarriedState::default(),
        }
    }

    /// The parameter groups of fastai's `awd_lstm_lm_split`: one per LSTM layer, then the
    /// embedding with the decoder (trained alone when the model is frozen).
    pub fn lm_param_groups(&self) -> kindling_core::optim::ParamGroups {
        let names: Vec<String> = (0..self.n_layers).map(|l| format!("encoder.rnns.{l}")).collect();
        kindling_core::optim::ParamGroups::by_prefix(&names.iter().map(String::as_str).collect::<Vec<_>>())
    }
}

/// The outputs of one forward pass.
pub struct LmOutput {
    /// Logits `[batch·steps, vocab]`.
    pub logits: Tensor<2>,
    /// The encoder's output before dropout `[batch, steps, emb]`.
    pub raw: Tensor<3>,
    /// After the output dropout.
    pub dropped: Tensor<3>,
}

impl LanguageModel {
    /// Vocabulary size.
    pub fn vocab_size(&self) -> usize {
        self.decoder_bias.dims()[0]
    }

    /// Logits for `ids` `[batch, steps]`, continuing from the carried state unless `reset`
    /// (or the batch size changed), and keeping the new state.
    pub fn forward(&self, ids: Tensor<2, Int>, reset: bool) -> LmOutput {
        let [b, t] = ids.dims();
        if reset {
            self.state.reset();
        }
        let states = self.state.take(b, &ids.device());
        let (raw, next) = self.encoder.forward(ids, states);
        self.state.keep(&next);
        let dropped = rnn_dropout(raw.clone(), self.output_p);
        let e = dropped.dims()[2];
        let logits = dropped.clone().reshape([b * t, e]).matmul(self.encoder.encoder.val().transpose()) + self.decoder_bias.val().reshape([1, self.vocab_size()]);
        LmOutput { logits, raw, dropped }
    }
}

/// fastai's `RNNRegularizer` penalty: `alpha · mean(dropped²) + beta · mean((raw[t+1] − raw[t])²)`.
pub fn activation_penalty(raw: Tensor<3>, dropped: Tensor<3>, alpha: f64, beta: f64) -> Tensor<1> {
    let t = raw.dims()[1];
    let mut p = dropped.powi_scalar(2).mean().mul_scalar(alpha);
    if beta != 0.0 && t > 1 {
        let d = raw.clone().slice(burn::tensor::s![.., 1..t, ..]) - raw.slice(burn::tensor::s![.., 0..t - 1, ..]);
        p = p + d.powi_scalar(2).mean().mul_scalar(beta);
    }
    p
}

impl TaskModel<LmBatch> for LanguageModel {
    fn forward_batch(&self, batch: &LmBatch) -> Tensor<2> {
        self.forward(batch.x.clone(), batch.reset).logits
    }

    fn forward_train(&self, batch: &LmBatch) -> (Tensor<2>, Option<Tensor<1>>) {
        let out = self.forward(batch.x.clone(), batch.reset);
        (out.logits, Some(activation_penalty(out.raw, out.dropped, AR_ALPHA, TAR_BETA)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameter_count_matches_fastai() {
        // fastai's AWD-LSTM language model on an 8,000-word vocabulary has 23,481,280 parameters
        // (../shared/reference/fastai-golden.json): the decoder's weight is the embedding.
        let lm = AwdLstmConfig::language_model(8000, 1.0).init_language_model(&Device::flex());
        assert_eq!(kindling_core::nn::num_params(&lm), 23_481_280);
    }
}
