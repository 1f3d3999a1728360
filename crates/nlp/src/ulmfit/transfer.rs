//! Moving a language model to a new corpus's vocabulary (fastai's `load_pretrained` with
//! `match_embeds`): a word both vocabularies know keeps its embedding row and decoder bias; a
//! new word starts at the mean of the old rows (and the mean bias).

use burn::module::Param;
use burn::tensor::{Tensor, TensorData};
use kindling_core::{Error, Result};

use super::language_model::LanguageModel;
use super::vocab::Vocab;

/// `lm` (trained with vocabulary `old`) with its embedding and decoder bias rebuilt for `new`.
/// Returns how many of `new`'s words were known. Errors when `old` does not match the model.
pub fn match_embeds(mut lm: LanguageModel, old: &Vocab, new: &Vocab) -> Result<(LanguageModel, usize)> {
    let w = lm.encoder.encoder.val();
    let [n_old, e] = w.dims();
    if n_old != old.len() {
        return Err(Error::invalid("vocabulary", format!("the language model has {n_old} embeddings but its vocabulary {} words", old.len())));
    }
    let device = w.device();
    let read = |t: TensorData| t.convert::<f32>().try_to_vec::<f32>().map_err(|err| Error::Data(format!("cannot read the embeddings: {err:?}")));
    let (w, b) = (read(w.into_data())?, read(lm.decoder_bias.val().into_data())?);
    let mut mean = vec![0.0f64; e];
    for row in w.chunks(e) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += v as f64;
        }
    }
    let mean: Vec<f32> = mean.iter().map(|m| (m / n_old.max(1) as f64) as f32).collect();
    let mean_b = (b.iter().map(|&v| v as f64).sum::<f64>() / n_old.max(1) as f64) as f32;
    let (mut nw, mut nb, mut known) = (Vec::with_capacity(new.len() * e), Vec::with_capacity(new.len()), 0);
    for i in 0..new.len() {
        match new.token(i as u32).and_then(|t| old.index(t)) {
            Some(j) => {
                let j = j as usize;
                nw.extend_from_slice(&w[j * e..(j + 1) * e]);
                nb.push(b[j]);
                known += 1;
            }
            None => {
                nw.extend_from_slice(&mean);
                nb.push(mean_b);
            }
        }
    }
    lm.encoder.encoder = Param::from_tensor(Tensor::from_data(TensorData::new(nw, [new.len(), e]), &device));
    lm.decoder_bias = Param::from_tensor(Tensor::from_data(TensorData::new(nb, [new.len()]), &device));
    Ok((lm, known))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ulmfit::AwdLstmConfig;
    use burn::tensor::Device;

    fn vocab(words: &[&str]) -> Vocab {
        let mut itos: Vec<String> = crate::ulmfit::tokenize::rules::SPECIAL_TOKENS.iter().map(|s| s.to_string()).collect();
        itos.extend(words.iter().map(|w| w.to_string()));
        Vocab::from_itos(itos).unwrap()
    }

    fn rows(lm: &LanguageModel) -> (Vec<f32>, Vec<f32>, usize) {
        let w = lm.encoder.encoder.val();
        let e = w.dims()[1];
        (w.into_data().convert::<f32>().try_to_vec::<f32>().unwrap(), lm.decoder_bias.val().into_data().convert::<f32>().try_to_vec::<f32>().unwrap(), e)
    }

    #[test]
    fn known_words_keep_their_vectors_and_new_ones_get_the_mean() {
        let device = Device::flex();
        let old = vocab(&["the", "cat", "sat", "on", "mat", "a", "dog"]);
        let new = vocab(&["dog", "sat", "zebra", "the", "ran", "on", "x", "y"]);
        let mut config = AwdLstmConfig::language_model(old.len(), 0.0);
        (config.emb_sz, config.n_hid, config.n_layers) = (6, 10, 2);
        let mut lm = config.init_language_model(&device);
        lm.decoder_bias = Param::from_tensor(Tensor::random([old.len()], burn::tensor::Distribution::Normal(0.0, 1.0), &device));
        let (ow, ob, e) = rows(&lm);
        let (lm2, known) = match_embeds(lm, &old, &new).unwrap();
        let (nw, nb, _) = rows(&lm2);
        assert_eq!(nw.len(), new.len() * e);
        let mean: Vec<f32> = (0..e).map(|j| (0..old.len()).map(|i| ow[i * e + j]).sum::<f32>() / old.len() as f32).collect();
        let mean_b = ob.iter().sum::<f32>() / old.len() as f32;
        for i in 0..new.len() {
            let word = new.token(i as u32).unwrap();
            match old.index(word) {
                Some(j) => {
                    assert_eq!(nw[i * e..(i + 1) * e], ow[j as usize * e..(j as usize + 1) * e], "{word}");
                    assert_eq!(nb[i], ob[j as usize]);
                }
                None => {
                    for k in 0..e {
                        assert!((nw[i * e + k] - mean[k]).abs() < 1e-6, "{word}");
                    }
                    assert!((nb[i] - mean_b).abs() < 1e-5);
                }
            }
        }
        // The specials and dog, sat, the, on are known; zebra, ran, x, y are new.
        assert_eq!(known, crate::ulmfit::tokenize::rules::SPECIAL_TOKENS.len() + 4);
        assert!(match_embeds(lm2, &old, &new).is_err(), "a model whose vocabulary is not `old` is refused");
    }
}
