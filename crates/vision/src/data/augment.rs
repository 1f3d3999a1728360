//! fastai's `aug_transforms`: flip, rotation, zoom and perspective warp composed into **one**
//! resampling pass with reflection padding, then brightness and contrast in logit space — random
//! on training images only, seeded per item and epoch.
//!
//! kindling runs them as item transforms in the loader's worker threads (fastai runs them on
//! the batch on a GPU); the result per image is the same.

use kindling_core::data::TransformContext;
use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::decode::Image;

/// `aug_transforms`' settings; `Default` is fastai's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AugTransforms {
    /// Horizontal flips (probability 0.5).
    pub do_flip: bool,
    /// Flip vertically too (and rotate by multiples of 90°).
    pub flip_vert: bool,
    /// Largest rotation, in degrees.
    pub max_rotate: f32,
    /// Zoom range.
    pub min_zoom: f32,
    /// Zoom range.
    pub max_zoom: f32,
    /// Largest brightness and contrast change.
    pub max_lighting: f32,
    /// Largest perspective warp.
    pub max_warp: f32,
    /// Probability of each affine part.
    pub p_affine: f32,
    /// Probability of each lighting part.
    pub p_lighting: f32,
}

impl Default for AugTransforms {
    fn default() -> Self {
        Self { do_flip: true, flip_vert: false, max_rotate: 10.0, min_zoom: 1.0, max_zoom: 1.1, max_lighting: 0.2, max_warp: 0.2, p_affine: 0.75, p_lighting: 0.75 }
    }
}

/// One draw of the augmentation: a homography from output to input coordinates (both in
/// `[-1, 1]`), and lighting changes.
#[derive(Clone, Debug, PartialEq)]
pub struct AugParams {
    /// Row-major 3×3 matrix.
    pub matrix: [f32; 9],
    /// Added in logit space (0: unchanged).
    pub brightness: f32,
    /// Multiplies in logit space (1: unchanged).
    pub contrast: f32,
}

impl AugParams {
    /// No change.
    pub fn identity() -> Self {
        Self { matrix: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0], brightness: 0.0, contrast: 1.0 }
    }
}

fn mul(a: &[f32; 9], b: &[f32; 9]) -> [f32; 9] {
    let mut out = [0f32; 9];
    for r in 0..3 {
        for c in 0..3 {
            out[r * 3 + c] = (0..3).map(|k| a[r * 3 + k] * b[k * 3 + c]).sum();
        }
    }
    out
}

/// How pixels are read between sample points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interpolation {
    /// Images.
    Bilinear,
    /// Masks and labels: never invent a class between two.
    Nearest,
}

impl AugTransforms {
    /// Draws parameters for one training image.
    pub fn sample(&self, ctx: &mut TransformContext) -> AugParams {
        let rng = &mut ctx.rng;
        let mut p = AugParams::identity();
        let apply = |m: [f32; 9], p: &mut AugParams| p.matrix = mul(&p.matrix, &m);
        if self.do_flip && rng.random::<f32>() < 0.5 {
            apply([-1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0], &mut p);
        }
        if self.flip_vert && rng.random::<f32>() < 0.5 {
            apply([1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0], &mut p);
        }
        if self.max_rotate > 0.0 && rng.random::<f32>() < self.p_affine {
            let a = rng.random_range(-self.max_rotate..=self.max_rotate).to_radians();
            apply([a.cos(), -a.sin(), 0.0, a.sin(), a.cos(), 0.0, 0.0, 0.0, 1.0], &mut p);
        }
        if self.max_zoom > self.min_zoom && rng.random::<f32>() < self.p_affine {
            let s = 1.0 / rng.random_range(self.min_zoom..=self.max_zoom);
            // Zoom in about a random centre that keeps the window inside the image.
            let (cx, cy) = (rng.random_range(-1.0f32..=1.0) * (1.0 - s), rng.random_range(-1.0f32..=1.0) * (1.0 - s));
            apply([s, 0.0, cx, 0.0, s, cy, 0.0, 0.0, 1.0], &mut p);
        }
        if self.max_warp > 0.0 && rng.random::<f32>() < self.p_affine {
            let (wx, wy) = (rng.random_range(-self.max_warp..=self.max_warp), rng.random_range(-self.max_warp..=self.max_warp));
            apply([1.0, 0.0, 0.0, 0.0, 1.0, 0.0, wx * 0.5, wy * 0.5, 1.0], &mut p);
        }
        if self.max_lighting > 0.0 && rng.random::<f32>() < self.p_lighting {
            let b = rng.random_range(0.5 * (1.0 - self.max_lighting)..=0.5 * (1.0 + self.max_lighting));
            p.brightness = (b / (1.0 - b)).ln();
        }
        if self.max_lighting > 0.0 && rng.random::<f32>() < self.p_lighting {
            let lo = (1.0 - self.max_lighting).ln();
            p.contrast = rng.random_range(lo..=-lo).exp();
        }
        p
    }

    /// Augments a training image; other images pass unchanged.
    pub fn apply(&self, img: &Image, ctx: &mut TransformContext) -> Image {
        if !ctx.is_train() {
            return img.clone();
        }
        let p = self.sample(ctx);
        apply_params(img, &p, Interpolation::Bilinear, true)
    }
}

