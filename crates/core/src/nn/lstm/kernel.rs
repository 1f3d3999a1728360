//! One LSTM layer over a whole sequence on `f32` slices, forward and backward, as PyTorch's
//! `nn.LSTM` computes it (gates in the order input, forget, cell, output).
//!
//! The input projection `x·W_ihᵀ + b` is one large matrix product done by the caller for all
//! steps at once; what is left per step is `h_{t-1}·W_hhᵀ` (one matrix product into the gate
//! buffer, in place) and the gate arithmetic, split over the batch rows between the threads.
//! Every buffer is allocated once per call, none per step. The backward pass runs the steps in
//! reverse, then computes `dW_hh` as one product over all steps.
//!
//! Layouts, row-major: `xw` and the gate buffers `[batch, steps, 4·hidden]`; `out`
//! `[batch, steps + 1, hidden]` holding `h_1 … h_T` and, in its last slot, `c_T`; the cell
//! states `[batch, steps, hidden]`.

use rayon::prelude::*;

use crate::nn::math::exp;
use super::packed::PackedB;
use crate::nn::matmul::{View, matmul};

/// The sizes of one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LstmShape {
    /// Sequences in the batch.
    pub batch: usize,
    /// Time steps.
    pub steps: usize,
    /// Hidden size (the gate buffers are four times wider).
    pub hidden: usize,
}

impl LstmShape {
    fn gates(&self) -> usize {
        4 * self.hidden
    }
}

/// What the forward pass keeps for the backward pass.
pub struct Saved {
    /// The activated gates `[batch, steps, 4·hidden]`.
    pub gates: Vec<f32>,
    /// The cell states `[batch, steps, hidden]`.
    pub cells: Vec<f32>,
}

#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}

#[inline(always)]
fn tanh(x: f32) -> f32 {
    2.0 * sigmoid(2.0 * x) - 1.0
}

fn par(s: &LstmShape) -> gemm::Parallelism {
    if rayon::current_num_threads() > 1 && s.batch * s.gates() >= 1 << 14 { gemm::Parallelism::Rayon(0) } else { gemm::Parallelism::None }
}

avx512! {
    /// The gate arithmetic of step `t` for one sequence: activates `gates` in place and writes
    /// `c_t` and `h_t`.
    fn step_forward(gates: &mut [f32], c_prev: &[f32], c: &mut [f32], h: &mut [f32]) {
        let n = c.len();
        let (i, rest) = gates.split_at_mut(n);
        let (f, rest) = rest.split_at_mut(n);
        let (g, o) = rest.split_at_mut(n);
        for j in 0..n {
            let (ij, fj, gj, oj) = (sigmoid(i[j]), sigmoid(f[j]), tanh(g[j]), sigmoid(o[j]));
            i[j] = ij;
            f[j] = fj;
            g[j] = gj;
            o[j] = oj;
            let cj = fj * c_prev[j] + ij * gj;
            c[j] = cj;
            h[j] = oj * tanh(cj);
        }
    }
}

avx512! {
    /// The gate gradients of step `t` for one sequence, from `dh` (the output's gradient plus
    /// the recurrent one) and the cell gradient carried from step `t + 1`, which it updates to
    /// the one carried to step `t - 1`.
    fn step_backward(gates: &[f32], c: &[f32], c_prev: &[f32], dh_out: &[f32], dh_rec: &[f32], dc: &mut [f32], dgates: &mut [f32]) {
        let n = c.len();
        let (di, rest) = dgates.split_at_mut(n);
        let (df, rest) = rest.split_at_mut(n);
        let (dg, d_o) = rest.split_at_mut(n);
        for j in 0..n {
            let (i, f, g, o) = (gates[j], gates[n + j], gates[2 * n + j], gates[3 * n + j]);
            let tc = tanh(c[j]);
            let dh = dh_out[j] + dh_rec[j];
            let dcj = dc[j] + dh * o * (1.0 - tc * tc);
            di[j] = dcj * g * i * (1.0 - i);
            df[j] = dcj * c_prev[j] * f * (1.0 - f);
            dg[j] = dcj * i * (1.0 - g * g);
            d_o[j] = dh * tc * o * (1.0 - o);
            dc[j] = dcj * f;
        }
    }
}

fn check(s: &LstmShape, xw: &[f32], w_hh: &[f32], h0: &[f32], c0: &[f32]) {
    let (b, t, h) = (s.batch, s.steps, s.hidden);
    assert_eq!(xw.len(), b * t * 4 * h, "xw must be [batch, steps, 4·hidden]");
    assert_eq!(w_hh.len(), 4 * h * h, "w_hh must be [4·hidden, hidden]");
    assert_eq!((h0.len(), c0.len()), (b * h, b * h), "h0 and c0 must be [batch, hidden]");
}

