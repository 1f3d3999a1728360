//! Sentence embeddings, as sentence-transformers computes them: the mean of the encoder's last
//! hidden state over a text's tokens, L2-normalised; nearest texts by cosine similarity; and
//! writing the vectors as `.npy` (NumPy) or safetensors.

use std::path::Path;

use burn::module::Module;
use burn::tensor::Device;
use kindling_core::{Error, Result};

use crate::model::{Encoder, load_hub, mean_pool};
use crate::data::rows_by_length;
use crate::tokenizer::TextTokenizer;

/// An encoder and its tokenizer, ready to embed texts.
pub struct Embedder {
    encoder: Encoder,
    tokenizer: TextTokenizer,
    max_len: usize,
    device: Device,
}

impl Embedder {
    /// The encoder and tokenizer of a Hugging Face Hub directory (`config.json`,
    /// `model.safetensors`, `tokenizer.json`), cutting texts at `max_len` tokens (at most the
    /// encoder's positions).
    pub fn from_hub(dir: &Path, max_len: usize, device: &Device) -> Result<Self> {
        let (config, encoder) = load_hub(dir, device)?;
        let tokenizer = TextTokenizer::from_file(&dir.join("tokenizer.json"))?;
        if max_len < 2 || max_len > config.max_tokens() {
            return Err(Error::invalid("--max-len", format!("{max_len}: this encoder reads 2 to {} tokens", config.max_tokens())));
        }
        Ok(Self { encoder: encoder.valid(), tokenizer, max_len, device: device.clone() })
    }

    /// An embedder from a fine-tuned model's encoder and tokenizer.
    pub fn new(encoder: Encoder, tokenizer: TextTokenizer, max_len: usize, device: &Device) -> Self {
        Self { encoder: encoder.valid(), tokenizer, max_len, device: device.clone() }
    }

    /// One unit-length vector per text, in order, computed in batches of `bs` texts of similar
    /// lengths.
    pub fn embed(&self, texts: &[&str], bs: usize) -> Result<Vec<Vec<f32>>> {
        let ids = self.tokenizer.encode_batch(texts, self.max_len)?;
        let pooled = rows_by_length(&ids, bs, self.tokenizer.pad_id(), &self.device, |ids, mask| mean_pool(self.encoder.forward(ids, mask.clone()), mask))?;
        Ok(pooled.iter().map(|v| normalise(v)).collect())
    }
}

/// `v / |v|` (a zero vector stays zero).
pub fn normalise(v: &[f32]) -> Vec<f32> {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if n > 0.0 { v.iter().map(|x| x / n).collect() } else { v.to_vec() }
}

/// The `k` rows of `vectors` most similar to `query` by cosine (all vectors unit length), best
/// first, as `(row, similarity)`.
///
/// ```
/// use kindling_nlp::embed::nearest;
/// let rows = vec![vec![1.0, 0.0], vec![0.0, 1.0], vec![0.6, 0.8]];
/// let best = nearest(&[0.0, 1.0], &rows, 2);
/// assert_eq!(best[0].0, 1);
/// assert_eq!(best[1].0, 2);
/// ```
pub fn nearest(query: &[f32], vectors: &[Vec<f32>], k: usize) -> Vec<(usize, f32)> {
    let mut scored: Vec<(usize, f32)> = vectors.iter().enumerate().map(|(i, v)| (i, v.iter().zip(query).map(|(a, b)| a * b).sum())).collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    scored.truncate(k);
    scored
}

/// The vectors (all of one length) as a little-endian `float32` `.npy` file of shape
/// `[rows, dim]`, written atomically.
pub fn write_npy(path: &Path, vectors: &[Vec<f32>]) -> Result<()> {
    let dim = vectors.first().map_or(0, Vec::len);
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({}, {dim}), }}", vectors.len());
    // The magic, version, header length and header take a multiple of 64 bytes, ending in '\n'.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + vectors.len() * dim * 4);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in vectors {
        for x in v {
            out.extend_from_slice(&x.to_le_bytes());
        }
    }
    kindling_core::io::write_atomic(path, &out)
}

/// The vectors as one safetensors tensor named `embeddings`, `[rows, dim]` float32, written
/// atomically.
pub fn write_safetensors(path: &Path, vectors: &[Vec<f32>]) -> Result<()> {
    let dim = vectors.first().map_or(0, Vec::len);
    let bytes: Vec<u8> = vectors.iter().flatten().flat_map(|x| x.to_le_bytes()).collect();
    let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![vectors.len(), dim], &bytes)
        .map_err(|e| Error::Data(format!("cannot write embeddings: {e}")))?;
    let data = safetensors::serialize([("embeddings", view)], None).map_err(|e| Error::Data(format!("cannot write embeddings: {e}")))?;
    kindling_core::io::write_atomic(path, &data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_header_is_aligned_and_data_follows() {
        let dir = std::env::temp_dir().join(format!("kindling-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("e.npy");
        write_npy(&p, &[vec![1.0, 2.0, 3.0], vec![4.0, 5.0, 6.0]]).unwrap();
        let b = std::fs::read(&p).unwrap();
        let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
        assert_eq!((10 + hl) % 64, 0);
        let header = std::str::from_utf8(&b[10..10 + hl]).unwrap();
        assert!(header.contains("'shape': (2, 3)"), "{header}");
        assert_eq!(b.len(), 10 + hl + 6 * 4);
        assert_eq!(f32::from_le_bytes(b[10 + hl + 20..10 + hl + 24].try_into().unwrap()), 6.0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn normalise_gives_unit_length() {
        let v = normalise(&[3.0, 4.0]);
        assert!((v[0] - 0.6).abs() < 1e-6 && (v[1] - 0.8).abs() < 1e-6);
        assert_eq!(normalise(&[0.0, 0.0]), vec![0.0, 0.0]);
    }
}
