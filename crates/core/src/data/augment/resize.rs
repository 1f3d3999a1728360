//! Giving every image the model's size: fastai's `Resize` (squish, crop, pad) and
//! `RandomResizedCrop`, with PIL's bilinear resampling for images. Each resize is first drawn
//! as a [`ResizePlan`] (the window, the random crop position), then applied: to an image
//! bilinearly, and to its mask nearest-neighbour over the same window, so a mask follows its
//! image's crop and resize and never gains a class id between two others.

use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::affine::Interpolation;
use crate::data::TransformContext;
use crate::data::image::{Image, Mask};
use crate::error::Result;

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
    /// use kindling_core::data::augment::ResizeMethod;
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

/// A source window `(y0, x0, height, width)`, in source pixels.
pub type Window = (f32, f32, f32, f32);

/// Bilinear resampling of the window `(y0, x0, h, w)` of `img` (in source pixels) onto
/// `out_h × out_w`, as PIL's `resize(..., BILINEAR, box)` does it: separable, and antialiased
/// when shrinking (the triangle filter widens with the scale, so every source pixel counts).
/// An image with no pixels gives black (decoding refuses such images; this never panics).
pub fn resample(img: &Image, window: Window, out_h: usize, out_w: usize) -> Image {
    resample_with(img, window, out_h, out_w, false)
}

/// [`resample`], optionally rounding to 8-bit levels after each pass as PIL does on 8-bit images.
fn resample_with(img: &Image, window: Window, out_h: usize, out_w: usize, round_u8: bool) -> Image {
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

/// Nearest-neighbour resampling of the window `(y0, x0, h, w)` of one `height × width` plane
/// onto `out_h × out_w`, as PIL's `NEAREST`: output pixel `o` reads the source pixel under its
/// centre, `floor(start + (o + 0.5) · len / out)`, clamped inside the plane. A plane with no
/// pixels gives the default value (0).
fn nearest_window<T: Copy + Default>(plane: &[T], (height, width): (usize, usize), window: Window, out_h: usize, out_w: usize) -> Vec<T> {
    if height == 0 || width == 0 || plane.len() < height * width {
        return vec![T::default(); out_h * out_w];
    }
    let (y0, x0, h, w) = window;
    let src = |o: usize, start: f32, len: f32, out: usize, n: usize| {
        ((start as f64 + (o as f64 + 0.5) * len as f64 / out as f64).floor().max(0.0) as usize).min(n - 1)
    };
    let xs: Vec<usize> = (0..out_w).map(|x| src(x, x0, w, out_w, width)).collect();
    let mut data = Vec::with_capacity(out_h * out_w);
    for y in 0..out_h {
        let row = &plane[src(y, y0, h, out_h, height) * width..][..width];
        data.extend(xs.iter().map(|&x| row[x]));
    }
    data
}

/// [`resample`] for a mask: nearest-neighbour over the same window, so ids are only ever copied.
///
/// ```
/// use kindling_core::data::{Mask, augment::resample_mask};
/// let m = Mask { height: 1, width: 2, data: vec![3, 7] };
/// assert_eq!(resample_mask(&m, (0.0, 0.0, 1.0, 2.0), 2, 4).data, vec![3, 3, 7, 7, 3, 3, 7, 7]);
/// ```
pub fn resample_mask(mask: &Mask, window: Window, out_h: usize, out_w: usize) -> Mask {
    Mask { height: out_h, width: out_w, data: nearest_window(&mask.data, (mask.height, mask.width), window, out_h, out_w) }
}

/// [`resample`] with the choice of interpolation (nearest reads each output pixel's source
/// pixel, as for masks).
pub fn resample_image(img: &Image, window: Window, out_h: usize, out_w: usize, interp: Interpolation) -> Image {
    match interp {
        Interpolation::Bilinear => resample(img, window, out_h, out_w),
        Interpolation::Nearest => {
            let hw = (img.height, img.width);
            let data = (0..img.channels).flat_map(|c| nearest_window(img.plane(c), hw, window, out_h, out_w)).collect();
            Image { channels: img.channels, height: out_h, width: out_w, data }
        }
    }
}

/// Pads a `height × width` plane to `out_h × out_w`, centred, mirroring its edges.
fn reflect_pad<T: Copy>(plane: &[T], (height, width): (usize, usize), out_h: usize, out_w: usize) -> Vec<T> {
    let (top, left) = ((out_h - height) / 2, (out_w - width) / 2);
    let reflect = |i: isize, n: usize| -> usize {
        if n == 1 {
            return 0;
        }
        let period = 2 * (n as isize - 1);
        let m = i.rem_euclid(period);
        (if m < n as isize { m } else { period - m }) as usize
    };
    let xs: Vec<usize> = (0..out_w).map(|x| reflect(x as isize - left as isize, width)).collect();
    let mut data = Vec::with_capacity(out_h * out_w);
    for y in 0..out_h {
        let row = &plane[reflect(y as isize - top as isize, height) * width..][..width];
        data.extend(xs.iter().map(|&x| row[x]));
    }
    data
}

/// One resize, drawn: the geometry an image and its mask both go through.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ResizePlan {
    /// Resample the source window onto `out_h × out_w`.
    Window {
        /// The source window.
        window: Window,
        /// Output rows.
        out_h: usize,
        /// Output columns.
        out_w: usize,
    },
    /// Resample the whole source to `nh × nw` (with PIL's 8-bit rounding for images), then
    /// take the `size` square at `(top, left)`.
    ResizeCrop {
        /// Intermediate rows.
        nh: usize,
        /// Intermediate columns.
        nw: usize,
        /// First row kept.
        top: usize,
        /// First column kept.
        left: usize,
        /// Output side.
        size: usize,
    },
    /// Resample the whole source to `nh × nw`, then pad it by reflection to `size × size`.
    Pad {
        /// Inner rows.
        nh: usize,
        /// Inner columns.
        nw: usize,
        /// Output side.
        size: usize,
    },
    /// A black `size × size` result (a size of 0, or a source with no pixels).
    Blank {
        /// Output side.
        size: usize,
    },
}

