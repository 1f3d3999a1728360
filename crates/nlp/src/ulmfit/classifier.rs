//! The ULMFiT text classifier (fastai's `get_text_classifier`): the AWD-LSTM encoder read in
//! `bptt`-token chunks (fastai's `SentenceEncoder`: the state carried and detached between
//! chunks, only the last `max_len` tokens of each text pooled), then `PoolingLinearClassifier`:
//! the last hidden state, the max and the mean over the text's tokens (padding masked out),
//! concatenated, into two `LinBnDrop` layers (`[3·emb, 50, n_class]`).
//!
//! Texts are padded at their end (fastai pads whole chunks in front and skips them): the LSTM
//! reads left to right, so padding after a text changes nothing of what it computes over the
//! text, and the pooling leaves the padding out.

use burn::module::Module;
use burn::tensor::{Bool, Device, Int, Tensor, TensorData};
use kindling_core::learner::TaskModel;
use kindling_core::nn::{LinBnDrop, LinBnDropConfig};
use kindling_core::optim::ParamGroups;
use serde::{Deserialize, Serialize};

use super::awd_lstm::{AwdLstm, AwdLstmConfig};
use super::language_model::{AR_ALPHA, TAR_BETA, activation_penalty};
use crate::data::TextBatch;

/// fastai's `SentenceEncoder` chunk length (`seq_len`, 72).
pub const BPTT: usize = 72;
/// fastai's `max_len` for classification: the last 72 × 20 tokens are pooled.
pub const MAX_LEN: usize = 72 * 20;

/// What a ULMFiT classifier is built from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AwdClassifierConfig {
    /// The encoder (fastai's `awd_lstm_clas_config` × `drop_mult`).
    pub encoder: AwdLstmConfig,
    /// Classes.
    pub n_class: usize,
    /// Hidden widths of the head between the pooled features and the output (fastai: `[50]`).
    pub lin_ftrs: Vec<usize>,
    /// Chunk length.
    pub bptt: usize,
    /// Tokens pooled at most (the last ones).
    pub max_len: usize,
}

impl AwdClassifierConfig {
    /// fastai's `text_classifier_learner(dls, AWD_LSTM, drop_mult)` defaults.
    pub fn new(vocab_size: usize, n_class: usize, drop_mult: f64) -> Self {
        Self { encoder: AwdLstmConfig::classifier(vocab_size, drop_mult), n_class, lin_ftrs: vec![50], bptt: BPTT, max_len: MAX_LEN }
    }

    /// The classifier around `encoder` (from a language model, or fresh), the head initialised.
    pub fn init_with(&self, encoder: AwdLstm, device: &Device) -> AwdClassifier {
        let mut dims = vec![3 * self.encoder.emb_sz];
        dims.extend(&self.lin_ftrs);
        dims.push(self.n_class);
        // fastai: `ps = [output_p] + [0.1] * len(lin_ftrs)`, ReLU on all but the last layer.
        let ps: Vec<f64> = std::iter::once(self.encoder.output_p).chain(self.lin_ftrs.iter().map(|_| 0.1)).collect();
        let n = dims.len() - 1;
        let layers = (0..n)
            .map(|i| LinBnDropConfig::new(dims[i], dims[i + 1]).with_p(ps[i]).with_act(i + 1 < n).with_lin_first(false).init(device))
            .collect();
        AwdClassifier { encoder, layers, bptt: self.bptt, max_len: self.max_len, pad: self.encoder.pad_token }
    }

    /// A classifier with random weights everywhere.
    pub fn init(&self, device: &Device) -> AwdClassifier {
        self.init_with(self.encoder.init(device), device)
    }

    /// fastai's `awd_lstm_clas_split`: the embedding, each LSTM layer, then the head; so
    /// `freeze_to(n_groups - 2)` is fastai's `freeze_to(-2)`.
    pub fn param_groups(&self) -> ParamGroups {
        let mut names = vec!["encoder.encoder".to_string()];
        names.extend((0..self.encoder.n_layers).map(|l| format!("encoder.rnns.{l}")));
        ParamGroups::by_prefix(&names.iter().map(String::as_str).collect::<Vec<_>>())
    }
}

/// See the module doc.
#[derive(Module, Debug)]
pub struct AwdClassifier {
    /// The AWD-LSTM encoder.
    pub encoder: AwdLstm,
    /// The head.
    pub layers: Vec<LinBnDrop>,
    /// Chunk length.
    pub bptt: usize,
    /// Tokens pooled at most.
    pub max_len: usize,
    /// Padding id.
    pub pad: u32,
}

