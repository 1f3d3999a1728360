//! The LSTM's recurrent product, `C[m, n] += A[m, k] · B[k, n]` with few rows (`m` is the batch)
//! and the same `B` (the recurrent weight) at every time step: `B` is packed once per sequence
//! into panels of 32 columns, and an AVX-512 kernel computes 6 × 32 blocks of `C` from them,
//! the panels split between the threads. A general matrix product packs `B` again at every call,
//! which for a 64-row batch costs about as much as the product itself.
//!
//! Without AVX-512 the product goes to the `gemm` crate.

use rayon::prelude::*;

use crate::nn::matmul::{View, matmul};

/// Columns per panel (two AVX-512 registers).
const NR: usize = 32;
/// Rows per block of the kernel.
const MR: usize = 6;
/// Depth per pass over a panel (a 32 KiB slice of it, to stay in L1).
const KC: usize = 256;

/// `B` (`k × n`) packed for [`PackedB::mul_add`].
pub(crate) struct PackedB {
    k: usize,
    n: usize,
    /// Panel `p` holds columns `32p .. 32p + 32` (zero-padded), row by row: `k × 32` values.
    panels: Vec<f32>,
    /// The original, for the fallback without AVX-512.
    plain: Option<Vec<f32>>,
    plain_view_t: bool,
}

impl PackedB {
    /// Packs `b` (`k × n`): element `(r, c)` at `b[r * rs + c * cs]`.
    pub(crate) fn new(b: &[f32], k: usize, n: usize, transposed: bool) -> Self {
        // transposed: `b` holds Bᵀ row-major (n × k), i.e. element (r, c) = b[c * k + r].
        let at = |r: usize, c: usize| if transposed { b[c * k + r] } else { b[r * n + c] };
        let n_panels = n.div_ceil(NR);
        let mut panels = vec![0.0f32; n_panels * k * NR];
        panels.par_chunks_mut(k * NR).enumerate().for_each(|(p, panel)| {
            for r in 0..k {
                for j in 0..NR {
                    let c = p * NR + j;
                    if c < n {
                        panel[r * NR + j] = at(r, c);
                    }
                }
            }
        });
        Self { k, n, panels, plain: (!has_avx512()).then(|| b.to_vec()), plain_view_t: transposed }
    }

    /// `c[i, :] += a[i, :] · B` for `m` rows; row `i` of `a` at `a[i * lda ..]`, of `c` at
    /// `c[i * ldc ..]`.
    pub(crate) fn mul_add(&self, a: &[f32], lda: usize, m: usize, c: &mut [f32], ldc: usize) {
        if m == 0 || self.n == 0 {
            return;
        }
        assert!((m - 1) * lda + self.k <= a.len() && (m - 1) * ldc + self.n <= c.len(), "packed product: a slice is too short");
        #[cfg(target_arch = "x86_64")]
        if has_avx512() {
            let n_panels = self.n.div_ceil(NR);
            let c_ptr = SendPtr(c.as_mut_ptr());
            (0..n_panels).into_par_iter().for_each(|p| {
                let c_ptr = &c_ptr;
                // SAFETY: AVX-512F was just detected; each panel writes its own columns of `c`
                // (bounded by the assert above and `n`), so the threads never share a value.
                unsafe { panel_avx512(&self.panels[p * self.k * NR..(p + 1) * self.k * NR], self.k, p * NR, (self.n - p * NR).min(NR), a, lda, m, c_ptr.0, ldc) };
            });
            return;
        }
        let plain = self.plain.as_deref().expect("kept when there is no AVX-512");
        let rhs = if self.plain_view_t { View::rows(plain, self.k).transposed() } else { View::rows(plain, self.n) };
        matmul(c, ldc, true, m, self.n, self.k, View::rows(a, lda), rhs, gemm::Parallelism::Rayon(0));
    }
}

fn has_avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

struct SendPtr(*mut f32);
// SAFETY: used only to hand disjoint column ranges of one buffer to the threads.
unsafe impl Sync for SendPtr {}
unsafe impl Send for SendPtr {}

