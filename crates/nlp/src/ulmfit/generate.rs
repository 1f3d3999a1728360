//! Continuing a prompt with a language model (fastai's `LMLearner.predict`): the prompt is
//! tokenized and read, then each next word is drawn from the softmax of the last position
//! (`xxunk` never drawn, probabilities raised to `1 / temperature`), and the tokens are decoded
//! back to text (fastai's `decode_spec_tokens`: `xxmaj`, `xxup`, `xxrep`, `xxwrep` undone).
//!
//! The state is carried from one word to the next, so each word costs one step, not a pass
//! over the whole text as fastai's loop does (the same result without dropout).

use burn::tensor::{Int, Tensor, TensorData};
use kindling_core::{Error, Result, seed};
use rand::RngExt;

use super::language_model::LanguageModel;
use super::tokenize::FastaiTokenizer;
use super::tokenize::rules::{BOS, PAD, TK_MAJ, TK_REP, TK_UP, TK_WREP, UNK};
use super::vocab::Vocab;

/// `prompt` and `n_words` more words drawn from `lm` (on a device without autodiff).
pub fn generate(lm: &LanguageModel, tok: &FastaiTokenizer, vocab: &Vocab, prompt: &str, n_words: usize, temperature: f64, seed_value: u64) -> Result<String> {
    if !(temperature > 0.0 && temperature.is_finite()) {
        return Err(Error::invalid("temperature", format!("{temperature}: must be above 0")));
    }
    let device = lm.decoder_bias.device();
    let mut ids: Vec<u32> = vocab.numericalize(&tok.tokenize(prompt));
    let unk = vocab.index(UNK);
    let mut rng = seed::rng(seed_value, &[0x4745_4e45]);
    let mut input = ids.clone();
    let mut reset = true;
    for _ in 0..n_words {
        let x = Tensor::<2, Int>::from_data(TensorData::new(input.iter().map(|&i| i as i64).collect::<Vec<_>>(), [1, input.len()]), &device);
        let logits = lm.forward(x, reset).logits;
        reset = false;
        let n = logits.dims()[0];
        let last = logits.slice(burn::tensor::s![n - 1..n, ..]);
        let mut p = burn::tensor::activation::softmax(last, 1).into_data().convert::<f32>().try_to_vec::<f32>().map_err(|e| Error::Data(format!("{e:?}")))?;
        if let Some(u) = unk {
            p[u as usize] = 0.0;
        }
        if temperature != 1.0 {
            for v in &mut p {
                *v = v.powf((1.0 / temperature) as f32);
            }
        }
        let total: f64 = p.iter().map(|&v| v as f64).sum();
        let mut r = rng.random::<f64>() * total;
        let mut next = p.len() - 1;
        for (i, &v) in p.iter().enumerate() {
            r -= v as f64;
            if r <= 0.0 && v > 0.0 {
                next = i;
                break;
            }
        }
        ids.push(next as u32);
        input = vec![next as u32];
    }
    let tokens: Vec<&str> = ids.iter().filter_map(|&i| vocab.token(i)).filter(|t| *t != BOS && *t != PAD).collect();
    Ok(decode_spec_tokens(&tokens).join(" "))
}

/// fastai's `decode_spec_tokens`: `xxmaj w` → `W`, `xxup w` → `W` in capitals, `xxrep n c` →
/// `c` n times, `xxwrep n w` → `w` n times.
///
/// ```
/// use kindling_nlp::ulmfit::decode_spec_tokens;
/// let out = decode_spec_tokens(&["xxmaj", "hello", "xxup", "big", "xxrep", "3", "!", "xxwrep", "2", "very"]);
/// assert_eq!(out, ["Hello", "BIG", "!!!", "very", "very"]);
/// ```
pub fn decode_spec_tokens(tokens: &[&str]) -> Vec<String> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let t = tokens[i];
        let next = tokens.get(i + 1).copied();
        match (t, next) {
            (TK_MAJ, Some(w)) => {
                let mut c = w.chars();
                out.push(c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default());
                i += 2;
            }
            (TK_UP, Some(w)) => {
                out.push(w.to_uppercase());
                i += 2;
            }
            (TK_REP | TK_WREP, Some(n)) if n.parse::<usize>().is_ok() && i + 2 < tokens.len() => {
                let n: usize = n.parse().unwrap_or(1);
                let w = tokens[i + 2];
                if t == TK_REP {
                    out.push(w.repeat(n));
                } else {
                    out.extend(std::iter::repeat_n(w.to_string(), n));
                }
                i += 3;
            }
            _ => {
                out.push(t.to_string());
                i += 1;
            }
        }
    }
    out
}
