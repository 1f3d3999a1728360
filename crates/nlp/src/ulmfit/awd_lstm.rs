//! AWD-LSTM (Merity et al., "Regularizing and Optimizing LSTM Language Models"), as fastai's
//! `AWD_LSTM` builds it: an embedding, three LSTM layers (the last one as wide as the
//! embedding, so that a language model can tie its decoder to it), weight dropout on each
//! layer's hidden-to-hidden matrix, embedding dropout, and dropout on the input and between the
//! layers with one mask per sequence.
//!
//! The layers run on core's [`lstm`](kindling_core::nn::lstm) kernel.

use std::sync::{Arc, Mutex};

use burn::module::{Module, Param};
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use kindling_core::nn::{LstmOutput, lstm};
use serde::{Deserialize, Serialize};

use super::dropout::{embedding_dropout, rnn_dropout, weight_dropout};

/// An AWD-LSTM's sizes and dropout probabilities (fastai's `awd_lstm_lm_config` and
/// `awd_lstm_clas_config`, the probabilities already multiplied by `drop_mult`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AwdLstmConfig {
    /// Words in the vocabulary.
    pub vocab_size: usize,
    /// Embedding width (fastai: 400); also the last layer's hidden size.
    pub emb_sz: usize,
    /// Hidden size of the other layers (fastai: 1152).
    pub n_hid: usize,
    /// LSTM layers (fastai: 3).
    pub n_layers: usize,
    /// The padding token's id (fastai: 1, `xxpad`).
    pub pad_token: u32,
    /// Dropout on the embedded input (`RNNDropout`).
    pub input_p: f64,
    /// Dropout between LSTM layers (`RNNDropout`).
    pub hidden_p: f64,
    /// Whole words dropped from the embedding matrix (`EmbeddingDropout`).
    pub embed_p: f64,
    /// Dropout on the hidden-to-hidden weights (`WeightDropout`).
    pub weight_p: f64,
    /// Dropout on the encoder's output: before the language model's decoder, or the classifier
    /// head's first layer.
    pub output_p: f64,
}

impl AwdLstmConfig {
    /// fastai's `awd_lstm_lm_config` with every dropout multiplied by `drop_mult`.
    ///
    /// ```
    /// let c = kindling_nlp::ulmfit::AwdLstmConfig::language_model(8000, 0.3);
    /// assert_eq!((c.emb_sz, c.n_hid, c.n_layers), (400, 1152, 3));
    /// assert!((c.weight_p - 0.06).abs() < 1e-12);
    /// ```
    pub fn language_model(vocab_size: usize, drop_mult: f64) -> Self {
        Self::base(vocab_size, drop_mult, [0.25, 0.15, 0.02, 0.2, 0.1])
    }

    /// fastai's `awd_lstm_clas_config` with every dropout multiplied by `drop_mult`.
    pub fn classifier(vocab_size: usize, drop_mult: f64) -> Self {
        Self::base(vocab_size, drop_mult, [0.4, 0.3, 0.05, 0.5, 0.4])
    }

    fn base(vocab_size: usize, drop_mult: f64, [input_p, hidden_p, embed_p, weight_p, output_p]: [f64; 5]) -> Self {
        Self {
            vocab_size,
            emb_sz: 400,
            n_hid: 1152,
            n_layers: 3,
            pad_token: 1,
            input_p: input_p * drop_mult,
            hidden_p: hidden_p * drop_mult,
            embed_p: embed_p * drop_mult,
            weight_p: weight_p * drop_mult,
            output_p: output_p * drop_mult,
        }
    }

    /// The input and hidden sizes of layer `l`.
    pub fn layer_sizes(&self, l: usize) -> (usize, usize) {
        let n_in = if l == 0 { self.emb_sz } else { self.n_hid };
        let n_out = if l + 1 == self.n_layers { self.emb_sz } else { self.n_hid };
        (n_in, n_out)
    }

    /// The encoder with fastai's initialisation: the embedding uniform in ±0.1, the LSTM
    /// weights and biases uniform in ±1/√hidden (PyTorch's `nn.LSTM`).
    pub fn init(&self, device: &Device) -> AwdLstm {
        let encoder = Param::from_tensor(Tensor::random([self.vocab_size, self.emb_sz], Distribution::Uniform(-0.1, 0.1), device));
        let rnns = (0..self.n_layers)
            .map(|l| {
                let (n_in, n_hid) = self.layer_sizes(l);
                LstmLayer::init(n_in, n_hid, self.weight_p, device)
            })
            .collect();
        AwdLstm { encoder, rnns, input_p: self.input_p, hidden_p: self.hidden_p, embed_p: self.embed_p }
    }
}

/// One LSTM layer with weight dropout on its hidden-to-hidden matrix (PyTorch's
/// `nn.LSTM(n_in, n_hid, batch_first=True)` inside fastai's `WeightDropout`).
#[derive(Module, Debug)]
pub struct LstmLayer {
    /// Input-to-hidden weights `[4·hidden, n_in]` (gates: input, forget, cell, output).
    pub weight_ih: Param<Tensor<2>>,
    /// Hidden-to-hidden weights `[4·hidden, hidden]`, before dropout.
    pub weight_hh: Param<Tensor<2>>,
    /// Input bias `[4·hidden]`.
    pub bias_ih: Param<Tensor<1>>,
    /// Hidden bias `[4·hidden]`.
    pub bias_hh: Param<Tensor<1>>,
    /// Weight dropout probability.
    pub weight_p: f64,
}