impl ResizePlan {
    /// fastai's `Resize(size, method)` of a `height × width` source, with its random crop
    /// position drawn from `ctx` on train (the centre otherwise).
    pub fn resize(height: usize, width: usize, size: usize, method: ResizeMethod, ctx: &mut TransformContext) -> Self {
        if size == 0 || height == 0 || width == 0 {
            return Self::Blank { size };
        }
        let (h, w) = (height as f32, width as f32);
        match method {
            ResizeMethod::Squish => Self::Window { window: (0.0, 0.0, h, w), out_h: size, out_w: size },
            ResizeMethod::Crop => {
                let side = h.min(w);
                let (fy, fx) = if ctx.is_train() { (ctx.rng.random::<f32>(), ctx.rng.random::<f32>()) } else { (0.5, 0.5) };
                Self::Window { window: ((h - side) * fy, (w - side) * fx, side, side), out_h: size, out_w: size }
            }
            ResizeMethod::ResizeCrop => {
                let short = (size as f32 / 0.875).round();
                let scale = short / h.min(w);
                let (nh, nw) = (((h * scale).round() as usize).max(size), ((w * scale).round() as usize).max(size));
                Self::ResizeCrop { nh, nw, top: (nh - size) / 2, left: (nw - size) / 2, size }
            }
            ResizeMethod::Pad => {
                let scale = size as f32 / h.max(w);
                let (nh, nw) = (((h * scale).round() as usize).clamp(1, size), ((w * scale).round() as usize).clamp(1, size));
                Self::Pad { nh, nw, size }
            }
        }
    }

    /// The whole `height × width` source stretched to `out_h × out_w` (squish to any shape).
    pub fn stretch(height: usize, width: usize, out_h: usize, out_w: usize) -> Self {
        Self::Window { window: (0.0, 0.0, height as f32, width as f32), out_h, out_w }
    }

    /// Applies the plan to an image.
    pub fn image(&self, img: &Image, interp: Interpolation) -> Image {
        let full = (0.0, 0.0, img.height as f32, img.width as f32);
        match *self {
            Self::Blank { size } => Image { channels: img.channels, height: size, width: size, data: vec![0.0; img.channels * size * size] },
            Self::Window { window, out_h, out_w } => resample_image(img, window, out_h, out_w, interp),
            Self::ResizeCrop { nh, nw, top, left, size } => {
                let big = match interp {
                    Interpolation::Bilinear => resample_with(img, full, nh, nw, true),
                    Interpolation::Nearest => resample_image(img, full, nh, nw, interp),
                };
                resample_image(&big, (top as f32, left as f32, size as f32, size as f32), size, size, interp)
            }
            Self::Pad { nh, nw, size } => {
                let inner = resample_image(img, full, nh, nw, interp);
                let data = (0..img.channels).flat_map(|c| reflect_pad(inner.plane(c), (nh, nw), size, size)).collect();
                Image { channels: img.channels, height: size, width: size, data }
            }
        }
    }

    /// Applies the plan to a mask, nearest-neighbour: the same geometry as [`ResizePlan::image`].
    pub fn mask(&self, mask: &Mask) -> Mask {
        let full = (0.0, 0.0, mask.height as f32, mask.width as f32);
        match *self {
            Self::Blank { size } => Mask { height: size, width: size, data: vec![0; size * size] },
            Self::Window { window, out_h, out_w } => resample_mask(mask, window, out_h, out_w),
            Self::ResizeCrop { nh, nw, top, left, size } => {
                resample_mask(&resample_mask(mask, full, nh, nw), (top as f32, left as f32, size as f32, size as f32), size, size)
            }
            Self::Pad { nh, nw, size } => {
                let inner = resample_mask(mask, full, nh, nw);
                Mask { height: size, width: size, data: reflect_pad(&inner.data, (nh, nw), size, size) }
            }
        }
    }

