//! fastai's `MixUp(alpha)` callback, as a batch transform of the training loader: each image
//! is blended with another image of the same batch, and its target becomes the same blend of
//! the two classes, which [`LabelSmoothingCrossEntropy`](crate::loss::LabelSmoothingCrossEntropy)
//! turns into fastai's lerp of the two losses.
//!
//! As fastai: `lam ~ Beta(alpha, alpha)` drawn per item, `lam = max(lam, 1 - lam)` (each item
//! stays mostly itself), the partner is a random shuffle of the batch, the images become
//! `lam·x + (1 - lam)·x[shuffle]`, and the loss `lam·loss(y) + (1 - lam)·loss(y[shuffle])`.
//! Validation batches are never mixed. The draws come from the loader's per-batch generator, so
//! a run repeats exactly for its seed, resumed or not.
//!
//! Meant to move to `kindling-core` (the draw, [`MixUp::draw`], is task-free; segmentation
//! would mix masks' one-hot targets the same way). It lives here until then.

use burn::tensor::{Int, Tensor, TensorData};
use kindling_core::data::{BatchTransform, TransformContext};
use kindling_core::learner::Target;
use kindling_core::seed::Rng;
use kindling_core::{Error, Result};
use rand::RngExt;

use crate::data::ImageBatch;

/// MixUp with `Beta(alpha, alpha)` weights over `n_classes` classes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MixUp {
    /// The Beta distribution's parameter (fastai: 0.4).
    pub alpha: f64,
    /// Classes of the targets (the width of the mixed target rows).
    pub n_classes: usize,
}

impl MixUp {
    /// MixUp for `n_classes` classes; `alpha` must be positive and finite.
    pub fn new(alpha: f64, n_classes: usize) -> Result<Self> {
        if !(alpha.is_finite() && alpha > 0.0) {
            return Err(Error::invalid("--mixup", format!("{alpha} is not a positive, finite Beta parameter (fastai's MixUp uses 0.4)")));
        }
        Ok(Self { alpha, n_classes })
    }

    /// One batch's draw: the partner of each of `n` items (a shuffle of `0..n`) and its weight
    /// `lam`, in `[0.5, 1]`.
    pub fn draw(&self, n: usize, rng: &mut Rng) -> (Vec<usize>, Vec<f32>) {
        let lam = (0..n)
            .map(|_| {
                let l = beta(self.alpha, rng);
                l.max(1.0 - l) as f32
            })
            .collect();
        (kindling_core::seed::permutation(n, rng), lam)
    }
}

impl BatchTransform<ImageBatch> for MixUp {
    fn apply(&self, batch: ImageBatch, ctx: &mut TransformContext) -> Result<ImageBatch> {
        if !ctx.is_train() {
            return Ok(batch);
        }
        let Target::Classes(y) = &batch.y else {
            return Err(Error::Data("MixUp needs class targets".into()));
        };
        let device = batch.images.device();
        let [n, ..] = batch.images.dims();
        let ys: Vec<i64> = y.to_data().convert::<i64>().try_into_vec::<i64>().map_err(|e| Error::Data(format!("cannot read the batch's classes: {e:?}")))?;
        let (shuffle, lam) = self.draw(n, &mut ctx.rng);
        let idx = Tensor::<1, Int>::from_data(TensorData::new(shuffle.iter().map(|&i| i as i64).collect::<Vec<_>>(), [n]), &device);
        let partner = batch.images.clone().select(0, idx);
        let weight = Tensor::<4>::from_data(TensorData::new(lam.clone(), [n, 1, 1, 1]), &device);
        // torch.lerp(partner, x, lam) = partner + lam·(x - partner)
        let images = partner.clone() + (batch.images - partner) * weight;
        let c = self.n_classes;
        let mut soft = vec![0f32; n * c];
        for i in 0..n {
            let (a, b) = (ys[i] as usize, ys[shuffle[i]] as usize);
            if a >= c || b >= c {
                return Err(Error::Data(format!("class {} is outside the {c} classes MixUp was set up for", a.max(b))));
            }
            soft[i * c + a] += lam[i];
            soft[i * c + b] += 1.0 - lam[i];
        }
        Ok(ImageBatch { images, y: Target::Values(Tensor::<2>::from_data(TensorData::new(soft, [n, c]), &device)) })
    }
}