impl AwdClassifier {
    /// The encoder's outputs over the chunks that hold pooled tokens `[batch, kept, emb]`, the
    /// pooling mask over them `[batch, kept]` (true on a pooled token), and the position of
    /// each text's last token in them.
    fn encode(&self, ids: Tensor<2, Int>, lens: &[usize]) -> (Tensor<3>, Vec<bool>, Vec<i64>, usize) {
        let [b, l] = ids.dims();
        let device = ids.device();
        let from: Vec<usize> = lens.iter().map(|&n| n.saturating_sub(self.max_len)).collect();
        let mut states = None;
        let (mut outs, mut kept_start) = (Vec::new(), None);
        let bptt = self.bptt.max(1);
        for start in (0..l).step_by(bptt) {
            let end = (start + bptt).min(l);
            let chunk = ids.clone().slice(burn::tensor::s![.., start..end]);
            let (o, st) = self.encoder.forward(chunk, states);
            states = Some(st);
            // Keep the chunk when some text has pooled tokens in it (and everything after).
            if kept_start.is_none() && (0..b).any(|r| from[r] < end && start < lens[r]) {
                kept_start = Some(start);
            }
            if kept_start.is_some() {
                outs.push(o);
            }
        }
        let k0 = kept_start.unwrap_or(0);
        let out = if outs.is_empty() { Tensor::zeros([b, 1, self.encoder.encoder.dims()[1]], &device) } else { Tensor::cat(outs, 1) };
        let kept = out.dims()[1];
        let mut mask = vec![false; b * kept];
        for r in 0..b {
            for p in from[r].max(k0)..lens[r].min(k0 + kept) {
                mask[r * kept + p - k0] = true;
            }
        }
        let last = lens.iter().map(|&n| (n.max(1) - 1).saturating_sub(k0) as i64).collect();
        (out, mask, last, kept)
    }

    /// Logits `[batch, n_class]` and the encoder output the activation penalty is taken on.
    pub fn forward_with_output(&self, ids: Tensor<2, Int>, lens: &[usize]) -> (Tensor<2>, Tensor<3>) {
        let [b, _] = ids.dims();
        let device = ids.device();
        let (out, mask, last, kept) = self.encode(ids, lens);
        let e = out.dims()[2];
        let keep = Tensor::<2, Bool>::from_data(TensorData::new(mask.clone(), [b, kept]), &device).reshape([b, kept, 1]);
        let weights = Tensor::<2>::from_data(TensorData::new(mask.iter().map(|&m| f32::from(m)).collect::<Vec<f32>>(), [b, kept]), &device);
        let counts = weights.clone().sum_dim(1).clamp_min(1.0); // [b, 1]
        let avg = (out.clone() * weights.reshape([b, kept, 1])).sum_dim(1).reshape([b, e]) / counts;
        let max = out.clone().mask_fill(keep.bool_not().expand([b, kept, e]), f32::NEG_INFINITY).max_dim(1).reshape([b, e]);
        let idx = Tensor::<3, Int>::from_data(TensorData::new(last, [b, 1, 1]), &device).expand([b, 1, e]);
        let last = out.clone().gather(1, idx).reshape([b, e]);
        let mut x = Tensor::cat(vec![last, max, avg], 1);
        for layer in &self.layers {
            x = layer.forward(x);
        }
        (x, out)
    }

    /// Logits `[batch, n_class]` for padded `ids` whose texts have `lens` tokens.
    pub fn forward(&self, ids: Tensor<2, Int>, lens: &[usize]) -> Tensor<2> {
        self.forward_with_output(ids, lens).0
    }
}

/// Each text's token count, from a batch's attention mask.
pub fn batch_lens(batch: &TextBatch) -> Vec<usize> {
    let m = batch.mask.clone().sum_dim(1).into_data().convert::<i64>().try_to_vec::<i64>().unwrap_or_default();
    m.into_iter().map(|v| v.max(0) as usize).collect()
}

impl TaskModel<TextBatch> for AwdClassifier {
    fn forward_batch(&self, batch: &TextBatch) -> Tensor<2> {
        self.forward(batch.ids.clone(), &batch_lens(batch))
    }

    fn forward_train(&self, batch: &TextBatch) -> (Tensor<2>, Option<Tensor<1>>) {
        let (logits, out) = self.forward_with_output(batch.ids.clone(), &batch_lens(batch));
        (logits, Some(activation_penalty(out.clone(), out, AR_ALPHA, TAR_BETA)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_after_a_text_changes_nothing() {
        let device = Device::flex();
        device.seed(5);
        let mut config = AwdClassifierConfig::new(50, 3, 0.0);
        (config.encoder.emb_sz, config.encoder.n_hid, config.bptt, config.max_len) = (8, 12, 4, 8);
        let model = config.init(&device);
        let text: Vec<i64> = vec![2, 7, 9, 11, 13, 4, 5, 8, 20, 21, 22];
        let alone = model.forward(Tensor::from_data(TensorData::new(text.clone(), [1, 11]), &device), &[11]);
        let mut padded = text.clone();
        padded.extend([1; 6]);
        let short: Vec<i64> = [2, 30, 31].into_iter().chain([1; 14]).collect();
        let ids: Vec<i64> = padded.into_iter().chain(short).collect();
        let both = model.forward(Tensor::from_data(TensorData::new(ids, [2, 17]), &device), &[11, 3]);
        let a = alone.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        let b = both.into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        for k in 0..3 {
            assert!((a[k] - b[k]).abs() < 1e-5, "{a:?} vs {b:?}");
        }
    }
}
