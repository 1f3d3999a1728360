//! The geometric half of fastai's `aug_transforms`: flips, rotation, zoom and perspective warp
//! as 3×3 matrices composed into one homography, turned into a [`CoordMap`] (the source
//! position of every output pixel, with reflection padding) and sampled **once**: an image
//! bilinearly (or nearest), its mask nearest, through the same map.
//!
//! Coordinates are fastai's: `[-1, 1]` across the image on both axes, pixel centres at
//! `(i + 0.5) / n · 2 - 1`; a matrix maps output coordinates to input coordinates.

use serde::{Deserialize, Serialize};

use crate::data::image::{Image, Mask};
use crate::error::Result;

/// A row-major 3×3 homography from output to input coordinates (both in `[-1, 1]`).
pub type Matrix = [f32; 9];

/// The matrix that moves nothing.
pub const IDENTITY: Matrix = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];

/// `a · b`: the transform `b` applied to output coordinates first, then `a`.
pub fn compose(a: &Matrix, b: &Matrix) -> Matrix {
    let mut out = [0f32; 9];
    for r in 0..3 {
        for c in 0..3 {
            out[r * 3 + c] = (0..3).map(|k| a[r * 3 + k] * b[k * 3 + c]).sum();
        }
    }
    out
}

/// Mirror left to right.
pub fn flip_horizontal() -> Matrix {
    [-1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
}

/// Mirror top to bottom.
pub fn flip_vertical() -> Matrix {
    [1.0, 0.0, 0.0, 0.0, -1.0, 0.0, 0.0, 0.0, 1.0]
}

/// Rotation by `radians` about the centre.
pub fn rotation(radians: f32) -> Matrix {
    let (s, c) = (radians.sin(), radians.cos());
    [c, -s, 0.0, s, c, 0.0, 0.0, 0.0, 1.0]
}

/// Zoom in by `1 / scale` about `(cx, cy)`: the output shows the window of half-side `scale`
/// centred there.
pub fn zoom(scale: f32, cx: f32, cy: f32) -> Matrix {
    [scale, 0.0, cx, 0.0, scale, cy, 0.0, 0.0, 1.0]
}

/// A perspective warp tilting the image by `wx` horizontally and `wy` vertically.
pub fn perspective(wx: f32, wy: f32) -> Matrix {
    [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, wx * 0.5, wy * 0.5, 1.0]
}

/// How image pixels are read between sample points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Interpolation {
    /// Images.
    Bilinear,
    /// Masks and labels: never invent a value between two (masks are always sampled so).
    Nearest,
}

/// Where every output pixel of a `height × width` image reads from under a homography: source
/// positions in pixel coordinates, reflected about the image's edges and clamped inside it.
/// Built once per draw, it serves an image and its mask alike.
#[derive(Clone, Debug, PartialEq)]
pub struct CoordMap {
    /// Rows (of the output and the source alike).
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// `(x, y)` source position of each output pixel, row-major.
    pub points: Vec<(f32, f32)>,
}

impl CoordMap {
    /// The map of `matrix` over a `height × width` image.
    pub fn new(matrix: &Matrix, height: usize, width: usize) -> Self {
        let (h, w, m) = (height, width, matrix);
        let reflect = |v: f32, n: usize| -> f32 {
            // Reflect about the image's outer edges (-0.5 and n - 0.5 in pixel coordinates).
            let period = 2.0 * n as f32;
            let mut t = (v + 0.5).rem_euclid(period);
            if t > n as f32 {
                t = period - t;
            }
            (t - 0.5).clamp(0.0, n.saturating_sub(1) as f32)
        };
        let mut points = Vec::with_capacity(h * w);
        for oy in 0..h {
            let y = (oy as f32 + 0.5) / h as f32 * 2.0 - 1.0;
            for ox in 0..w {
                let x = (ox as f32 + 0.5) / w as f32 * 2.0 - 1.0;
                let zz = m[6] * x + m[7] * y + m[8];
                let (sx, sy) = ((m[0] * x + m[1] * y + m[2]) / zz, (m[3] * x + m[4] * y + m[5]) / zz);
                points.push((reflect((sx + 1.0) / 2.0 * w as f32 - 0.5, w), reflect((sy + 1.0) / 2.0 * h as f32 - 0.5, h)));
            }
        }
        Self { height, width, points }
    }

    fn check(&self, what: &str, h: usize, w: usize) -> Result<()> {
        if (h, w) != (self.height, self.width) {
            return Err(crate::error::Error::Data(format!(
                "a {}×{} {what} cannot be sampled through a map made for {}×{}",
                w, h, self.width, self.height
            )));
        }
        Ok(())
    }