/// A draw from `Beta(a, a)`: `X / (X + Y)` with `X, Y ~ Gamma(a, 1)`.
pub fn beta(a: f64, rng: &mut Rng) -> f64 {
    let (x, y) = (gamma(a, rng), gamma(a, rng));
    if x + y > 0.0 { x / (x + y) } else { 0.5 }
}

/// A draw from `Gamma(shape, 1)` (Marsaglia and Tsang; for a shape below 1, from
/// `Gamma(shape + 1)·U^(1/shape)`).
fn gamma(shape: f64, rng: &mut Rng) -> f64 {
    if shape < 1.0 {
        let u: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
        return gamma(shape + 1.0, rng) * u.powf(1.0 / shape);
    }
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / (9.0 * d).sqrt();
    loop {
        let x = normal(rng);
        let v = (1.0 + c * x).powi(3);
        if v <= 0.0 {
            continue;
        }
        let u: f64 = rng.random::<f64>();
        if u < 1.0 - 0.0331 * x.powi(4) || u.max(f64::MIN_POSITIVE).ln() < 0.5 * x * x + d * (1.0 - v + v.ln()) {
            return d * v;
        }
    }
}

/// A standard normal draw (Box–Muller).
fn normal(rng: &mut Rng) -> f64 {
    let u1: f64 = rng.random::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;
    use kindling_core::data::SplitKind;

    #[test]
    fn beta_draws_have_the_beta_mean_and_variance() {
        for a in [0.4, 1.0, 2.5] {
            let mut rng = kindling_core::seed::rng(1, &[]);
            let n = 40_000;
            let v: Vec<f64> = (0..n).map(|_| beta(a, &mut rng)).collect();
            assert!(v.iter().all(|x| (0.0..=1.0).contains(x)));
            let mean = v.iter().sum::<f64>() / n as f64;
            let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
            let want = 1.0 / (4.0 * (2.0 * a + 1.0));
            assert!((mean - 0.5).abs() < 0.01, "alpha {a}: mean {mean}");
            assert!((var - want).abs() < 0.01, "alpha {a}: variance {var}, want {want}");
        }
    }

    fn batch(d: &Device) -> ImageBatch {
        // Four 1×1×2 images whose pixels are their index, classes 0, 1, 2, 0.
        let px: Vec<f32> = (0..4).flat_map(|i| [i as f32, i as f32]).collect();
        ImageBatch {
            images: Tensor::<4>::from_data(TensorData::new(px, [4, 1, 1, 2]), d),
            y: Target::Classes(Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 1, 2, 0], [4]), d)),
        }
    }

    #[test]
    fn mixes_images_and_targets_with_the_same_weights() {
        let d = Device::flex();
        let m = MixUp::new(0.4, 3).unwrap();
        let mut ctx = TransformContext::new(7, SplitKind::Train, 0, 0);
        let out = m.apply(batch(&d), &mut ctx).unwrap();
        let (shuffle, lam) = m.draw(4, &mut TransformContext::new(7, SplitKind::Train, 0, 0).rng);
        let px: Vec<f32> = out.images.into_data().convert::<f32>().try_into_vec().unwrap();
        let Target::Values(soft) = out.y else { panic!("mixed targets are class probabilities") };
        let soft: Vec<f32> = soft.into_data().convert::<f32>().try_into_vec().unwrap();
        let classes = [0usize, 1, 2, 0];
        for i in 0..4 {
            assert!((0.5..=1.0).contains(&lam[i]), "{lam:?}");
            let want = lam[i] * i as f32 + (1.0 - lam[i]) * shuffle[i] as f32;
            assert!((px[2 * i] - want).abs() < 1e-6 && (px[2 * i + 1] - want).abs() < 1e-6, "item {i}: {} vs {want}", px[2 * i]);
            let row = &soft[3 * i..3 * i + 3];
            assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6, "{row:?}");
            assert!(row[classes[i]] >= lam[i] - 1e-6, "the item's own class keeps at least lam: {row:?}");
        }
        // Validation batches pass unchanged.
        let mut ctx = TransformContext::new(7, SplitKind::Valid, 0, 0);
        assert!(matches!(m.apply(batch(&d), &mut ctx).unwrap().y, Target::Classes(_)));
        assert!(MixUp::new(0.0, 3).is_err() && MixUp::new(f64::NAN, 3).is_err());
    }
}
