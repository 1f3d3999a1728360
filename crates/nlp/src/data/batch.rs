//! Tokenized texts as items, batches padded to their own longest text, and the loaders that
//! put texts of similar lengths together (fastai's `SortedDL`).

use std::sync::Arc;

use burn::tensor::{Device, Int, Tensor, TensorData};
use kindling_core::data::{Batcher, DataLoader, DataLoaders, LoaderConfig, SplitKind, VecDataset};
use kindling_core::learner::{Batch, Target};
use kindling_core::{Error, Result};

use super::source::TextData;

/// What a text is labelled with, as the loss wants it.
#[derive(Clone, Debug, PartialEq)]
pub enum TextTarget {
    /// A class index (single-label).
    Class(usize),
    /// Values: multi-hot labels (multi-label) or one number (regression).
    Values(Vec<f32>),
}

/// One tokenized text and its target.
#[derive(Clone, Debug, PartialEq)]
pub struct TextItem {
    /// Token ids, special tokens included, at most `max_len`.
    pub ids: Vec<u32>,
    /// Its label.
    pub target: TextTarget,
}

/// A batch of texts: token ids `[batch, longest]` padded with the tokenizer's pad id, the
/// attention mask (1 on tokens, 0 on padding) and the targets (`Target::Classes` for classes,
/// `Target::Values [batch, n_labels]` multi-hot for multi-label, `[batch, 1]` for regression).
#[derive(Clone, Debug)]
pub struct TextBatch {
    /// Token ids.
    pub ids: Tensor<2, Int>,
    /// Attention mask.
    pub mask: Tensor<2, Int>,
    /// Targets.
    pub target: Target,
}

impl Batch for TextBatch {
    fn target(&self) -> Target {
        self.target.clone()
    }
}

/// Token ids padded with `pad` to the longest of `seqs` (at least 1 wide), and their attention
/// mask, as `[seqs, longest]` tensors on `device`.
pub fn pad_ids(seqs: &[&[u32]], pad: u32, device: &Device) -> (Tensor<2, Int>, Tensor<2, Int>) {
    let n = seqs.len();
    let longest = seqs.iter().map(|s| s.len()).max().unwrap_or(0).max(1);
    let mut ids = vec![pad as i64; n * longest];
    let mut mask = vec![0i64; n * longest];
    for (r, s) in seqs.iter().enumerate() {
        for (c, &id) in s.iter().enumerate() {
            ids[r * longest + c] = id as i64;
            mask[r * longest + c] = 1;
        }
    }
    (Tensor::from_data(TensorData::new(ids, [n, longest]), device), Tensor::from_data(TensorData::new(mask, [n, longest]), device))
}

/// Runs `f` on tokenized texts in batches of `bs` texts of similar lengths (longest first), each
/// padded with `pad` to its own longest, and returns the rows of `f`'s `[batch, n]` outputs in
/// the order of `ids`: inference without computing padding.
pub fn rows_by_length(ids: &[Vec<u32>], bs: usize, pad: u32, device: &Device, f: impl Fn(Tensor<2, Int>, Tensor<2, Int>) -> Tensor<2>) -> Result<Vec<Vec<f32>>> {
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(ids[i].len()));
    let mut out = vec![Vec::new(); ids.len()];
    for chunk in order.chunks(bs.max(1)) {
        let seqs: Vec<&[u32]> = chunk.iter().map(|&i| ids[i].as_slice()).collect();
        let (ids_t, mask_t) = pad_ids(&seqs, pad, device);
        let rows = f(ids_t, mask_t);
        let n = rows.dims()[1];
        let values = rows.into_data().convert::<f32>().try_into_vec::<f32>().map_err(|e| Error::Data(format!("cannot read model outputs: {e:?}")))?;
        for (k, &i) in chunk.iter().enumerate() {
            out[i] = values[k * n..(k + 1) * n].to_vec();
        }
    }
    Ok(out)
}

/// Batches [`TextItem`]s, padding each batch to its own longest text.
#[derive(Clone, Copy, Debug)]
pub struct TextBatcher {
    /// The tokenizer's padding id.
    pub pad_id: u32,
}

