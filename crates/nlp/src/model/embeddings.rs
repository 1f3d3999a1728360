//! The input embeddings: word + position (+ token type 0), then LayerNorm and dropout.

use burn::module::Module;
use burn::nn::{Dropout, DropoutConfig, Embedding, LayerNorm};
use burn::tensor::{Device, Int, Tensor};

use super::HubConfig;
use super::init;

/// BERT's `embeddings` (HF keys `embeddings.word_embeddings`, `.position_embeddings`,
/// `.token_type_embeddings`, `.LayerNorm`).
#[derive(Module, Debug)]
pub struct Embeddings {
    /// One row per token id, `[vocab_size, hidden]`.
    pub word_embeddings: Embedding,
    /// One row per position id, `[max_positions, hidden]`.
    pub position_embeddings: Embedding,
    /// One row per token type, `[type_vocab_size, hidden]`; absent for DistilBERT. Every token
    /// is of type 0.
    pub token_type_embeddings: Option<Embedding>,
    /// The LayerNorm over the sum.
    pub layer_norm: LayerNorm,
    /// Dropout after it (training only).
    pub dropout: Dropout,
    /// The position id of the first token (RoBERTa: `pad_token_id + 1`; otherwise 0).
    pub position_offset: usize,
}

impl Embeddings {
    /// Random embeddings for `c` (weights ~ N(0, 0.02²)).
    pub fn init(c: &HubConfig, device: &Device) -> Self {
        let h = c.hidden_size;
        Self {
            word_embeddings: init::embedding(c.vocab_size, h, device),
            position_embeddings: init::embedding(c.max_positions, h, device),
            token_type_embeddings: (c.type_vocab_size > 0).then(|| init::embedding(c.type_vocab_size, h, device)),
            layer_norm: init::layer_norm(h, c.layer_norm_eps, device),
            dropout: DropoutConfig::new(c.hidden_dropout).init(),
            position_offset: c.position_offset,
        }
    }

    /// `[batch, tokens]` ids → `[batch, tokens, hidden]` embeddings.
    ///
    /// Token `i` gets position id `position_offset + i`. For RoBERTa this is what Hugging Face
    /// computes for every real token of a right-padded input (it counts non-padding tokens from
    /// `pad_token_id + 1`); padding tokens, which Hugging Face gives position `pad_token_id`,
    /// get the next ids instead — their hidden states differ, but they are masked out of
    /// attention and of pooling, so no real token's output changes.
    ///
    /// # Panics
    ///
    /// When there are more tokens than position ids (see [`HubConfig::max_tokens`]).
    pub fn forward(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        let [_, t] = ids.dims();
        let positions = self.position_embeddings.weight.val();
        let [rows, _] = positions.dims();
        assert!(
            self.position_offset + t <= rows,
            "an input of {t} tokens is longer than the model's {} positions: cut texts to at most that many tokens",
            rows.saturating_sub(self.position_offset)
        );
        // Rows of the tables are sliced rather than looked up: the positions and the token type
        // are the same for every text of the batch, and broadcast over it.
        let mut x = self.word_embeddings.forward(ids) + positions.slice(self.position_offset..self.position_offset + t).unsqueeze::<3>();
        if let Some(types) = &self.token_type_embeddings {
            x = x + types.weight.val().slice(0..1).unsqueeze::<3>();
        }
        self.dropout.forward(self.layer_norm.forward(x))
    }
}
