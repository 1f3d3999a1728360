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
    /// ImageNet evaluation (torchvision's and timm's): scale the shorter side to `size / 0.875`
    /// (256 for 224) with 8-bit rounding as PIL keeps it, then crop the centre square.
    #[serde(rename = "resize-crop")]
    ResizeCrop,
}

impl ResizeMethod {
    /// Every method, as `--method` names them.
    pub const NAMES: [&'static str; 4] = ["squish", "crop", "pad", "resize-crop"];

    /// The method `--method NAME` names.
    ///
    /// ```
    /// use kindling_vision::data::resize::ResizeMethod;
    /// assert_eq!(ResizeMethod::parse("resize-crop"), Some(ResizeMethod::ResizeCrop));
    /// assert_eq!(ResizeMethod::parse("zoom"), None);
    /// assert_eq!(ResizeMethod::Pad.name(), "pad");
    /// ```
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "squish" => Some(Self::Squish),
            "crop" => Some(Self::Crop),
            "pad" => Some(Self::Pad),
            "resize-crop" => Some(Self::ResizeCrop),
            _ => None,
        }
    }

    /// The name `--method` takes.
    pub fn name(self) -> &'static str {
        match self {
            Self::Squish => "squish",
            Self::Crop => "crop",
            Self::Pad => "pad",
            Self::ResizeCrop => "resize-crop",
        }
    }
}

/// Bilinear resampling of the window `(y0, x0, h, w)` of `img` (in source pixels) onto
/// `out_h × out_w`, as PIL's `resize(..., BILINEAR, box)` does it: separable, and antialiased
/// when shrinking (the triangle filter widens with the scale, so every source pixel counts).
/// An image with no pixels gives black (decoding refuses such images; this never panics).
pub fn resample(img: &Image, window: (f32, f32, f32, f32), out_h: usize, out_w: usize) -> Image {
    resample_with(img, window, out_h, out_w, false)
}

/// [`resample`], optionally rounding to 8-bit levels after each pass as PIL does on 8-bit images.
fn resample_with(img: &Image, window: (f32, f32, f32, f32), out_h: usize, out_w: usize, round_u8: bool) -> Image {
    let q = |v: f32| if round_u8 { (v * 255.0).round().clamp(0.0, 255.0) / 255.0 } else { v };
    let (y0, x0, h, w) = window;
    let (ih, iw, c) = (img.height, img.width, img.channels);
    if ih == 0 || iw == 0 || img.data.len() < c * ih * iw {
        return Image { channels: c, height: out_h, width: out_w, data: vec![0.0; c * out_h * out_w] };
    }
    let xs = axis_taps(iw, x0, w, out_w);
    let ys = axis_taps(ih, y0, h, out_h);
    // Horizontal pass over the rows the vertical pass needs, then the vertical pass.
    let mut rows = vec![0f32; c * ih * out_w];
    let (r_lo, r_hi) = (ys.iter().map(|t| t.0).min().unwrap_or(0), ys.iter().map(|t| t.0 + t.1.len()).max().unwrap_or(0));
    for ch in 0..c {
        for y in r_lo..r_hi {
            let src = &img.data[ch * ih * iw + y * iw..ch * ih * iw + (y + 1) * iw];
            let dst = &mut rows[ch * ih * out_w + y * out_w..ch * ih * out_w + (y + 1) * out_w];
            for (o, (first, wts)) in xs.iter().enumerate() {
                dst[o] = q(wts.iter().zip(&src[*first..]).map(|(w, v)| w * v).sum());
            }
        }
    }
    let mut data = vec![0f32; c * out_h * out_w];
    for ch in 0..c {
        for (oy, (first, wts)) in ys.iter().enumerate() {
            let out = &mut data[ch * out_h * out_w + oy * out_w..ch * out_h * out_w + (oy + 1) * out_w];
            for (k, wt) in wts.iter().enumerate() {
                let row = &rows[ch * ih * out_w + (first + k) * out_w..ch * ih * out_w + (first + k + 1) * out_w];
                for (o, v) in out.iter_mut().zip(row) {
                    *o += wt * v;
                }
            }
        }
    }
    if round_u8 {
        data.iter_mut().for_each(|v| *v = q(*v));
    }
    Image { channels: c, height: out_h, width: out_w, data }
}

