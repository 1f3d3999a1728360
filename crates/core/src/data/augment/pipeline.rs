//! fastai's `aug_transforms`: flip, rotation, zoom and perspective warp composed into **one**
//! resampling pass with reflection padding, then brightness and contrast in logit space —
//! random on training items only, seeded per item and epoch. A mask goes through the same
//! pass (the same [`CoordMap`], nearest-neighbour sampling) and no lighting change.
//!
//! kindling runs them as item transforms in the loader's worker threads (fastai runs them on
//! the batch on a GPU); the result per image is the same.

use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::affine::{self, CoordMap, IDENTITY, Interpolation, Matrix};
use super::lighting::Lighting;
use crate::data::TransformContext;
use crate::data::image::{Image, Mask};
use crate::error::Result;

/// `aug_transforms`' settings; `Default` is fastai's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AugTransforms {
    /// Horizontal flips (probability 0.5).
    pub do_flip: bool,
    /// Flip vertically too (probability 0.5).
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
/// `[-1, 1]`), and lighting changes (images only).
#[derive(Clone, Debug, PartialEq)]
pub struct AugParams {
    /// Row-major 3×3 matrix.
    pub matrix: Matrix,
    /// Brightness and contrast.
    pub lighting: Lighting,
}

impl AugParams {
    /// No change.
    pub fn identity() -> Self {
        Self { matrix: IDENTITY, lighting: Lighting::NONE }
    }

    /// `img` resampled bilinearly through the matrix in one pass, then relit.
    pub fn apply_image(&self, img: &Image) -> Image {
        let mut out = CoordMap::new(&self.matrix, img.height, img.width).sample_image(img, Interpolation::Bilinear);
        self.lighting.apply(&mut out.data);
        out
    }

    /// An image and its mask through the same map: the image bilinearly and relit, the mask
    /// nearest and never relit. A mask of another size than its image is an error.
    pub fn apply_pair(&self, img: &Image, mask: &Mask) -> Result<(Image, Mask)> {
        mask.check_matches(img)?;
        let map = CoordMap::new(&self.matrix, img.height, img.width);
        let mut out = map.sample_image(img, Interpolation::Bilinear);
        self.lighting.apply(&mut out.data);
        Ok((out, map.mask(mask)?))
    }
}

impl AugTransforms {
    /// No augmentation at all (every part off): what `--no-aug` means.
    pub fn none() -> Self {
        Self { do_flip: false, flip_vert: false, max_rotate: 0.0, min_zoom: 1.0, max_zoom: 1.0, max_lighting: 0.0, max_warp: 0.0, ..Self::default() }
    }

    /// Draws parameters for one training item.
    pub fn sample(&self, ctx: &mut TransformContext) -> AugParams {
        let rng = &mut ctx.rng;
        let mut m = IDENTITY;
        if self.do_flip && rng.random::<f32>() < 0.5 {
            m = affine::compose(&m, &affine::flip_horizontal());
        }
        if self.flip_vert && rng.random::<f32>() < 0.5 {
            m = affine::compose(&m, &affine::flip_vertical());
        }
        if self.max_rotate > 0.0 && rng.random::<f32>() < self.p_affine {
            let a = rng.random_range(-self.max_rotate..=self.max_rotate).to_radians();
            m = affine::compose(&m, &affine::rotation(a));
        }
        if self.max_zoom > self.min_zoom && rng.random::<f32>() < self.p_affine {
            let s = 1.0 / rng.random_range(self.min_zoom..=self.max_zoom);
            // Zoom in about a random centre that keeps the window inside the image.
            let (cx, cy) = (rng.random_range(-1.0f32..=1.0) * (1.0 - s), rng.random_range(-1.0f32..=1.0) * (1.0 - s));
            m = affine::compose(&m, &affine::zoom(s, cx, cy));
        }
        if self.max_warp > 0.0 && rng.random::<f32>() < self.p_affine {
            let (wx, wy) = (rng.random_range(-self.max_warp..=self.max_warp), rng.random_range(-self.max_warp..=self.max_warp));
            m = affine::compose(&m, &affine::perspective(wx, wy));
        }
        AugParams { matrix: m, lighting: Lighting::sample(self.max_lighting, self.p_lighting, rng) }
    }