/// The forward pass: `out` (`[batch, steps + 1, hidden]`, see the module doc) and what the
/// backward pass needs. Panics when a slice's length does not match `s`.
pub fn forward(s: &LstmShape, xw: &[f32], w_hh: &[f32], h0: &[f32], c0: &[f32]) -> (Vec<f32>, Saved) {
    check(s, xw, w_hh, h0, c0);
    let (b, t_len, h, g4) = (s.batch, s.steps, s.hidden, s.gates());
    let mut gates = xw.to_vec();
    let mut cells = vec![0.0f32; b * t_len * h];
    let mut out = vec![0.0f32; b * (t_len + 1) * h];
    if b == 0 || h == 0 {
        return (out, Saved { gates, cells });
    }
    let w_t = PackedB::new(w_hh, h, g4, true);
    for t in 0..t_len {
        let (h_prev, ld) = if t == 0 { (h0, h) } else { (&out[(t - 1) * h..], (t_len + 1) * h) };
        w_t.mul_add(h_prev, ld, b, &mut gates[t * g4..], t_len * g4);
        gates
            .par_chunks_mut(t_len * g4)
            .zip(cells.par_chunks_mut(t_len * h))
            .zip(out.par_chunks_mut((t_len + 1) * h))
            .enumerate()
            .for_each(|(row, ((gr, cr), or))| {
                let (before, now) = cr.split_at_mut(t * h);
                let c_prev = if t == 0 { &c0[row * h..(row + 1) * h] } else { &before[(t - 1) * h..] };
                step_forward(&mut gr[t * g4..(t + 1) * g4], c_prev, &mut now[..h], &mut or[t * h..(t + 1) * h]);
            });
    }
    if t_len > 0 {
        for row in 0..b {
            let c_last = (row * t_len + t_len - 1) * h;
            out[(row * (t_len + 1) + t_len) * h..][..h].copy_from_slice(&cells[c_last..c_last + h]);
        }
    } else {
        for row in 0..b {
            out[row * h..(row + 1) * h].copy_from_slice(&c0[row * h..(row + 1) * h]);
        }
    }
    (out, Saved { gates, cells })
}