    /// `img` resampled through the map (an error if its size is not the map's).
    pub fn image(&self, img: &Image, interp: Interpolation) -> Result<Image> {
        self.check("image", img.height, img.width)?;
        Ok(self.sample_image(img, interp))
    }

    /// `mask` resampled through the map with nearest-neighbour sampling (an error if its size
    /// is not the map's).
    pub fn mask(&self, mask: &Mask) -> Result<Mask> {
        self.check("mask", mask.height, mask.width)?;
        Ok(Mask { height: self.height, width: self.width, data: self.nearest(&mask.data) })
    }

    /// [`CoordMap::image`] for an image known to have the map's size.
    pub(super) fn sample_image(&self, img: &Image, interp: Interpolation) -> Image {
        let (h, w, ch) = (self.height, self.width, img.channels);
        let mut data = Vec::with_capacity(ch * h * w);
        for c in 0..ch {
            let plane = img.plane(c);
            match interp {
                Interpolation::Nearest => data.extend(self.nearest(plane)),
                Interpolation::Bilinear => data.extend(self.points.iter().map(|&(fx, fy)| {
                    let at = |yy: usize, xx: usize| plane[yy * w + xx];
                    let (x0, y0) = (fx.floor() as usize, fy.floor() as usize);
                    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
                    let (tx, ty) = (fx - x0 as f32, fy - y0 as f32);
                    let top = at(y0, x0) * (1.0 - tx) + at(y0, x1) * tx;
                    let bottom = at(y1, x0) * (1.0 - tx) + at(y1, x1) * tx;
                    top * (1.0 - ty) + bottom * ty
                })),
            }
        }
        Image { channels: ch, height: h, width: w, data }
    }

    /// The nearest source value of every output pixel, for one `height × width` plane.
    fn nearest<T: Copy>(&self, plane: &[T]) -> Vec<T> {
        self.points.iter().map(|&(fx, fy)| plane[fy.round() as usize * self.width + fx.round() as usize]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(h: usize, w: usize) -> Image {
        Image { channels: 2, height: h, width: w, data: (0..2 * h * w).map(|i| ((i * 37) % 101) as f32 / 100.0).collect() }
    }

    #[test]
    fn the_identity_map_reads_every_pixel_centre_and_a_flip_mirrors() {
        let img = ramp(6, 8);
        let same = CoordMap::new(&IDENTITY, 6, 8).image(&img, Interpolation::Bilinear).unwrap();
        assert!(same.data.iter().zip(&img.data).all(|(a, b)| (a - b).abs() < 1e-5));
        let flip = CoordMap::new(&flip_horizontal(), 6, 8);
        let once = flip.image(&img, Interpolation::Bilinear).unwrap();
        assert!((once.data[0] - img.data[7]).abs() < 1e-5, "the first pixel takes the last of its row");
        let twice = flip.image(&once, Interpolation::Bilinear).unwrap();
        assert!(twice.data.iter().zip(&img.data).all(|(a, b)| (a - b).abs() < 1e-5));
        let mask = Mask { height: 6, width: 8, data: (0..48).map(|i| (i % 8) as u8).collect() };
        assert_eq!(flip.mask(&mask).unwrap().data[..8], [7, 6, 5, 4, 3, 2, 1, 0]);
    }

    #[test]
    fn a_quarter_turn_of_a_square_turns_the_mask_exactly() {
        // 90° on a square grid lands on pixel centres: the mask is the transposed-and-mirrored one.
        let n = 5;
        let mask = Mask { height: n, width: n, data: (0..(n * n) as u8).collect() };
        let turned = CoordMap::new(&rotation(std::f32::consts::FRAC_PI_2), n, n).mask(&mask).unwrap();
        for y in 0..n {
            for x in 0..n {
                // Output (x, y) reads source (-y, x) in centred coordinates.
                assert_eq!(turned.data[y * n + x], mask.data[x * n + (n - 1 - y)], "at ({x}, {y})");
            }
        }
    }

    #[test]
    fn a_map_refuses_an_image_or_mask_of_another_size() {
        let map = CoordMap::new(&IDENTITY, 4, 4);
        assert!(map.image(&ramp(4, 5), Interpolation::Nearest).unwrap_err().to_string().contains("5×4 image"));
        let err = map.mask(&Mask { height: 3, width: 4, data: vec![0; 12] }).unwrap_err().to_string();
        assert!(err.contains("4×3 mask") && err.contains("4×4"), "{err}");
    }
}
