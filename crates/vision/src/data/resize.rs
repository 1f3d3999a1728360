//! Item transforms that give every image the model's size: fastai's `Resize` (squish, crop,
//! pad) and `RandomResizedCrop`, with bilinear resampling.

use kindling_core::data::TransformContext;
use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::decode::Image;

/// How `Resize` reaches a square of `size`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResizeMethod {
    /// Stretch to the square, changing the aspect ratio.
    Squish,
    /// Scale the shorter side to `size`, then crop: at random on train, in the centre otherwise.
    Crop,
    /// Scale the longer side to `size`, then pad the shorter by reflection.
    Pad,
}

/// Bilinear sampling of the window `(y0, x0, h, w)` of `img` (source pixels) onto `out_h × out_w`.
pub fn resample(img: &Image, window: (f32, f32, f32, f32), out_h: usize, out_w: usize) -> Image {
    let (y0, x0, h, w) = window;
    let (sy, sx) = (h / out_h as f32, w / out_w as f32);
    let (ih, iw) = (img.height, img.width);
    let mut data = vec![0f32; img.channels * out_h * out_w];
    for oy in 0..out_h {
        let fy = (y0 + (oy as f32 + 0.5) * sy - 0.5).clamp(0.0, (ih - 1) as f32);
        let (y_lo, ty) = (fy.floor() as usize, fy - fy.floor());
        let y_hi = (y_lo + 1).min(ih - 1);
        for ox in 0..out_w {
            let fx = (x0 + (ox as f32 + 0.5) * sx - 0.5).clamp(0.0, (iw - 1) as f32);
            let (x_lo, tx) = (fx.floor() as usize, fx - fx.floor());
            let x_hi = (x_lo + 1).min(iw - 1);
            for c in 0..img.channels {
                let p = |y: usize, x: usize| img.data[c * ih * iw + y * iw + x];
                let top = p(y_lo, x_lo) * (1.0 - tx) + p(y_lo, x_hi) * tx;
                let bottom = p(y_hi, x_lo) * (1.0 - tx) + p(y_hi, x_hi) * tx;
                data[c * out_h * out_w + oy * out_w + ox] = top * (1.0 - ty) + bottom * ty;
            }
        }
    }
    Image { channels: img.channels, height: out_h, width: out_w, data }
}

/// fastai's `Resize(size, method)`.
pub fn resize(img: &Image, size: usize, method: ResizeMethod, ctx: &mut TransformContext) -> Image {
    let (h, w) = (img.height as f32, img.width as f32);
    match method {
        ResizeMethod::Squish => resample(img, (0.0, 0.0, h, w), size, size),
        ResizeMethod::Crop => {
            let side = h.min(w);
            let (fy, fx) = if ctx.is_train() { (ctx.rng.random::<f32>(), ctx.rng.random::<f32>()) } else { (0.5, 0.5) };
            resample(img, ((h - side) * fy, (w - side) * fx, side, side), size, size)
        }
        ResizeMethod::Pad => {
            let scale = size as f32 / h.max(w);
            let (nh, nw) = (((h * scale).round() as usize).clamp(1, size), ((w * scale).round() as usize).clamp(1, size));
            let inner = resample(img, (0.0, 0.0, h, w), nh, nw);
            reflect_pad(&inner, size, size)
        }
    }
}

/// Pads `img` to `out_h × out_w`, centred, mirroring its edges.
fn reflect_pad(img: &Image, out_h: usize, out_w: usize) -> Image {
    let (top, left) = ((out_h - img.height) / 2, (out_w - img.width) / 2);
    let reflect = |i: isize, n: usize| -> usize {
        if n == 1 {
            return 0;
        }
        let period = 2 * (n as isize - 1);
        let m = i.rem_euclid(period);
        (if m < n as isize { m } else { period - m }) as usize
    };
    let mut data = vec![0f32; img.channels * out_h * out_w];
    for c in 0..img.channels {
        for y in 0..out_h {
            let sy = reflect(y as isize - top as isize, img.height);
            for x in 0..out_w {
                let sx = reflect(x as isize - left as isize, img.width);
                data[c * out_h * out_w + y * out_w + x] = img.data[c * img.height * img.width + sy * img.width + sx];
            }
        }
    }
    Image { channels: img.channels, height: out_h, width: out_w, data }
}

/// fastai's `RandomResizedCrop(size, min_scale=0.08, ratio=(3/4, 4/3))`: on train, a random
/// window of `min_scale..1` of the area and a random aspect ratio; otherwise the centre square.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct RandomResizedCrop {
    /// Output side.
    pub size: usize,
    /// Smallest share of the area kept.
    pub min_scale: f32,
    /// Aspect-ratio range.
    pub ratio: (f32, f32),
}

impl RandomResizedCrop {
    /// fastai's defaults.
    pub fn new(size: usize) -> Self {
        Self { size, min_scale: 0.08, ratio: (0.75, 4.0 / 3.0) }
    }

    /// Applies it.
    pub fn apply(&self, img: &Image, ctx: &mut TransformContext) -> Image {
        let (h, w) = (img.height as f32, img.width as f32);
        if ctx.is_train() {
            for _ in 0..10 {
                let area = h * w * ctx.rng.random_range(self.min_scale..=1.0);
                let log_ratio = ctx.rng.random_range(self.ratio.0.ln()..=self.ratio.1.ln());
                let r = log_ratio.exp();
                let (cw, ch) = ((area * r).sqrt(), (area / r).sqrt());
                if cw <= w && ch <= h {
                    let (y0, x0) = (ctx.rng.random::<f32>() * (h - ch), ctx.rng.random::<f32>() * (w - cw));
                    return resample(img, (y0, x0, ch, cw), self.size, self.size);
                }
            }
        }
        let side = h.min(w);
        resample(img, ((h - side) / 2.0, (w - side) / 2.0, side, side), self.size, self.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kindling_core::data::SplitKind;

    fn ramp(h: usize, w: usize) -> Image {
        Image { channels: 1, height: h, width: w, data: (0..h * w).map(|i| i as f32).collect() }
    }

    #[test]
    fn same_size_squish_is_the_identity_and_valid_crops_are_centred() {
        let img = ramp(4, 6);
        let mut ctx = TransformContext::new(0, SplitKind::Valid, 0, 0);
        assert_eq!(resize(&img, 4, ResizeMethod::Squish, &mut ctx).data.len(), 16);
        assert_eq!(resample(&img, (0.0, 0.0, 4.0, 6.0), 4, 6), img);
        let c = resize(&img, 4, ResizeMethod::Crop, &mut ctx);
        assert_eq!(c.data[0], 1.0, "the centre 4×4 window starts at column 1");
        let p = resize(&ramp(2, 4), 4, ResizeMethod::Pad, &mut ctx);
        assert_eq!((p.height, p.width), (4, 4));
        assert_eq!(p.data[4..8], [0.0, 1.0, 2.0, 3.0], "the image sits in the middle rows");
        assert_eq!(p.data[0..4], [4.0, 5.0, 6.0, 7.0], "padding mirrors the next row");
    }

    #[test]
    fn random_resized_crop_is_random_on_train_only_and_seeded() {
        let img = ramp(32, 32);
        let rrc = RandomResizedCrop::new(8);
        let run = |split, epoch| rrc.apply(&img, &mut TransformContext::new(1, split, epoch, 0)).data;
        assert_eq!(run(SplitKind::Valid, 0), run(SplitKind::Valid, 1));
        assert_eq!(run(SplitKind::Train, 0), run(SplitKind::Train, 0));
        assert_ne!(run(SplitKind::Train, 0), run(SplitKind::Train, 1));
    }
}