/// For each output position along one axis: the first source index and the normalised weights
/// of the source pixels it averages (PIL's `precompute_coeffs` for the bilinear filter).
fn axis_taps(in_size: usize, start: f32, len: f32, out_size: usize) -> Vec<(usize, Vec<f32>)> {
    let scale = len / out_size as f32;
    let support = scale.max(1.0);
    (0..out_size)
        .map(|o| {
            let center = start + (o as f32 + 0.5) * scale;
            let lo = ((center - support + 0.5).floor().max(0.0) as usize).min(in_size - 1);
            let hi = ((center + support + 0.5).floor().max(0.0) as usize).clamp(lo + 1, in_size);
            let mut wts: Vec<f32> = (lo..hi).map(|x| (1.0 - ((x as f32 - center + 0.5) / support).abs()).max(0.0)).collect();
            let sum: f32 = wts.iter().sum();
            if sum > 0.0 {
                wts.iter_mut().for_each(|w| *w /= sum);
            } else {
                // The window lies outside the image: repeat the nearest edge pixel.
                wts.iter_mut().enumerate().for_each(|(k, w)| *w = if k == 0 { 1.0 } else { 0.0 });
            }
            (lo, wts)
        })
        .collect()
}

/// fastai's `Resize(size, method)`. A `size` of 0 gives an empty image and an image with no
/// pixels gives black ones (the command lines refuse both before they get here): never a panic.
pub fn resize(img: &Image, size: usize, method: ResizeMethod, ctx: &mut TransformContext) -> Image {
    if size == 0 || img.height == 0 || img.width == 0 {
        return Image { channels: img.channels, height: size, width: size, data: vec![0.0; img.channels * size * size] };
    }
    let (h, w) = (img.height as f32, img.width as f32);
    match method {
        ResizeMethod::Squish => resample(img, (0.0, 0.0, h, w), size, size),
        ResizeMethod::Crop => {
            let side = h.min(w);
            let (fy, fx) = if ctx.is_train() { (ctx.rng.random::<f32>(), ctx.rng.random::<f32>()) } else { (0.5, 0.5) };
            resample(img, ((h - side) * fy, (w - side) * fx, side, side), size, size)
        }
        ResizeMethod::ResizeCrop => {
            let short = (size as f32 / 0.875).round();
            let scale = short / h.min(w);
            let (nh, nw) = (((h * scale).round() as usize).max(size), ((w * scale).round() as usize).max(size));
            let big = resample_with(img, (0.0, 0.0, h, w), nh, nw, true);
            let (top, left) = ((nh - size) / 2, (nw - size) / 2);
            resample(&big, (top as f32, left as f32, size as f32, size as f32), size, size)
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

    /// `--size 0 --method pad` once panicked in `clamp(1, 0)`, and an image with no rows or
    /// columns (an idx file can declare one) in `in_size - 1`.
    #[test]
    fn a_zero_size_or_an_empty_image_does_not_panic() {
        let mut ctx = TransformContext::new(0, SplitKind::Train, 0, 0);
        for method in [ResizeMethod::Squish, ResizeMethod::Crop, ResizeMethod::Pad, ResizeMethod::ResizeCrop] {
            let out = resize(&ramp(4, 6), 0, method, &mut ctx);
            assert_eq!((out.height, out.width, out.data.len()), (0, 0, 0), "{method:?}");
            for empty in [ramp(0, 6), ramp(4, 0), ramp(0, 0)] {
                let out = resize(&empty, 3, method, &mut ctx);
                assert_eq!((out.height, out.width), (3, 3), "{method:?}");
                assert!(out.data.iter().all(|&v| v == 0.0));
            }
        }
        assert_eq!(resample(&ramp(0, 5), (0.0, 0.0, 0.0, 5.0), 2, 2).data, vec![0.0; 4]);
        let out = RandomResizedCrop::new(4).apply(&ramp(0, 3), &mut ctx);
        assert_eq!(out.data, vec![0.0; 16]);
    }

    #[test]
    fn shrinking_averages_every_source_pixel() {
        // A 1-pixel checkerboard shrunk 4× is flat grey (no aliasing), as PIL gives it.
        let img = Image { channels: 1, height: 16, width: 16, data: (0..256).map(|i| ((i / 16 + i % 16) % 2) as f32).collect() };
        let out = resample(&img, (0.0, 0.0, 16.0, 16.0), 4, 4);
        assert!(out.data[5..7].iter().all(|v| (v - 0.5).abs() < 0.02), "{:?}", out.data);
        let mut ctx = TransformContext::new(0, SplitKind::Valid, 0, 0);
        let rc = resize(&ramp(300, 400), 224, ResizeMethod::ResizeCrop, &mut ctx);
        assert_eq!((rc.height, rc.width), (224, 224));
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
