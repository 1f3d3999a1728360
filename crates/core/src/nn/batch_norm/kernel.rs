//! BatchNorm on the CPU for `f32` tensors laid out `[N, C, L]` (L = the product of the
//! spatial axes, 1 for tabular rows): one pass for the statistics, one to normalise, and two
//! for the backward pass, where burn's generic version transposes and re-reads the activation
//! about ten times.
//!
//! The sums are split between the threads by rows (`N`), each thread summing into its own
//! per-channel accumulators (in `f64`), combined in a fixed order: a run is reproducible for a
//! given number of threads. The elementwise passes (normalising, the input gradient) are split
//! by channel planes, so that a batch of one image uses every thread too.

use rayon::prelude::*;

use crate::nn::flex::split_evenly;

/// Below this many values one thread does all the work.
const PARALLEL_FROM: usize = 1 << 16;

/// Values of one task when channel planes are shared out.
const MIN_TASK: usize = 1 << 14;

/// `[N, C, L]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BatchNormShape {
    /// Rows.
    pub n: usize,
    /// Channels.
    pub c: usize,
    /// Values per channel and row.
    pub l: usize,
}

impl BatchNormShape {
    /// Reads `[N, C, ...]`.
    pub fn of(dims: &[usize]) -> Self {
        Self { n: dims[0], c: dims.get(1).copied().unwrap_or(1), l: dims.iter().skip(2).product() }
    }

    fn row(&self) -> usize {
        self.c * self.l
    }

    /// Values per channel over the batch.
    pub fn count(&self) -> usize {
        self.n * self.l
    }

    fn threads(&self) -> usize {
        if self.n * self.row() < PARALLEL_FROM { 1 } else { rayon::current_num_threads().clamp(1, self.n.max(1)) }
    }

    fn ranges(&self) -> Vec<std::ops::Range<usize>> {
        split_evenly(self.n, self.threads())
    }
}

/// Per-channel sums over the batch of `f(channel, a, b)`, two values per element of the
/// equally shaped `a` and `b`, added up in `f64`. With one value per channel and row (tabular
/// data) the loop runs along the channels of a row; otherwise along each channel's segment.
fn channel_sums(s: BatchNormShape, a: &[f32], b: &[f32], f: impl Fn(usize, f32, f32) -> (f32, f32) + Sync) -> Vec<[f64; 2]> {
    let parts: Vec<Vec<[f64; 2]>> = s
        .ranges()
        .into_par_iter()
        .map(|rows| {
            let mut acc = vec![[0.0f64; 2]; s.c];
            for n in rows {
                let row = n * s.row()..(n + 1) * s.row();
                if s.l == 1 {
                    for (c, ((acc, &x), &y)) in acc.iter_mut().zip(&a[row.clone()]).zip(&b[row]).enumerate() {
                        let (p, q) = f(c, x, y);
                        acc[0] += p as f64;
                        acc[1] += q as f64;
                    }
                } else {
                    for (c, acc) in acc.iter_mut().enumerate() {
                        let seg = row.start + c * s.l..row.start + (c + 1) * s.l;
                        let [p, q] = lane_sums(&a[seg.clone()], &b[seg], |x, y| f(c, x, y));
                        acc[0] += p;
                        acc[1] += q;
                    }
                }
            }
            acc
        })
        .collect();
    let mut total = vec![[0.0f64; 2]; s.c];
    for part in parts {
        for (t, p) in total.iter_mut().zip(part) {
            t[0] += p[0];
            t[1] += p[1];
        }
    }
    total
}