/// Resamples `img` through `p.matrix` in one pass (reflection padding outside the image), then
/// applies lighting when `lighting` (not to masks).
pub fn apply_params(img: &Image, p: &AugParams, interp: Interpolation, lighting: bool) -> Image {
    let (h, w, ch) = (img.height, img.width, img.channels);
    let m = &p.matrix;
    let reflect = |v: f32, n: usize| -> f32 {
        // Reflect about the image's outer edges (-0.5 and n - 0.5 in pixel coordinates).
        let period = 2.0 * n as f32;
        let mut t = (v + 0.5).rem_euclid(period);
        if t > n as f32 {
            t = period - t;
        }
        (t - 0.5).clamp(0.0, (n - 1) as f32)
    };
    let mut data = vec![0f32; ch * h * w];
    for oy in 0..h {
        let y = (oy as f32 + 0.5) / h as f32 * 2.0 - 1.0;
        for ox in 0..w {
            let x = (ox as f32 + 0.5) / w as f32 * 2.0 - 1.0;
            let zz = m[6] * x + m[7] * y + m[8];
            let (sx, sy) = ((m[0] * x + m[1] * y + m[2]) / zz, (m[3] * x + m[4] * y + m[5]) / zz);
            let (fx, fy) = (reflect((sx + 1.0) / 2.0 * w as f32 - 0.5, w), reflect((sy + 1.0) / 2.0 * h as f32 - 0.5, h));
            for c in 0..ch {
                let at = |yy: usize, xx: usize| img.data[c * h * w + yy * w + xx];
                data[c * h * w + oy * w + ox] = match interp {
                    Interpolation::Nearest => at(fy.round() as usize, fx.round() as usize),
                    Interpolation::Bilinear => {
                        let (x0, y0) = (fx.floor() as usize, fy.floor() as usize);
                        let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
                        let (tx, ty) = (fx - x0 as f32, fy - y0 as f32);
                        let top = at(y0, x0) * (1.0 - tx) + at(y0, x1) * tx;
                        let bottom = at(y1, x0) * (1.0 - tx) + at(y1, x1) * tx;
                        top * (1.0 - ty) + bottom * ty
                    }
                };
            }
        }
    }
    if lighting && (p.brightness != 0.0 || p.contrast != 1.0) {
        for v in &mut data {
            let x = v.clamp(1e-6, 1.0 - 1e-6);
            let logit = (x / (1.0 - x)).ln() * p.contrast + p.brightness;
            *v = 1.0 / (1.0 + (-logit).exp());
        }
    }
    Image { channels: ch, height: h, width: w, data }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kindling_core::data::SplitKind;

    fn photo_like(h: usize, w: usize) -> Image {
        Image { channels: 2, height: h, width: w, data: (0..2 * h * w).map(|i| ((i * 37) % 101) as f32 / 100.0).collect() }
    }

    fn max_diff(a: &Image, b: &Image) -> f32 {
        a.data.iter().zip(&b.data).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
    }

    #[test]
    fn zero_strength_changes_nothing() {
        let img = photo_like(9, 13);
        let out = apply_params(&img, &AugParams::identity(), Interpolation::Bilinear, true);
        assert!(max_diff(&img, &out) < 1e-5, "{}", max_diff(&img, &out));
        let none = AugTransforms { do_flip: false, max_rotate: 0.0, min_zoom: 1.0, max_zoom: 1.0, max_lighting: 0.0, max_warp: 0.0, ..AugTransforms::default() };
        let out = none.apply(&img, &mut TransformContext::new(3, SplitKind::Train, 0, 0));
        assert!(max_diff(&img, &out) < 1e-5);
    }

    #[test]
    fn flipping_twice_is_the_identity_and_once_mirrors() {
        let img = photo_like(6, 8);
        let flip = AugParams { matrix: [-1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0], ..AugParams::identity() };
        let once = apply_params(&img, &flip, Interpolation::Bilinear, false);
        assert!((once.data[0] - img.data[7]).abs() < 1e-5, "the first pixel takes the last of its row");
        let twice = apply_params(&once, &flip, Interpolation::Bilinear, false);
        assert!(max_diff(&img, &twice) < 1e-5);
    }

    #[test]
    fn a_mask_moves_with_its_image() {
        // A bright square and its mask; one random augmentation applied to both.
        let (h, w) = (32, 32);
        let mask_data: Vec<f32> = (0..h * w).map(|i| if (8..20).contains(&(i / w)) && (10..22).contains(&(i % w)) { 1.0 } else { 0.0 }).collect();
        let img = Image { channels: 1, height: h, width: w, data: mask_data.clone() };
        let aug = AugTransforms { max_rotate: 30.0, max_zoom: 1.3, p_affine: 1.0, ..AugTransforms::default() };
        let p = aug.sample(&mut TransformContext::new(11, SplitKind::Train, 0, 0));
        let moved_img = apply_params(&img, &p, Interpolation::Bilinear, false);
        let moved_mask = apply_params(&img, &p, Interpolation::Nearest, false);
        let agree = moved_img.data.iter().zip(&moved_mask.data).filter(|(a, m)| (**a > 0.5) == (**m > 0.5)).count();
        assert!(agree as f32 / (h * w) as f32 > 0.97, "{agree} of {}", h * w);
        assert!(moved_mask.data.iter().all(|v| *v == 0.0 || *v == 1.0), "nearest sampling keeps mask values");
        assert_ne!(moved_mask.data, mask_data, "the augmentation did move it");
    }

    #[test]
    fn random_on_train_only_and_seeded() {
        let img = photo_like(16, 16);
        let aug = AugTransforms::default();
        let run = |split, epoch| aug.apply(&img, &mut TransformContext::new(5, split, epoch, 2)).data;
        assert_eq!(run(SplitKind::Valid, 0), img.data);
        assert_eq!(run(SplitKind::Train, 1), run(SplitKind::Train, 1));
        assert_ne!(run(SplitKind::Train, 1), run(SplitKind::Train, 2));
    }
}