    /// Applies the plan to an image (bilinear) and its mask (nearest). A mask of another size
    /// than its image is an error.
    pub fn pair(&self, img: &Image, mask: &Mask) -> Result<(Image, Mask)> {
        mask.check_matches(img)?;
        Ok((self.image(img, Interpolation::Bilinear), self.mask(mask)))
    }
}

/// fastai's `Resize(size, method)`. A `size` of 0 gives an empty image and an image with no
/// pixels gives black ones (the command lines refuse both before they get here): never a panic.
pub fn resize(img: &Image, size: usize, method: ResizeMethod, ctx: &mut TransformContext) -> Image {
    ResizePlan::resize(img.height, img.width, size, method, ctx).image(img, Interpolation::Bilinear)
}

/// [`resize`] of an image and its mask with one draw (the same crop window for both; the mask
/// nearest-sampled). A mask of another size than its image is an error.
pub fn resize_with_mask(img: &Image, mask: &Mask, size: usize, method: ResizeMethod, ctx: &mut TransformContext) -> Result<(Image, Mask)> {
    mask.check_matches(img)?;
    ResizePlan::resize(img.height, img.width, size, method, ctx).pair(img, mask)
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

    /// Draws the window for a `height × width` source.
    pub fn plan(&self, height: usize, width: usize, ctx: &mut TransformContext) -> ResizePlan {
        let (h, w) = (height as f32, width as f32);
        let out = |window| ResizePlan::Window { window, out_h: self.size, out_w: self.size };
        if ctx.is_train() {
            for _ in 0..10 {
                let area = h * w * ctx.rng.random_range(self.min_scale..=1.0);
                let log_ratio = ctx.rng.random_range(self.ratio.0.ln()..=self.ratio.1.ln());
                let r = log_ratio.exp();
                let (cw, ch) = ((area * r).sqrt(), (area / r).sqrt());
                if cw <= w && ch <= h {
                    let (y0, x0) = (ctx.rng.random::<f32>() * (h - ch), ctx.rng.random::<f32>() * (w - cw));
                    return out((y0, x0, ch, cw));
                }
            }
        }
        let side = h.min(w);
        out(((h - side) / 2.0, (w - side) / 2.0, side, side))
    }

    /// Applies it.
    pub fn apply(&self, img: &Image, ctx: &mut TransformContext) -> Image {
        self.plan(img.height, img.width, ctx).image(img, Interpolation::Bilinear)
    }

    /// Applies it to an image and its mask with one draw. A mask of another size than its
    /// image is an error.
    pub fn apply_with_mask(&self, img: &Image, mask: &Mask, ctx: &mut TransformContext) -> Result<(Image, Mask)> {
        mask.check_matches(img)?;
        self.plan(img.height, img.width, ctx).pair(img, mask)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::SplitKind;

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
                let m = Mask { height: empty.height, width: empty.width, data: vec![] };
                let (_, mm) = resize_with_mask(&empty, &m, 3, method, &mut ctx).unwrap();
                assert_eq!(mm.data, vec![0; 9], "{method:?}");
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

    #[test]
    fn a_mask_is_copied_nearest_and_padded_like_its_image() {
        let m = Mask { height: 4, width: 4, data: (0..16).map(|i| (i % 3) as u8).collect() };
        let small = resample_mask(&m, (0.0, 0.0, 4.0, 4.0), 2, 2);
        assert_eq!(small.data, vec![m.data[4 + 1], m.data[4 + 3], m.data[12 + 1], m.data[12 + 3]]);
        let mut ctx = TransformContext::new(0, SplitKind::Valid, 0, 0);
        let img = Image { channels: 1, height: 2, width: 4, data: (0..8).map(|v| v as f32).collect() };
        let mask = Mask { height: 2, width: 4, data: (0..8).collect() };
        let (pi, pm) = resize_with_mask(&img, &mask, 4, ResizeMethod::Pad, &mut ctx).unwrap();
        assert_eq!(pm.data, pi.data.iter().map(|&v| v as u8).collect::<Vec<_>>(), "a same-scale pad copies both alike");
        let bad = Mask { height: 4, width: 2, data: vec![0; 8] };
        assert!(resize_with_mask(&img, &bad, 4, ResizeMethod::Squish, &mut ctx).unwrap_err().to_string().contains("the mask is 2×4"));
    }
}