impl LstmLayer {
    /// A layer initialised as PyTorch does: every weight uniform in ±1/√hidden.
    pub fn init(n_in: usize, n_hid: usize, weight_p: f64, device: &Device) -> Self {
        let k = 1.0 / (n_hid as f64).sqrt();
        let u = Distribution::Uniform(-k, k);
        Self {
            weight_ih: Param::from_tensor(Tensor::random([4 * n_hid, n_in], u, device)),
            weight_hh: Param::from_tensor(Tensor::random([4 * n_hid, n_hid], u, device)),
            bias_ih: Param::from_tensor(Tensor::random([4 * n_hid], u, device)),
            bias_hh: Param::from_tensor(Tensor::random([4 * n_hid], u, device)),
            weight_p,
        }
    }

    /// Hidden size.
    pub fn hidden(&self) -> usize {
        self.weight_hh.dims()[1]
    }

    /// `x` `[batch, steps, n_in]` from the states `h0`, `c0` `[batch, hidden]`.
    pub fn forward(&self, x: Tensor<3>, h0: Tensor<2>, c0: Tensor<2>) -> LstmOutput {
        let [b, t, n_in] = x.dims();
        let g4 = self.weight_ih.dims()[0];
        let bias = (self.bias_ih.val() + self.bias_hh.val()).reshape([1, g4]);
        let xw = x.reshape([b * t, n_in]).matmul(self.weight_ih.val().transpose()) + bias;
        let w_hh = weight_dropout(self.weight_hh.val(), self.weight_p);
        lstm(xw.reshape([b, t, g4]), w_hh, h0, c0)
    }
}

/// The AWD-LSTM encoder: token ids to the last layer's hidden states.
#[derive(Module, Debug)]
pub struct AwdLstm {
    /// The embedding matrix `[vocab, emb_sz]` (a language model's decoder shares it).
    pub encoder: Param<Tensor<2>>,
    /// The LSTM layers.
    pub rnns: Vec<LstmLayer>,
    /// Input dropout.
    pub input_p: f64,
    /// Dropout between layers.
    pub hidden_p: f64,
    /// Embedding dropout.
    pub embed_p: f64,
}

/// Each layer's `(h, c)`, detached, carried from one call to the next.
pub type States = Vec<(Tensor<2>, Tensor<2>)>;

impl AwdLstm {
    /// Zero states for `batch` sequences on `device`.
    pub fn zero_states(&self, batch: usize, device: &Device) -> States {
        self.rnns
            .iter()
            .map(|r| (Tensor::zeros([batch, r.hidden()], device), Tensor::zeros([batch, r.hidden()], device)))
            .collect()
    }

    /// The last layer's hidden states `[batch, steps, emb_sz]` for `ids` `[batch, steps]`,
    /// starting from `states` (zeros when `None`), and the states to carry on from.
    pub fn forward(&self, ids: Tensor<2, Int>, states: Option<States>) -> (Tensor<3>, States) {
        let [b, _] = ids.dims();
        let device = ids.device();
        let states = states.unwrap_or_else(|| self.zero_states(b, &device));
        let w = embedding_dropout(self.encoder.val(), self.embed_p);
        let mut x = rnn_dropout(burn::tensor::module::embedding(w, ids), self.input_p);
        let mut next = Vec::with_capacity(self.rnns.len());
        let last = self.rnns.len().saturating_sub(1);
        for (l, (rnn, (h0, c0))) in self.rnns.iter().zip(states).enumerate() {
            let out = rnn.forward(x, h0, c0);
            next.push((out.h, out.c));
            x = if l == last { out.output } else { rnn_dropout(out.output, self.hidden_p) };
        }
        (x, next)
    }
}

/// A model's recurrent state kept between batches (a language model reads its corpus as
/// contiguous streams), held on the host so that it moves freely between the training
/// and evaluation copies of the model. Clones share it.
#[derive(Clone, Debug, Default)]
pub struct CarriedState(Arc<Mutex<Option<Vec<(TensorData, TensorData)>>>>);

impl CarriedState {
    /// Forgets the state: the next batch starts from zeros.
    pub fn reset(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The state for a batch of `batch` sequences on `device`, if one is kept and fits.
    pub fn take(&self, batch: usize, device: &Device) -> Option<States> {
        let guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let kept = guard.as_ref()?;
        if kept.first().is_some_and(|(h, _)| h.shape().first() != Some(&batch)) {
            return None;
        }
        Some(kept.iter().map(|(h, c)| (Tensor::from_data(h.clone(), device), Tensor::from_data(c.clone(), device))).collect())
    }

    /// Keeps `states` for the next batch.
    pub fn keep(&self, states: &States) {
        let data = states.iter().map(|(h, c)| (h.to_data(), c.to_data())).collect();
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(data);
    }
}
