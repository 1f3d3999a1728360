//! Softmax over the rows of a row-major matrix (the last axis of a tensor) in one pass per row,
//! and its backward pass, with the vectorisable `exp`, rows split over threads.

use rayon::prelude::*;

use crate::nn::math::exp;

/// Lanes of the partial maxima and sums: reductions written this way vectorise (a plain float
/// fold cannot be reordered by the compiler, so it stays scalar).
const LANES: usize = 16;

#[inline(always)]
fn max_of(v: &[f32]) -> f32 {
    let mut m = [f32::NEG_INFINITY; LANES];
    let chunks = v.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for (m, &x) in m.iter_mut().zip(c) {
            *m = if x > *m { x } else { *m };
        }
    }
    rest.iter().chain(&m).fold(f32::NEG_INFINITY, |a, &b| if b > a { b } else { a })
}

#[inline(always)]
fn sum_of(v: &[f32]) -> f32 {
    let mut s = [0.0f32; LANES];
    let chunks = v.chunks_exact(LANES);
    let rest = chunks.remainder();
    for c in chunks {
        for (s, &x) in s.iter_mut().zip(c) {
            *s += x;
        }
    }
    s.iter().sum::<f32>() + rest.iter().sum::<f32>()
}

#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut s = [0.0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let rest: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (ca, cb) in ca.zip(cb) {
        for ((s, &x), &y) in s.iter_mut().zip(ca).zip(cb) {
            *s += x * y;
        }
    }
    s.iter().sum::<f32>() + rest
}

/// Rows per thread task.
fn rows_per_task(n: usize) -> usize {
    (16_384 / n.max(1)).max(1)
}

avx512! {
    fn forward_rows(x: &[f32], y: &mut [f32], n: usize) {
        for (xr, yr) in x.chunks_exact(n).zip(y.chunks_exact_mut(n)) {
            let max = max_of(xr);
            for (y, &x) in yr.iter_mut().zip(xr) {
                *y = exp(x - max);
            }
            let inv = 1.0 / sum_of(yr);
            for y in yr.iter_mut() {
                *y *= inv;
            }
        }
    }
}

avx512! {
    fn backward_rows(y: &[f32], g: &[f32], dx: &mut [f32], n: usize) {
        for ((yr, gr), dr) in y.chunks_exact(n).zip(g.chunks_exact(n)).zip(dx.chunks_exact_mut(n)) {
            let dot = dot(yr, gr);
            for ((d, &y), &g) in dr.iter_mut().zip(yr).zip(gr) {
                *d = y * (g - dot);
            }
        }
    }
}

/// The softmax of every row of `n` values.
pub fn forward(x: &[f32], n: usize) -> Vec<f32> {
    let mut y = vec![0.0; x.len()];
    let chunk = rows_per_task(n) * n;
    y.par_chunks_mut(chunk).zip(x.par_chunks(chunk)).for_each(|(y, x)| forward_rows(x, y, n));
    y
}

/// The input's gradient from the output `y` and its gradient `g`: `y · (g − Σ g·y)` per row.
pub fn backward(y: &[f32], g: &[f32], n: usize) -> Vec<f32> {
    let mut dx = vec![0.0; y.len()];
    let chunk = rows_per_task(n) * n;
    dx.par_chunks_mut(chunk).zip(y.par_chunks(chunk).zip(g.par_chunks(chunk))).for_each(|(d, (y, g))| backward_rows(y, g, d, n));
    dx
}
