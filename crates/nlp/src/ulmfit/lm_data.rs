//! fastai's `LMDataLoader`: a corpus of documents read as `bs` contiguous streams, `seq_len`
//! tokens at a time, each batch's targets its inputs shifted by one token.
//!
//! The documents (in a new seeded order each training epoch, as fastai shuffles them) are
//! joined into one stream; the stream, less its last token and cut to a multiple of `bs`, is
//! split into `bs` rows of `bl` tokens; batch `j` is columns `j·seq_len ..` of every row (the
//! last batch shorter). So row `r` of batch `j + 1` continues row `r` of batch `j`, and a
//! language model carries its hidden state from one batch to the next.
//!
//! fastai 2 reads fixed-length windows (`seq_len` 72, the last one shorter); fastai 1's
//! randomised BPTT length is not what the reference fastai does, so it is not done here.

use std::sync::Arc;

use burn::tensor::{Device, Int, Tensor, TensorData};
use kindling_core::data::loader::BatchIter;
use kindling_core::learner::{Batch, Loader, Target};
use kindling_core::{Error, Result, seed};

/// A batch of a language model: inputs `[bs, seq]`, targets flattened `[bs·seq]`, and whether
/// it starts an epoch (the model then forgets its carried state).
#[derive(Clone, Debug)]
pub struct LmBatch {
    /// Input token ids.
    pub x: Tensor<2, Int>,
    /// The next token of each input position, row-major.
    pub y: Tensor<1, Int>,
    /// The first batch of a pass: start from zero states.
    pub reset: bool,
}

impl Batch for LmBatch {
    fn target(&self) -> Target {
        Target::Classes(self.y.clone())
    }
}

/// See the module doc.
pub struct LmLoader {
    docs: Arc<Vec<Vec<u32>>>,
    bs: usize,
    seq_len: usize,
    shuffle: bool,
    seed: u64,
    device: Device,
    /// Tokens per row.
    bl: usize,
    n_batches: usize,
}

impl LmLoader {
    /// A loader over `docs` (token ids). `shuffle` reorders the documents every epoch (the
    /// training set); the validation set keeps its order. Errors when the corpus is too small
    /// to give one token per stream.
    pub fn new(docs: Arc<Vec<Vec<u32>>>, bs: usize, seq_len: usize, shuffle: bool, seed: u64, device: Device) -> Result<Self> {
        if bs == 0 || seq_len == 0 {
            return Err(Error::invalid("bs/seq_len", "the batch size and sequence length must be at least 1"));
        }
        let total: usize = docs.iter().map(Vec::len).sum();
        let bl = total.saturating_sub(1) / bs;
        if bl == 0 {
            return Err(Error::Data(format!(
                "a language model needs more text: {} documents hold {total} tokens, fewer than one per stream plus one (bs {bs})",
                docs.len()
            )));
        }
        let n_batches = bl.div_ceil(seq_len);
        Ok(Self { docs, bs, seq_len, shuffle, seed, device, bl, n_batches })
    }

    /// The token stream of `epoch`: the documents joined in that epoch's order.
    fn stream(&self, epoch: usize) -> Vec<u32> {
        let order: Vec<usize> = if self.shuffle {
            seed::permutation(self.docs.len(), &mut seed::rng(self.seed, &[0x4c4d_444c, epoch as u64]))
        } else {
            (0..self.docs.len()).collect()
        };
        let mut s = Vec::with_capacity(self.bs * self.bl + 1);
        for i in order {
            s.extend_from_slice(&self.docs[i]);
            if s.len() > self.bs * self.bl {
                break;
            }
        }
        s
    }

    /// Tokens per stream (fastai's `bl`).
    pub fn stream_len(&self) -> usize {
        self.bl
    }
}

impl Loader<LmBatch> for LmLoader {
    fn batches(&self, epoch: usize) -> BatchIter<LmBatch> {
        let stream = self.stream(epoch);
        let (bs, bl, seq_len, n, device) = (self.bs, self.bl, self.seq_len, self.n_batches, self.device.clone());
        let iter = (0..n).map(move |j| {
            let st = j * seq_len;
            let sl = seq_len.min(bl - st);
            let mut x = Vec::with_capacity(bs * sl);
            let mut y = Vec::with_capacity(bs * sl);
            for r in 0..bs {
                let at = r * bl + st;
                x.extend(stream[at..at + sl].iter().map(|&t| t as i64));
                y.extend(stream[at + 1..at + sl + 1].iter().map(|&t| t as i64));
            }
            Ok(LmBatch {
                x: Tensor::from_data(TensorData::new(x, [bs, sl]), &device),
                y: Tensor::from_data(TensorData::new(y, [bs * sl]), &device),
                reset: j == 0,
            })
        });
        BatchIter::from_iter(iter, epoch)
    }
    fn n_batches(&self) -> usize {
        self.n_batches
    }
    fn n_items(&self) -> usize {
        self.bs * self.bl
    }
    fn device(&self) -> &Device {
        &self.device
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(t: &Tensor<2, Int>) -> Vec<i64> {
        t.to_data().convert::<i64>().try_to_vec::<i64>().unwrap()
    }

    #[test]
    fn streams_are_contiguous_across_batches() {
        // 3 documents, 23 tokens: bs 2 → 11 tokens per stream; seq_len 4 → batches of 4, 4, 3.
        let docs = Arc::new(vec![(0..10).collect(), (10..15).collect(), (15..23).collect()]);
        let dl = LmLoader::new(docs, 2, 4, false, 0, Device::flex()).unwrap();
        assert_eq!((dl.n_batches(), dl.stream_len()), (3, 11));
        let batches: Vec<LmBatch> = dl.batches(0).map(|b| b.unwrap()).collect();
        assert_eq!(ids(&batches[0].x), vec![0, 1, 2, 3, 11, 12, 13, 14]);
        assert_eq!(batches[0].y.to_data().convert::<i64>().try_to_vec::<i64>().unwrap(), vec![1, 2, 3, 4, 12, 13, 14, 15]);
        assert_eq!(ids(&batches[1].x), vec![4, 5, 6, 7, 15, 16, 17, 18]);
        assert_eq!(ids(&batches[2].x), vec![8, 9, 10, 19, 20, 21]);
        assert!(batches[0].reset && !batches[1].reset);
    }

    #[test]
    fn shuffles_documents_per_epoch_and_refuses_a_tiny_corpus() {
        let docs: Arc<Vec<Vec<u32>>> = Arc::new((0..20).map(|d| vec![d; 5]).collect());
        let dl = LmLoader::new(docs.clone(), 2, 10, true, 7, Device::flex()).unwrap();
        let first = |e| ids(&dl.batches(e).next().unwrap().unwrap().x);
        assert_eq!(first(0), first(0));
        assert_ne!(first(0), first(1));
        assert!(LmLoader::new(Arc::new(vec![vec![1, 2]]), 4, 72, false, 0, Device::flex()).is_err());
    }
}
