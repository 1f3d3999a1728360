//! The encoder: embeddings, a stack of post-norm transformer layers, and BERT's optional pooler.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, LayerNorm, Linear};
use kindling_core::nn::gelu;
use burn::tensor::{Device, Int, Tensor};

use super::attention::{SelfAttention, attention_bias};
use super::embeddings::Embeddings;
use super::init;
use super::pooling::Pooler;
use super::HubConfig;

/// One transformer layer, post-norm as in BERT: `x = LN(x + attention(x))`, then
/// `x = LN(x + W₂ GELU(W₁ x))`.
#[derive(Module, Debug)]
pub struct EncoderLayer {
    /// Self-attention (HF `attention.self` + `attention.output.dense`).
    pub attention: SelfAttention,
    /// The LayerNorm after attention (HF `attention.output.LayerNorm`; DistilBERT's
    /// `sa_layer_norm`).
    pub attention_norm: LayerNorm,
    /// The feed-forward expansion (HF `intermediate.dense`; DistilBERT's `ffn.lin1`).
    pub intermediate: Linear,
    /// The feed-forward projection back (HF `output.dense`; DistilBERT's `ffn.lin2`).
    pub output: Linear,
    /// The LayerNorm after the feed-forward (HF `output.LayerNorm`; DistilBERT's
    /// `output_layer_norm`).
    pub output_norm: LayerNorm,
    /// Dropout on each branch before its residual sum (training only).
    pub dropout: Dropout,
}

impl EncoderLayer {
    /// A random layer for `c`.
    pub fn init(c: &HubConfig, device: &Device) -> Self {
        let (h, i) = (c.hidden_size, c.intermediate_size);
        Self {
            attention: SelfAttention::init(c, device),
            attention_norm: init::layer_norm(h, c.layer_norm_eps, device),
            intermediate: init::linear(h, i, device),
            output: init::linear(i, h, device),
            output_norm: init::layer_norm(h, c.layer_norm_eps, device),
            dropout: DropoutConfig::new(c.hidden_dropout).init(),
        }
    }

    /// `[batch, tokens, hidden]` → the same shape; `bias` is [`attention_bias`]'s.
    pub fn forward(&self, x: Tensor<3>, bias: Tensor<4>) -> Tensor<3> {
        let a = self.dropout.forward(self.attention.forward(x.clone(), bias));
        let x = self.attention_norm.forward(a + x);
        let f = self.output.forward(gelu(self.intermediate.forward(x.clone())));
        self.output_norm.forward(self.dropout.forward(f) + x)
    }
}

/// A BERT-family encoder (BERT, MiniLM, RoBERTa, DistilBERT): token ids in, the last hidden
/// state out. Build it with [`HubConfig::init`] or load it with [`load_hub`](super::load_hub).
///
/// Dropout is active only while training: on an autodiff device, in a module not frozen. On a
/// plain device (or after `model.valid()`) the forward pass is deterministic.
#[derive(Module, Debug)]
pub struct Encoder {
    /// The input embeddings.
    pub embeddings: Embeddings,
    /// The transformer layers, first to last (HF `encoder.layer.N`; DistilBERT's
    /// `transformer.layer.N`).
    pub layers: Vec<EncoderLayer>,
    /// BERT's pooler, when the checkpoint has one.
    pub pooler: Option<Pooler>,
}

impl HubConfig {
    /// An encoder of this shape with random weights, initialised as Hugging Face does (normal,
    /// standard deviation 0.02; biases zero; LayerNorms the identity). It has a pooler when
    /// [`HubConfig::pooler`] says so.
    pub fn init(&self, device: &Device) -> Encoder {
        Encoder {
            embeddings: Embeddings::init(self, device),
            layers: (0..self.num_layers).map(|_| EncoderLayer::init(self, device)).collect(),
            pooler: self.pooler.then(|| Pooler::init(self.hidden_size, device)),
        }
    }
}

impl Encoder {
    /// The last hidden state, `[batch, tokens, hidden]`, of `[batch, tokens]` token ids with
    /// their attention mask (1 for a token, 0 for padding). Padding keys are left out of
    /// attention (a large negative score, as Hugging Face does); every token is of type 0.
    ///
    /// # Panics
    ///
    /// When `ids` and `mask` differ in shape, or there are more tokens than the model has
    /// positions ([`HubConfig::max_tokens`]).
    pub fn forward(&self, ids: Tensor<2, Int>, mask: Tensor<2, Int>) -> Tensor<3> {
        assert_eq!(ids.dims(), mask.dims(), "token ids and attention mask differ in shape");
        let bias = attention_bias(mask);
        let mut x = self.embeddings.forward(ids);
        for layer in &self.layers {
            x = layer.forward(x, bias.clone());
        }
        x
    }

    /// One vector per text, `[batch, hidden]`, from the first token (`[CLS]`/`<s>`) of the last
    /// hidden state: through the pooler (dense + tanh) when the encoder has one, as is.
    pub fn pool_cls(&self, hidden: Tensor<3>) -> Tensor<2> {
        let [b, _, h] = hidden.dims();
        let first = hidden.slice([0..b, 0..1]).reshape([b, h]);
        match &self.pooler {
            Some(p) => p.forward(first),
            None => first,
        }
    }

    /// The width of the hidden states.
    pub fn hidden_size(&self) -> usize {
        let [_, h] = self.embeddings.word_embeddings.weight.dims();
        h
    }
}
