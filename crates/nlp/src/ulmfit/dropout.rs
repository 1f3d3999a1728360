//! AWD-LSTM's dropouts (Merity et al., as fastai implements them): the same mask over every step
//! of a sequence, whole words dropped from the embedding matrix, and dropout on a weight matrix.
//! Each is active only on an autodiff device (in training), as burn's `Dropout`.

use burn::tensor::{Distribution, Tensor};

/// Whether `x` is being trained (on an autodiff device) and `p` asks for any dropout.
fn active<const D: usize>(x: &Tensor<D>, p: f64) -> bool {
    p > 0.0 && x.device().is_autodiff()
}

/// fastai's `RNNDropout`: one Bernoulli mask per sequence and feature, the same at every step,
/// scaled by `1 / (1 - p)`. `x` is `[batch, steps, features]`.
pub fn rnn_dropout(x: Tensor<3>, p: f64) -> Tensor<3> {
    if !active(&x, p) {
        return x;
    }
    let [b, _, f] = x.dims();
    let mask = Tensor::<3>::random([b, 1, f], Distribution::Bernoulli(1.0 - p), &x.device()).div_scalar(1.0 - p);
    x * mask
}

/// fastai's `EmbeddingDropout`: whole rows of the embedding matrix (words) set to zero, the rest
/// scaled by `1 / (1 - p)`; the same for every occurrence of a word in the batch.
pub fn embedding_dropout(weight: Tensor<2>, p: f64) -> Tensor<2> {
    if !active(&weight, p) {
        return weight;
    }
    let [n, _] = weight.dims();
    let mask = Tensor::<2>::random([n, 1], Distribution::Bernoulli(1.0 - p), &weight.device()).div_scalar(1.0 - p);
    weight * mask
}

/// fastai's `WeightDropout`: plain dropout on the entries of a weight matrix (AWD-LSTM applies it
/// to the hidden-to-hidden weights), a new mask per batch.
pub fn weight_dropout(weight: Tensor<2>, p: f64) -> Tensor<2> {
    if !active(&weight, p) {
        return weight;
    }
    let mask = weight.random_like(Distribution::Bernoulli(1.0 - p)).div_scalar(1.0 - p);
    weight * mask
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    #[test]
    fn active_in_training_only_and_mask_shared_across_steps() {
        let train = Device::flex().autodiff();
        train.seed(1);
        let x = Tensor::<3>::ones([4, 6, 50], &train);
        let y = rnn_dropout(x.clone(), 0.5).into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        // Every step of a sequence has the same mask.
        for b in 0..4 {
            for t in 1..6 {
                assert_eq!(y[(b * 6 + t) * 50..][..50], y[b * 6 * 50..][..50]);
            }
        }
        assert!(y.iter().all(|&v| v == 0.0 || v == 2.0) && y.contains(&0.0));
        let eval = Tensor::<3>::ones([4, 6, 50], &Device::flex());
        assert_eq!(rnn_dropout(eval.clone(), 0.5).into_data(), eval.into_data());

        let w = Tensor::<2>::ones([30, 8], &train);
        let e = embedding_dropout(w.clone(), 0.5).into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        for r in 0..30 {
            assert!(e[r * 8..(r + 1) * 8].iter().all(|&v| v == e[r * 8]), "a word is dropped whole");
        }
        let d = weight_dropout(w, 0.5).into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        assert!(d.contains(&0.0) && d.contains(&2.0));
        let plain = Tensor::<2>::ones([30, 8], &Device::flex());
        assert_eq!(weight_dropout(plain.clone(), 0.5).into_data(), plain.into_data());
    }
}