/// `(Σ f(a, b).0, Σ f(a, b).1)` over two equally long slices, in eight `f32` lanes the compiler
/// vectorises (a segment is at most one row of one channel, so `f32` partial sums stay exact
/// enough before they are added up in `f64`).
fn lane_sums(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> (f32, f32)) -> [f64; 2] {
    let (mut s0, mut s1) = ([0.0f32; 8], [0.0f32; 8]);
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for j in 0..8 {
            let (p, q) = f(x[j], y[j]);
            s0[j] += p;
            s1[j] += q;
        }
    }
    let (mut t0, mut t1) = (s0.iter().map(|&v| v as f64).sum::<f64>(), s1.iter().map(|&v| v as f64).sum::<f64>());
    for (&x, &y) in ra.iter().zip(rb) {
        let (p, q) = f(x, y);
        t0 += p as f64;
        t1 += q as f64;
    }
    [t0, t1]
}

/// `out = x · scale[c] + shift[c]` (+ `y · y_scale[c]` when `y` is given). Each value on its
/// own, so the split between the threads is free: by rows with one value per channel, by
/// channel planes (`N·C` of `L` values) otherwise, so that one image's planes (a server's
/// batch of one) are shared out too.
fn affine(s: BatchNormShape, x: &[f32], scale: &[f32], shift: &[f32], y: Option<(&[f32], &[f32])>) -> Vec<f32> {
    let mut out = vec![0.0f32; x.len()];
    if out.is_empty() {
        return out;
    }
    if s.l == 1 {
        let row = s.row().max(1);
        let apply = |(n, o): (usize, &mut [f32])| {
            let xs = &x[n * row..(n + 1) * row];
            match y {
                None => o.iter_mut().zip(xs).zip(scale.iter().zip(shift)).for_each(|((d, v), (a, b))| *d = v * a + b),
                Some((y, ys)) => {
                    let ys_row = &y[n * row..(n + 1) * row];
                    o.iter_mut().zip(xs).zip(scale.iter().zip(shift)).zip(ys_row.iter().zip(ys)).for_each(|(((d, v), (a, b)), (w, e))| *d = v * a + w * e + b)
                }
            }
        };
        if s.threads() > 1 {
            out.par_chunks_mut(row).enumerate().for_each(apply);
        } else {
            out.chunks_mut(row).enumerate().for_each(apply);
        }
        return out;
    }
    let plane = |(i, dst): (usize, &mut [f32])| {
        let ch = i % s.c;
        let range = i * s.l..(i + 1) * s.l;
        let (a, b) = (scale[ch], shift[ch]);
        match y {
            None => dst.iter_mut().zip(&x[range]).for_each(|(d, v)| *d = v * a + b),
            Some((y, ys)) => {
                let e = ys[ch];
                dst.iter_mut().zip(&x[range.clone()]).zip(&y[range]).for_each(|((d, v), w)| *d = v * a + w * e + b)
            }
        }
    };
    if x.len() >= PARALLEL_FROM && rayon::current_num_threads() > 1 {
        out.par_chunks_mut(s.l).enumerate().with_min_len(MIN_TASK.div_ceil(s.l)).for_each(plane);
    } else {
        out.chunks_mut(s.l).enumerate().for_each(plane);
    }
    out
}

/// The training forward pass: the output normalised with the batch's mean and (biased)
/// variance, and those statistics.
pub fn train_forward(s: BatchNormShape, x: &[f32], gamma: &[f32], beta: &[f32], epsilon: f64) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    // Sums of (x - k) and (x - k)², k = the channel's first value: shifting by a value near
    // the mean keeps the variance exact when the mean is large against the spread.
    let shift: Vec<f32> = (0..s.c).map(|c| if s.count() > 0 { x[c * s.l] } else { 0.0 }).collect();
    let sums = channel_sums(s, x, x, |c, v, _| (v - shift[c], (v - shift[c]) * (v - shift[c])));
    let count = s.count().max(1) as f64;
    let mean: Vec<f64> = sums.iter().zip(&shift).map(|([a, _], &k)| k as f64 + a / count).collect();
    let var: Vec<f64> = sums.iter().map(|[a, b]| ((b - a * a / count) / count).max(0.0)).collect();
    let out = inference(s, x, gamma, beta, &to_f32(&mean), &to_f32(&var), epsilon);
    (out, to_f32(&mean), to_f32(&var))
}

fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