impl Batcher<TextItem, TextBatch> for TextBatcher {
    fn batch(&self, items: Vec<TextItem>, device: &Device) -> Result<TextBatch> {
        let seqs: Vec<&[u32]> = items.iter().map(|it| it.ids.as_slice()).collect();
        let (ids, mask) = pad_ids(&seqs, self.pad_id, device);
        let n = items.len();
        let target = match items.first().map(|it| &it.target) {
            Some(TextTarget::Values(first)) => {
                let width = first.len();
                let mut flat = Vec::with_capacity(n * width);
                for (i, it) in items.iter().enumerate() {
                    match &it.target {
                        TextTarget::Values(v) if v.len() == width => flat.extend_from_slice(v),
                        other => return Err(Error::Data(format!("item {i} of the batch has target {other:?}, the first has {width} values"))),
                    }
                }
                Target::Values(Tensor::from_data(TensorData::new(flat, [n, width]), device))
            }
            _ => {
                let classes = items
                    .iter()
                    .enumerate()
                    .map(|(i, it)| match it.target {
                        TextTarget::Class(c) => Ok(c as i64),
                        ref other => Err(Error::Data(format!("item {i} of the batch has target {other:?}, the first a class"))),
                    })
                    .collect::<Result<Vec<i64>>>()?;
                Target::Classes(Tensor::from_data(TensorData::new(classes, [n]), device))
            }
        };
        Ok(TextBatch { ids, mask, target })
    }
}

/// The items of `data` with their token ids (`ids[i]` for text `i`, from
/// [`TextData::tokenize`]).
pub fn text_items(data: &TextData, ids: Vec<Vec<u32>>) -> Result<Vec<TextItem>> {
    if ids.len() != data.len() {
        return Err(Error::Data(format!("{} token lists for {} texts", ids.len(), data.len())));
    }
    Ok(ids.into_iter().enumerate().map(|(i, ids)| TextItem { ids, target: data.labels.target(i) }).collect())
}

/// Training and validation loaders over `data` tokenized as `ids`, batches of `bs` padded with
/// `pad_id`, on `device`.
///
/// Training batches hold texts of similar lengths, drawn afresh each epoch from `seed`
/// ([`DataLoader::with_length_buckets`], fastai's `SortedDL`); the last partial batch is
/// dropped (unless it is the only one). The validation loader goes through its texts longest
/// first, so its padding is minimal too: its [`indices`](DataLoader::indices) are the
/// validation positions of `data.splits` sorted by length (descending, ties in split order),
/// and predictions come in that order. `data.splits` and its [`SplitRecord`](TextData::split_record)
/// are unchanged.
pub fn text_loaders(data: &TextData, ids: Vec<Vec<u32>>, pad_id: u32, bs: usize, seed: u64, device: Device) -> Result<DataLoaders<TextItem, TextBatch>> {
    let lengths: Arc<Vec<usize>> = Arc::new(ids.iter().map(Vec::len).collect());
    let ds = Arc::new(VecDataset::new(text_items(data, ids)?));
    let batcher = Arc::new(TextBatcher { pad_id });
    let mut train_cfg = LoaderConfig::train(bs, seed);
    train_cfg.drop_last = data.splits.train.len() >= bs;
    let train = DataLoader::new(ds.clone(), data.splits.train.clone(), SplitKind::Train, batcher.clone(), train_cfg, device.clone())?
        .with_length_buckets(lengths.clone());
    let mut valid_idx = data.splits.valid.clone();
    valid_idx.sort_by_key(|&i| std::cmp::Reverse(lengths[i]));
    let valid = DataLoader::new(ds, valid_idx, SplitKind::Valid, batcher, LoaderConfig::valid(bs, seed), device)?.with_length_buckets(lengths);
    Ok(DataLoaders { train, valid })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_pad_to_their_longest_text() {
        let b = TextBatcher { pad_id: 7 };
        let items = vec![
            TextItem { ids: vec![1, 2, 3], target: TextTarget::Class(1) },
            TextItem { ids: vec![1, 2], target: TextTarget::Class(0) },
        ];
        let batch = b.batch(items, &Device::flex()).unwrap();
        assert_eq!(batch.ids.to_data().convert::<i64>().try_to_vec::<i64>().unwrap(), vec![1, 2, 3, 1, 2, 7]);
        assert_eq!(batch.mask.to_data().convert::<i64>().try_to_vec::<i64>().unwrap(), vec![1, 1, 1, 1, 1, 0]);
        assert!(matches!(batch.target, Target::Classes(ref t) if t.dims() == [2]));
        let items = vec![
            TextItem { ids: vec![1], target: TextTarget::Values(vec![1.0, 0.0, 1.0]) },
            TextItem { ids: vec![1, 5, 6, 2], target: TextTarget::Values(vec![0.0, 0.0, 1.0]) },
        ];
        let batch = b.batch(items, &Device::flex()).unwrap();
        assert_eq!(batch.ids.dims(), [2, 4]);
        assert!(matches!(batch.target, Target::Values(ref t) if t.dims() == [2, 3]));
        let mixed = vec![
            TextItem { ids: vec![1], target: TextTarget::Class(0) },
            TextItem { ids: vec![1], target: TextTarget::Values(vec![1.0]) },
        ];
        assert!(b.batch(mixed, &Device::flex()).unwrap_err().to_string().contains("item 1"));
    }
}