    /// Augments a training image; other images pass unchanged.
    pub fn apply(&self, img: &Image, ctx: &mut TransformContext) -> Image {
        if !ctx.is_train() {
            return img.clone();
        }
        self.sample(ctx).apply_image(img)
    }

    /// Augments a training image and its mask with one draw (the mask follows every geometric
    /// change, nearest-sampled, and no lighting change); other pairs pass unchanged. A mask of
    /// another size than its image is an error, on every split.
    pub fn apply_with_mask(&self, img: &Image, mask: &Mask, ctx: &mut TransformContext) -> Result<(Image, Mask)> {
        mask.check_matches(img)?;
        if !ctx.is_train() {
            return Ok((img.clone(), mask.clone()));
        }
        self.sample(ctx).apply_pair(img, mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::SplitKind;

    fn photo_like(h: usize, w: usize) -> Image {
        Image { channels: 2, height: h, width: w, data: (0..2 * h * w).map(|i| ((i * 37) % 101) as f32 / 100.0).collect() }
    }

    fn max_diff(a: &Image, b: &Image) -> f32 {
        a.data.iter().zip(&b.data).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
    }

    #[test]
    fn zero_strength_changes_nothing() {
        let img = photo_like(9, 13);
        let out = AugParams::identity().apply_image(&img);
        assert!(max_diff(&img, &out) < 1e-5, "{}", max_diff(&img, &out));
        let out = AugTransforms::none().apply(&img, &mut TransformContext::new(3, SplitKind::Train, 0, 0));
        assert!(max_diff(&img, &out) < 1e-5);
    }

    #[test]
    fn random_on_train_only_and_seeded() {
        let img = photo_like(16, 16);
        let aug = AugTransforms::default();
        let run = |split, epoch| aug.apply(&img, &mut TransformContext::new(5, split, epoch, 2)).data;
        assert_eq!(run(SplitKind::Valid, 0), img.data);
        assert_eq!(run(SplitKind::Train, 1), run(SplitKind::Train, 1));
        assert_ne!(run(SplitKind::Train, 1), run(SplitKind::Train, 2));
        let mask = Mask { height: 16, width: 16, data: (0..256).map(|i| (i % 5) as u8).collect() };
        let pair = |split| aug.apply_with_mask(&img, &mask, &mut TransformContext::new(5, split, 1, 2)).unwrap();
        assert_eq!(pair(SplitKind::Valid), (img.clone(), mask.clone()));
        assert_eq!(pair(SplitKind::Train).0.data, run(SplitKind::Train, 1), "a mask does not change its image's draw");
    }

    #[test]
    fn lighting_never_touches_the_mask() {
        let img = photo_like(8, 8);
        let mask = Mask { height: 8, width: 8, data: (0..64).map(|i| (i % 3) as u8).collect() };
        let p = AugParams { matrix: IDENTITY, lighting: Lighting { brightness: 2.0, contrast: 1.5 } };
        let (lit, same) = p.apply_pair(&img, &mask).unwrap();
        assert_eq!(same, mask);
        assert!(max_diff(&lit, &img) > 0.1);
    }

    #[test]
    fn a_mask_of_another_size_is_an_error_not_a_panic() {
        let img = photo_like(8, 8);
        let mask = Mask { height: 8, width: 7, data: vec![0; 56] };
        for split in [SplitKind::Train, SplitKind::Valid] {
            let err = AugTransforms::default().apply_with_mask(&img, &mask, &mut TransformContext::new(0, split, 0, 0)).unwrap_err().to_string();
            assert!(err.contains("the mask is 7×8") && err.contains("image is 8×8"), "{err}");
        }
    }
}