/// One panel (`cols` ≤ 32 columns starting at `col0`) for all `m` rows.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
unsafe fn panel_avx512(panel: &[f32], k: usize, col0: usize, cols: usize, a: &[f32], lda: usize, m: usize, c: *mut f32, ldc: usize) {
    let mut k0 = 0;
    while k0 < k {
        let kc = KC.min(k - k0);
        let mut i = 0;
        while i < m {
            let rows = MR.min(m - i);
            // SAFETY: rows i..i+rows of `a` and `c` exist (checked by the caller), the panel
            // holds k × 32 values, and columns col0..col0+cols are within `c`'s rows.
            unsafe {
                match rows {
                    6 => block::<6>(panel, k0, kc, a, lda, i, c, ldc, col0, cols),
                    5 => block::<5>(panel, k0, kc, a, lda, i, c, ldc, col0, cols),
                    4 => block::<4>(panel, k0, kc, a, lda, i, c, ldc, col0, cols),
                    3 => block::<3>(panel, k0, kc, a, lda, i, c, ldc, col0, cols),
                    2 => block::<2>(panel, k0, kc, a, lda, i, c, ldc, col0, cols),
                    _ => block::<1>(panel, k0, kc, a, lda, i, c, ldc, col0, cols),
                }
            }
            i += rows;
        }
        k0 += kc;
    }
}

/// `R` rows × 32 columns of `c` += rows `i ..` of `a`, depth `k0 .. k0 + kc`, times the panel.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(clippy::too_many_arguments)]
#[inline]
unsafe fn block<const R: usize>(panel: &[f32], k0: usize, kc: usize, a: &[f32], lda: usize, i: usize, c: *mut f32, ldc: usize, col0: usize, cols: usize) {
    use std::arch::x86_64::*;
    // SAFETY: the caller guarantees rows i..i+R of `a` and `c`, depth k0..k0+kc of the panel, and
    // columns col0..col0+cols of `c` exist; AVX-512F is enabled on this function.
    unsafe {
        let mut acc0 = [_mm512_setzero_ps(); R];
        let mut acc1 = [_mm512_setzero_ps(); R];
        let pp = panel.as_ptr().add(k0 * NR);
        let ap = a.as_ptr().add(i * lda + k0);
        for kk in 0..kc {
            let b0 = _mm512_loadu_ps(pp.add(kk * NR));
            let b1 = _mm512_loadu_ps(pp.add(kk * NR + 16));
            for r in 0..R {
                let av = _mm512_set1_ps(*ap.add(r * lda + kk));
                acc0[r] = _mm512_fmadd_ps(av, b0, acc0[r]);
                acc1[r] = _mm512_fmadd_ps(av, b1, acc1[r]);
            }
        }
        for r in 0..R {
            let cp = c.add((i + r) * ldc + col0);
            if cols == NR {
                _mm512_storeu_ps(cp, _mm512_add_ps(_mm512_loadu_ps(cp), acc0[r]));
                _mm512_storeu_ps(cp.add(16), _mm512_add_ps(_mm512_loadu_ps(cp.add(16)), acc1[r]));
            } else {
                let mut tmp = [0.0f32; NR];
                _mm512_storeu_ps(tmp.as_mut_ptr(), acc0[r]);
                _mm512_storeu_ps(tmp.as_mut_ptr().add(16), acc1[r]);
                for (j, v) in tmp.iter().enumerate().take(cols) {
                    *cp.add(j) += v;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_plain_product_for_odd_sizes() {
        for (m, k, n) in [(7usize, 300usize, 70usize), (1, 5, 33), (13, 257, 64), (64, 40, 160)] {
            let a: Vec<f32> = (0..m * (k + 3)).map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0).collect();
            let b: Vec<f32> = (0..k * n).map(|i| ((i * 53 % 97) as f32 - 48.0) / 48.0).collect();
            for transposed in [false, true] {
                let packed = PackedB::new(&b, k, n, transposed);
                let mut c: Vec<f32> = (0..m * (n + 2)).map(|i| i as f32 * 0.01).collect();
                let c0 = c.clone();
                packed.mul_add(&a, k + 3, m, &mut c, n + 2);
                for i in 0..m {
                    for j in 0..n {
                        let bij = |r: usize| if transposed { b[j * k + r] } else { b[r * n + j] };
                        let want: f64 = c0[i * (n + 2) + j] as f64 + (0..k).map(|r| a[i * (k + 3) + r] as f64 * bij(r) as f64).sum::<f64>();
                        assert!((c[i * (n + 2) + j] as f64 - want).abs() < 1e-3, "({m},{k},{n}) [{i},{j}]");
                    }
                    assert_eq!(c[i * (n + 2) + n], c0[i * (n + 2) + n], "columns past n untouched");
                }
            }
        }
    }
}
