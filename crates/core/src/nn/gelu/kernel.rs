//! The exact (erf) GELU and its derivative, element by element, in straight-line arithmetic the
//! compiler vectorises (no calls into libm), split over threads.

use rayon::prelude::*;

use crate::nn::math::{erf, exp};

/// Elements per thread task: large enough that scheduling costs nothing, small enough to spread.
const CHUNK: usize = 1 << 14;

/// `Φ(x) = (1 + erf(x / √2)) / 2`, the standard normal's distribution function.
#[inline(always)]
fn cdf(x: f32) -> f32 {
    0.5 * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

avx512! {
    fn forward_chunk(x: &[f32], y: &mut [f32]) {
        for (y, &x) in y.iter_mut().zip(x) {
            *y = x * cdf(x);
        }
    }
}

avx512! {
    fn backward_chunk(x: &[f32], g: &[f32], dx: &mut [f32]) {
        // d/dx x·Φ(x) = Φ(x) + x·φ(x), φ(x) = e^(-x²/2) / √(2π)
        const INV_SQRT_2PI: f32 = 0.398_942_3;
        for ((d, &x), &g) in dx.iter_mut().zip(x).zip(g) {
            *d = g * (cdf(x) + x * INV_SQRT_2PI * exp(-0.5 * x * x));
        }
    }
}

/// `x · Φ(x)` for every element.
pub fn forward(x: &[f32]) -> Vec<f32> {
    let mut y = vec![0.0; x.len()];
    y.par_chunks_mut(CHUNK).zip(x.par_chunks(CHUNK)).for_each(|(y, x)| forward_chunk(x, y));
    y
}

/// The input's gradient from the output's: `g · (Φ(x) + x·φ(x))`.
pub fn backward(x: &[f32], g: &[f32]) -> Vec<f32> {
    let mut dx = vec![0.0; x.len()];
    dx.par_chunks_mut(CHUNK).zip(x.par_chunks(CHUNK).zip(g.par_chunks(CHUNK))).for_each(|(d, (x, g))| backward_chunk(x, g, d));
    dx
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::math::tests::erf_ref;

    #[test]
    fn gelu_and_its_derivative() {
        let xs: Vec<f32> = (-2000..=2000).map(|i| i as f32 / 200.0).collect();
        let y = forward(&xs);
        let g = vec![1.0f32; xs.len()];
        let d = backward(&xs, &g);
        for (i, &x) in xs.iter().enumerate() {
            let x64 = x as f64;
            let want = 0.5 * x64 * (1.0 + erf_ref(x64 / 2f64.sqrt()));
            assert!((y[i] as f64 - want).abs() < 1e-6 * (1.0 + x64.abs()), "gelu({x}) = {}, want {want}", y[i]);
            let h = 1e-4;
            let f = |x: f64| 0.5 * x * (1.0 + erf_ref(x / 2f64.sqrt()));
            let num = (f(x64 + h) - f(x64 - h)) / (2.0 * h);
            assert!((d[i] as f64 - num).abs() < 1e-5, "gelu'({x}) = {}, want {num}", d[i]);
        }
    }
}