/// The gradients of `xw` (`[batch, steps, 4·hidden]`) and of `w_hh` (`[4·hidden, hidden]`)
/// from `dout`, the gradient of `out` (its `c_T` slot is ignored: the final states are passed
/// on detached). `want_w` false skips `dW_hh` (a frozen layer).
#[allow(clippy::too_many_arguments)]
pub fn backward(s: &LstmShape, w_hh: &[f32], h0: &[f32], c0: &[f32], out: &[f32], saved: &Saved, dout: &[f32], want_w: bool) -> (Vec<f32>, Option<Vec<f32>>) {
    let (b, t_len, h, g4) = (s.batch, s.steps, s.hidden, s.gates());
    assert_eq!(dout.len(), b * (t_len + 1) * h, "dout must be [batch, steps + 1, hidden]");
    let mut dgates = vec![0.0f32; b * t_len * g4];
    if b == 0 || h == 0 || t_len == 0 {
        return (dgates, want_w.then(|| vec![0.0; g4 * h]));
    }
    let mut dh_rec = vec![0.0f32; b * h];
    let mut dc = vec![0.0f32; b * h];
    let w = PackedB::new(w_hh, g4, h, false);
    for t in (0..t_len).rev() {
        dgates
            .par_chunks_mut(t_len * g4)
            .zip(dc.par_chunks_mut(h))
            .zip(dh_rec.par_chunks(h))
            .enumerate()
            .for_each(|(row, ((dgr, dcr), dhr))| {
                let cr = &saved.cells[row * t_len * h..(row + 1) * t_len * h];
                let c_prev = if t == 0 { &c0[row * h..(row + 1) * h] } else { &cr[(t - 1) * h..t * h] };
                let gates = &saved.gates[(row * t_len + t) * g4..][..g4];
                let dh_out = &dout[(row * (t_len + 1) + t) * h..][..h];
                step_backward(gates, &cr[t * h..(t + 1) * h], c_prev, dh_out, dhr, dcr, &mut dgr[t * g4..(t + 1) * g4]);
            });
        if t > 0 {
            dh_rec.fill(0.0);
            w.mul_add(&dgates[t * g4..], t_len * g4, b, &mut dh_rec, h);
        }
    }
    let dw = want_w.then(|| {
        // dW_hh = Σ over rows and steps of dgates[r, t]ᵀ · h_{t-1}[r]: one product over all of them.
        let mut h_prev = vec![0.0f32; b * t_len * h];
        for row in 0..b {
            h_prev[row * t_len * h..][..h].copy_from_slice(&h0[row * h..(row + 1) * h]);
            let src = &out[row * (t_len + 1) * h..][..(t_len - 1) * h];
            h_prev[row * t_len * h + h..][..(t_len - 1) * h].copy_from_slice(src);
        }
        let mut dw = vec![0.0f32; g4 * h];
        matmul(&mut dw, h, false, g4, h, b * t_len, View::rows(&dgates, g4).transposed(), View::rows(&h_prev, h), par(s));
        dw
    });
    (dgates, dw)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plain scalar LSTM, step by step, for reference.
    fn reference(s: &LstmShape, xw: &[f32], w: &[f32], h0: &[f32], c0: &[f32]) -> Vec<f32> {
        let (b, tl, h) = (s.batch, s.steps, s.hidden);
        let mut out = vec![0.0; b * (tl + 1) * h];
        for r in 0..b {
            let (mut hp, mut cp) = (h0[r * h..(r + 1) * h].to_vec(), c0[r * h..(r + 1) * h].to_vec());
            for t in 0..tl {
                let mut g: Vec<f64> = (0..4 * h).map(|k| xw[(r * tl + t) * 4 * h + k] as f64 + (0..h).map(|j| (w[k * h + j] * hp[j]) as f64).sum::<f64>()).collect();
                let sig = |x: f64| 1.0 / (1.0 + (-x).exp());
                for k in 0..h {
                    g[k] = sig(g[k]);
                    g[h + k] = sig(g[h + k]);
                    g[2 * h + k] = g[2 * h + k].tanh();
                    g[3 * h + k] = sig(g[3 * h + k]);
                }
                for k in 0..h {
                    let c = g[h + k] * cp[k] as f64 + g[k] * g[2 * h + k];
                    cp[k] = c as f32;
                    hp[k] = (g[3 * h + k] * c.tanh()) as f32;
                    out[(r * (tl + 1) + t) * h + k] = hp[k];
                }
            }
            out[(r * (tl + 1) + tl) * h..][..h].copy_from_slice(&cp);
        }
        out
    }

    fn data(n: usize, seed: u32, scale: f32) -> Vec<f32> {
        (0..n).map(|i| ((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) % 1000) as f32 / 1000.0 * 2.0 * scale - scale).collect()
    }

    #[test]
    fn forward_matches_a_scalar_reference() {
        let s = LstmShape { batch: 3, steps: 5, hidden: 4 };
        let (xw, w, h0, c0) = (data(3 * 5 * 16, 1, 1.5), data(16 * 4, 2, 0.7), data(12, 3, 0.5), data(12, 4, 0.5));
        let (out, _) = forward(&s, &xw, &w, &h0, &c0);
        for (a, b) in out.iter().zip(reference(&s, &xw, &w, &h0, &c0)) {
            assert!((a - b).abs() < 2e-6, "{a} vs {b}");
        }
    }

    #[test]
    fn backward_matches_finite_differences() {
        let s = LstmShape { batch: 2, steps: 4, hidden: 3 };
        let (xw, w, h0, c0) = (data(2 * 4 * 12, 5, 1.0), data(12 * 3, 6, 0.8), data(6, 7, 0.5), data(6, 8, 0.5));
        // loss = Σ r · h over all steps, r fixed.
        let r = data(2 * 5 * 3, 9, 1.0);
        let loss = |xw: &[f32], w: &[f32]| -> f64 {
            let out = reference(&s, xw, w, &h0, &c0);
            (0..2).flat_map(|b| (0..4 * 3).map(move |k| (b, k))).map(|(b, k)| (out[b * 15 + k] * r[b * 15 + k]) as f64).sum()
        };
        let (out, saved) = forward(&s, &xw, &w, &h0, &c0);
        let (dxw, dw) = backward(&s, &w, &h0, &c0, &out, &saved, &r, true);
        let dw = dw.unwrap();
        let eps = 1e-2f32;
        for k in (0..xw.len()).step_by(7) {
            let (mut p, mut m) = (xw.clone(), xw.clone());
            p[k] += eps;
            m[k] -= eps;
            let fd = (loss(&p, &w) - loss(&m, &w)) / (2.0 * eps as f64);
            assert!((fd - dxw[k] as f64).abs() < 2e-3, "dxw[{k}]: {fd} vs {}", dxw[k]);
        }
        for k in 0..w.len() {
            let (mut p, mut m) = (w.clone(), w.clone());
            p[k] += eps;
            m[k] -= eps;
            let fd = (loss(&xw, &p) - loss(&xw, &m)) / (2.0 * eps as f64);
            assert!((fd - dw[k] as f64).abs() < 2e-3, "dw[{k}]: {fd} vs {}", dw[k]);
        }
    }
}