fn inv_std(var: &[f32], epsilon: f64) -> Vec<f64> {
    var.iter().map(|&v| 1.0 / (v as f64 + epsilon).sqrt()).collect()
}

/// Normalisation with given statistics (inference, or the training pass once they are known).
pub fn inference(s: BatchNormShape, x: &[f32], gamma: &[f32], beta: &[f32], mean: &[f32], var: &[f32], epsilon: f64) -> Vec<f32> {
    let is = inv_std(var, epsilon);
    let scale: Vec<f32> = (0..s.c).map(|c| (gamma[c] as f64 * is[c]) as f32).collect();
    let shift: Vec<f32> = (0..s.c).map(|c| (beta[c] as f64 - mean[c] as f64 * gamma[c] as f64 * is[c]) as f32).collect();
    affine(s, x, &scale, &shift, None)
}

/// The training backward pass: gradients for the input, the scale and the shift, with the
/// batch statistics treated as functions of the input.
pub fn train_backward(s: BatchNormShape, x: &[f32], dy: &[f32], gamma: &[f32], mean: &[f32], var: &[f32], epsilon: f64, need_dx: bool) -> (Option<Vec<f32>>, Vec<f32>, Vec<f32>) {
    let is = inv_std(var, epsilon);
    // Σ dy and Σ dy·x̂, with x̂ = (x - mean)·inv_std.
    let sums = channel_sums(s, x, dy, |c, x, g| (g, g * (x - mean[c])));
    let dbeta: Vec<f64> = sums.iter().map(|[a, _]| *a).collect();
    let dgamma: Vec<f64> = sums.iter().zip(&is).map(|([_, b], is)| b * is).collect();
    let dx = need_dx.then(|| {
        // dx = g·is·(dy - Σdy/N - x̂·Σdy·x̂/N) = a·dy + b·x + c.
        let count = s.count().max(1) as f64;
        let (mut a, mut b, mut c) = (vec![0.0f32; s.c], vec![0.0f32; s.c], vec![0.0f32; s.c]);
        for ch in 0..s.c {
            let k = gamma[ch] as f64 * is[ch];
            let slope = -k * is[ch] * dgamma[ch] / count;
            a[ch] = k as f32;
            b[ch] = slope as f32;
            c[ch] = (-k * dbeta[ch] / count - slope * mean[ch] as f64) as f32;
        }
        affine(s, x, &b, &c, Some((dy, &a)))
    });
    (dx, to_f32(&dgamma), to_f32(&dbeta))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 33) as f32 / (1u64 << 31) as f32) * 4.0 - 1.0
            })
            .collect()
    }

    /// The loss `Σ bn(x)·r`, computed in f64 from the definition, for finite differences.
    fn loss(s: BatchNormShape, x: &[f32], gamma: &[f32], beta: &[f32], r: &[f32]) -> f64 {
        let at = |n: usize, c: usize, l: usize| n * s.c * s.l + c * s.l + l;
        let mut total = 0.0;
        for c in 0..s.c {
            let vals: Vec<(f64, f64)> = (0..s.n).flat_map(|n| (0..s.l).map(move |l| at(n, c, l))).map(|i| (x[i] as f64, r[i] as f64)).collect();
            let mean = vals.iter().map(|v| v.0).sum::<f64>() / vals.len() as f64;
            let var = vals.iter().map(|v| (v.0 - mean).powi(2)).sum::<f64>() / vals.len() as f64;
            let is = 1.0 / (var + 1e-5).sqrt();
            total += vals.iter().map(|(v, w)| ((v - mean) * is * gamma[c] as f64 + beta[c] as f64) * w).sum::<f64>();
        }
        total
    }

    #[test]
    fn statistics_and_output_per_channel() {
        // Two rows, two channels, two values each: channel 0 holds 1, 2, 5, 6; channel 1 holds 3, 4, 7, 8.
        let s = BatchNormShape::of(&[2, 2, 2]);
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0];
        let (out, mean, var) = train_forward(s, &x, &[1.0, 2.0], &[0.0, 1.0], 0.0);
        assert_eq!(mean, [3.5, 5.5]);
        assert_eq!(var, [4.25, 4.25]);
        let z = |v: f32, m: f32| (v - m) / 4.25f32.sqrt();
        assert!((out[0] - z(1.0, 3.5)).abs() < 1e-6);
        assert!((out[2] - (2.0 * z(3.0, 5.5) + 1.0)).abs() < 1e-6);
    }

    /// One image's channel planes, shared out between the threads, each normalised with its
    /// own channel's statistics.
    #[test]
    fn inference_of_one_large_image() {
        let s = BatchNormShape::of(&[1, 5, 30000]);
        let x = values(s.n * s.c * s.l, 1);
        let (gamma, beta, mean) = (values(s.c, 2), values(s.c, 3), values(s.c, 4));
        let var: Vec<f32> = values(s.c, 5).iter().map(|v| v.abs() + 0.5).collect();
        let out = inference(s, &x, &gamma, &beta, &mean, &var, 1e-5);
        for (i, (o, v)) in out.iter().zip(&x).enumerate() {
            let c = i / s.l;
            let expected = (v - mean[c]) / (var[c] + 1e-5).sqrt() * gamma[c] + beta[c];
            assert!((o - expected).abs() < 1e-5, "value {i}: {o} against {expected}");
        }
    }

    #[test]
    fn variance_is_exact_for_a_large_mean() {
        // 1000 + [0, 1, 2, 3]: variance 1.25, which `E[x²] - E[x]²` in f32 would lose.
        let s = BatchNormShape::of(&[4, 1]);
        let (_, mean, var) = train_forward(s, &[1000.0, 1001.0, 1002.0, 1003.0], &[1.0], &[0.0], 1e-5);
        assert_eq!(mean, [1001.5]);
        assert!((var[0] - 1.25).abs() < 1e-6, "{var:?}");
    }

    #[test]
    fn backward_matches_finite_differences() {
        for dims in [[3usize, 4, 5], [64, 6, 1], [2, 3, 20000]] {
            let s = BatchNormShape::of(&dims);
            let len = dims.iter().product();
            let x = values(len, 1);
            let r = values(len, 2);
            let gamma = values(s.c, 3);
            let beta = values(s.c, 4);
            let (dx, dgamma, dbeta) = train_backward(s, &x, &r, &gamma, &train_forward(s, &x, &gamma, &beta, 1e-5).1, &train_forward(s, &x, &gamma, &beta, 1e-5).2, 1e-5, true);
            let dx = dx.unwrap();
            let h = 1e-3f32;
            for i in [0, len / 2, len - 1] {
                let (mut p, mut m) = (x.clone(), x.clone());
                p[i] += h;
                m[i] -= h;
                let fd = (loss(s, &p, &gamma, &beta, &r) - loss(s, &m, &gamma, &beta, &r)) / (2.0 * h as f64);
                assert!((fd - dx[i] as f64).abs() < 2e-2 * fd.abs().max(1.0), "{dims:?} dx[{i}]: {fd} vs {}", dx[i]);
            }
            let (mut p, mut m) = (gamma.clone(), gamma.clone());
            p[1] += h;
            m[1] -= h;
            let fd = (loss(s, &x, &p, &beta, &r) - loss(s, &x, &m, &beta, &r)) / (2.0 * h as f64);
            assert!((fd - dgamma[1] as f64).abs() < 2e-2 * fd.abs().max(1.0), "{dims:?} dgamma: {fd} vs {}", dgamma[1]);
            let expected_dbeta: f64 = (0..s.n).flat_map(|n| (0..s.l).map(move |l| (n, l))).map(|(n, l)| r[n * s.c * s.l + s.l + l] as f64).sum();
            assert!((expected_dbeta - dbeta[1] as f64).abs() < 1e-3 * expected_dbeta.abs().max(1.0));
        }
    }
}
