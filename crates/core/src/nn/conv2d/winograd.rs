//! Winograd's minimal filtering F(2×2, 3×3) for 3×3 convolutions with stride 1: each 2×2 block
//! of outputs costs 16 multiplications per channel pair instead of 36, so the matrix products
//! (the bulk of a ResNet's work) shrink by 2.25×, for the price of cheap transforms before and
//! after.
//!
//! With `V = Bᵀ d B` (a 4×4 input tile), `U = G g Gᵀ` (the 3×3 kernel) and `Y = Aᵀ M A`, the
//! 16 positions ξ of the transformed tile are 16 independent products over the channels,
//! `M_ξ[O, tiles] = U_ξ[O, C] · V_ξ[C, tiles]`. This is Lavin and Gray (2016), *Fast
//! Algorithms for Convolutional Neural Networks*. (F(4×4, 3×3) needs 2.25 multiplications per
//! output instead of 4, but its 6×6 tiles make the transforms cost more than that saves here.)

use super::kernel::{Batching, Conv2dGeometry, View, matmul, sized};

/// Products narrower than this many tiles put several images side by side.
const MIN_TILES: usize = 512;

/// Outputs this small (ResNet's last stage on 28-pixel images) run faster through im2col: with
/// two tiles a row, the transforms cost more than the multiplications they save.
const MAX_SKIPPED_SIZE: usize = 4;

/// Whether [`forward`] applies: a 3×3 kernel, stride and dilation 1, padding that keeps the
/// kernel inside the padded image, and enough input channels and pixels for the products to
/// pay for the transforms.
pub(super) fn applies(g: &Conv2dGeometry) -> bool {
    let big_enough = g.out_size().is_some_and(|[h, w]| h > MAX_SKIPPED_SIZE && w > MAX_SKIPPED_SIZE);
    g.kernel == [3, 3] && g.stride == [1, 1] && g.dilation == [1, 1] && g.padding[0] <= 2 && g.padding[1] <= 2 && g.in_channels >= 8 && big_enough
}

/// Whether [`backward_weight`] applies: as [`applies`], on outputs of at least 8×8 (on 7×7 ones
/// the weight gradient measured faster through im2col).
pub(super) fn applies_to_weight_gradient(g: &Conv2dGeometry) -> bool {
    applies(g) && g.out_size().is_some_and(|[h, w]| h >= 8 && w >= 8)
}

/// `U = G g Gᵀ` for every (output, input) channel pair, laid out `[16][O][C]`.
fn transform_kernel(g: &Conv2dGeometry, weight: &[f32]) -> Vec<f32> {
    let (o, c) = (g.out_channels, g.in_channels);
    let mut u = vec![0.0f32; 16 * o * c];
    for oi in 0..o {
        for ci in 0..c {
            let k = &weight[(oi * c + ci) * 9..(oi * c + ci + 1) * 9];
            // Rows: t = G · k (4×3).
            let mut t = [[0.0f32; 3]; 4];
            for j in 0..3 {
                let (a, b, d) = (k[j], k[3 + j], k[6 + j]);
                t[0][j] = a;
                t[1][j] = 0.5 * (a + b + d);
                t[2][j] = 0.5 * (a - b + d);
                t[3][j] = d;
            }
            // Columns: t · Gᵀ (4×4).
            for (i, row) in t.iter().enumerate() {
                let (a, b, d) = (row[0], row[1], row[2]);
                let vals = [a, 0.5 * (a + b + d), 0.5 * (a - b + d), d];
                for (j, v) in vals.into_iter().enumerate() {
                    u[((i * 4 + j) * o + oi) * c + ci] = v;
                }
            }
        }
    }
    u
}

/// Tiles per image along height and width.
fn tiles(g: &Conv2dGeometry) -> [usize; 2] {
    let [oh, ow] = g.out_size().expect("checked by applies");
    [oh.div_ceil(2), ow.div_ceil(2)]
}

avx512! {
/// `V = Bᵀ d B` for every channel and tile of one image, into `v` laid out `[16][C][ld]` at
/// column `off`.
///
/// Each channel is first split into its even and odd columns, with the zero border that every
/// tile needs, so that all the arithmetic runs on unit-stride rows the compiler vectorises:
/// `Bᵀ` combines rows, then `B` combines a tile's columns `2t…2t+3`, which are even `t`, odd
/// `t`, even `t+1` and odd `t+1`.
fn transform_input(g: &Conv2dGeometry, x: &[f32], v: &mut [f32], ld: usize, off: usize, scratch: &mut Vec<f32>) {
    let [h, w] = g.in_size;
    let [th, tw] = tiles(g);
    let [ph, pw] = g.padding;
    let (hp, half) = (2 * th + 2, tw + 1);
    let plane = hp * half;
    let (planes, t) = sized(scratch, 2 * plane + 8 * half).split_at_mut(2 * plane);
    planes.fill(0.0);
    let (even, odd) = planes.split_at_mut(plane);
    let c_len = g.in_channels;
    for c in 0..c_len {
        let xc = &x[c * h * w..(c + 1) * h * w];
        for y in 0..h {
            let (e, o) = (&mut even[(y + ph) * half..(y + ph + 1) * half], &mut odd[(y + ph) * half..(y + ph + 1) * half]);
            // Input column `xi` sits at padded column `xi + pw`: pairs of input columns go to
            // (even, odd) for an even `pw`, (odd, even) one further on for an odd one.
            let src = &xc[y * w..(y + 1) * w];
            let (first, second, start) = if pw % 2 == 0 { (e, o, pw / 2) } else { (o, e, pw / 2) };
            let second_start = if pw % 2 == 0 { start } else { start + 1 };
            let pairs = src.chunks_exact(2);
            if let [last] = pairs.remainder() {
                first[start + w / 2] = *last;
            }
            for ((a, b), pair) in first[start..start + w / 2].iter_mut().zip(&mut second[second_start..second_start + w / 2]).zip(pairs) {
                *a = pair[0];
                *b = pair[1];
            }
        }
        for ty in 0..th {
            let (t_even, t_odd) = t.split_at_mut(4 * half);
            for (p, t) in [(&*even, t_even), (&*odd, t_odd)] {
                let r = |i: usize| &p[(2 * ty + i) * half..(2 * ty + i + 1) * half];
                let (r0, r1, r2, r3) = (r(0), r(1), r(2), r(3));
                let (t0, rest) = t.split_at_mut(half);
                let (t1, rest) = rest.split_at_mut(half);
                let (t2, t3) = rest.split_at_mut(half);
                for k in 0..half {
                    t0[k] = r0[k] - r2[k];
                    t1[k] = r1[k] + r2[k];
                    t2[k] = r2[k] - r1[k];
                    t3[k] = r1[k] - r3[k];
                }
            }
            let (te, to) = t.split_at(4 * half);
            for i in 0..4 {
                let (e, o) = (&te[i * half..(i + 1) * half], &to[i * half..(i + 1) * half]);
                let (e0, e1, o0, o1) = (&e[..tw], &e[1..], &o[..tw], &o[1..]);
                let row = |j: usize| ((i * 4 + j) * c_len + c) * ld + off + ty * tw;
                let combos: [(&[f32], &[f32], f32); 4] = [(e0, e1, -1.0), (o0, e1, 1.0), (e1, o0, -1.0), (o0, o1, -1.0)];
                for (j, (a, b, sign)) in combos.into_iter().enumerate() {
                    let dst = &mut v[row(j)..row(j) + tw];
                    for ((d, a), b) in dst.iter_mut().zip(a).zip(b) {
                        *d = a + sign * b;
                    }
                }
            }
        }
    }
}
}

avx512! {
/// `Y = Aᵀ M A` for every output channel and tile of one image, from `m` laid out
/// `[16][O][ld]` at column `off`, into that image's `[O, oh, ow]`: `Aᵀ` combines the contiguous
/// runs of tiles, `A` then writes output pixels two at a time.
fn transform_output(g: &Conv2dGeometry, m: &[f32], ld: usize, off: usize, out: &mut [f32], scratch: &mut Vec<f32>) {
    let [oh, ow] = g.out_size().expect("checked by applies");
    let [th, tw] = tiles(g);
    let o_len = g.out_channels;
    let s = sized(scratch, 8 * tw);
    for o in 0..o_len {
        let plane = &mut out[o * oh * ow..(o + 1) * oh * ow];
        for ty in 0..th {
            let row = |i: usize, j: usize| {
                let start = ((i * 4 + j) * o_len + o) * ld + off + ty * tw;
                &m[start..start + tw]
            };
            // Aᵀ M: s[j][i] for output row i of the tile, column j of M.
            for j in 0..4 {
                let (m0, m1, m2, m3) = (row(0, j), row(1, j), row(2, j), row(3, j));
                let (s0, s1) = s[j * 2 * tw..(j + 1) * 2 * tw].split_at_mut(tw);
                for tx in 0..tw {
                    s0[tx] = m0[tx] + m1[tx] + m2[tx];
                    s1[tx] = m1[tx] - m2[tx] - m3[tx];
                }
            }
            for i in 0..2 {
                let y = 2 * ty + i;
                if y >= oh {
                    continue;
                }
                let sj = |j: usize| &s[(j * 2 + i) * tw..(j * 2 + i + 1) * tw];
                let (a, b, c, d) = (sj(0), sj(1), sj(2), sj(3));
                let dst = &mut plane[y * ow..(y + 1) * ow];
                for tx in 0..ow / 2 {
                    dst[2 * tx] = a[tx] + b[tx] + c[tx];
                    dst[2 * tx + 1] = b[tx] - c[tx] - d[tx];
                }
                if ow % 2 == 1 {
                    let tx = ow / 2;
                    dst[2 * tx] = a[tx] + b[tx] + c[tx];
                }
            }
        }
    }
}
}

/// Tiles per image, values per input and output image, and how the batch is cut up (images
/// side by side until a product is `MIN_TILES` wide).
fn plan(g: &Conv2dGeometry) -> (usize, usize, usize, Batching) {
    let [th, tw] = tiles(g);
    let [oh, ow] = g.out_size().expect("checked by applies");
    let t = th * tw;
    let batching = Batching::new(g.batch, MIN_TILES.div_ceil(t).clamp(1, g.batch.max(1)));
    (t, g.in_channels * g.in_size[0] * g.in_size[1], g.out_channels * oh * ow, batching)
}

/// The forward pass, as [`super::kernel::forward`] computes it.
pub(super) fn forward(g: &Conv2dGeometry, x: &[f32], weight: &[f32]) -> Vec<f32> {
    let (o, c) = (g.out_channels, g.in_channels);
    let (t, in_len, out_len, batching) = plan(g);
    let u = transform_kernel(g, weight);
    let mut out = vec![0.0f32; g.batch * out_len];
    batching.for_each_group(&mut out, out_len, |n0, gn, outs, (v, m, scratch): &mut (Vec<f32>, Vec<f32>, Vec<f32>)| {
        let ld = gn * t;
        let v = sized(v, 16 * c * ld);
        for k in 0..gn {
            transform_input(g, &x[(n0 + k) * in_len..(n0 + k + 1) * in_len], v, ld, k * t, scratch);
        }
        let m = sized(m, 16 * o * ld);
        for xi in 0..16 {
            let u_xi = View::rows(&u[xi * o * c..(xi + 1) * o * c], c);
            let v_xi = View::rows(&v[xi * c * ld..(xi + 1) * c * ld], ld);
            matmul(&mut m[xi * o * ld..(xi + 1) * o * ld], ld, false, o, ld, c, u_xi, v_xi, batching.par);
        }
        for k in 0..gn {
            transform_output(g, m, ld, k * t, &mut outs[k * out_len..(k + 1) * out_len], scratch);
        }
    });
    out
}

avx512! {
/// The adjoint of [`transform_output`]: `dM = A dY Aᵀ` for every output channel and tile of one
/// image's output gradient `dy` (`[O, oh, ow]`), into `dm` laid out `[16][O][ld]` at column
/// `off`. Pixels past the image's edge count as zero.
fn transform_output_adjoint(g: &Conv2dGeometry, dy: &[f32], dm: &mut [f32], ld: usize, off: usize, scratch: &mut Vec<f32>) {
    let [oh, ow] = g.out_size().expect("checked by applies");
    let [th, tw] = tiles(g);
    let o_len = g.out_channels;
    // Even and odd columns of the tile row's two output rows, a, b (top) and c, d (bottom),
    // then the rows of A dY as (p, q) pairs of columns.
    let buf = sized(scratch, 12 * tw);
    let (abcd, pq) = buf.split_at_mut(4 * tw);
    for o in 0..o_len {
        let plane = &dy[o * oh * ow..(o + 1) * oh * ow];
        for ty in 0..th {
            abcd.fill(0.0);
            for i in 0..2 {
                let y = 2 * ty + i;
                if y >= oh {
                    break;
                }
                let (even, odd) = abcd[2 * i * tw..(2 * i + 2) * tw].split_at_mut(tw);
                let pairs = plane[y * ow..(y + 1) * ow].chunks_exact(2);
                if let [last] = pairs.remainder() {
                    even[ow / 2] = *last;
                }
                for ((e, od), pair) in even.iter_mut().zip(odd.iter_mut()).zip(pairs) {
                    *e = pair[0];
                    *od = pair[1];
                }
            }
            let (a, rest) = abcd.split_at(tw);
            let (b, rest) = rest.split_at(tw);
            let (c, d) = rest.split_at(tw);
            // A dY rows: (a, b), (a + c, b + d), (a - c, b - d), (-c, -d).
            for t in 0..tw {
                let v = [a[t], b[t], a[t] + c[t], b[t] + d[t], a[t] - c[t], b[t] - d[t], -c[t], -d[t]];
                for (k, val) in v.into_iter().enumerate() {
                    pq[k * tw + t] = val;
                }
            }
            // Each row's columns the same way: p, p + q, p - q, -q.
            for i in 0..4 {
                let (p, q) = (&pq[2 * i * tw..(2 * i + 1) * tw], &pq[(2 * i + 1) * tw..(2 * i + 2) * tw]);
                let row = |j: usize| ((i * 4 + j) * o_len + o) * ld + off + ty * tw;
                dm[row(0)..row(0) + tw].copy_from_slice(p);
                for ((e, p), q) in dm[row(1)..row(1) + tw].iter_mut().zip(p).zip(q) {
                    *e = p + q;
                }
                for ((e, p), q) in dm[row(2)..row(2) + tw].iter_mut().zip(p).zip(q) {
                    *e = p - q;
                }
                for (e, q) in dm[row(3)..row(3) + tw].iter_mut().zip(q) {
                    *e = -q;
                }
            }
        }
    }
}
}

/// The weight gradient in the transformed domain: `dU_ξ = Σ_tiles dM_ξ · V_ξᵀ`, with `V` the
/// forward pass's input transform and `dM` the adjoint of its output transform, then
/// `dW = Gᵀ dU G`. The products shrink by 2.25× against im2col's, as in the forward pass.
pub(super) fn backward_weight(g: &Conv2dGeometry, x: &[f32], dout: &[f32]) -> Vec<f32> {
    let (o, c) = (g.out_channels, g.in_channels);
    let (t, in_len, out_len, batching) = plan(g);
    let du = batching.sum(16 * o * c, |n0, gn, du, (v, dm, scratch): &mut (Vec<f32>, Vec<f32>, Vec<f32>)| {
        let ld = gn * t;
        let v = sized(v, 16 * c * ld);
        let dm = sized(dm, 16 * o * ld);
        for k in 0..gn {
            transform_input(g, &x[(n0 + k) * in_len..(n0 + k + 1) * in_len], v, ld, k * t, scratch);
            transform_output_adjoint(g, &dout[(n0 + k) * out_len..(n0 + k + 1) * out_len], dm, ld, k * t, scratch);
        }
        for xi in 0..16 {
            let dm_xi = View::rows(&dm[xi * o * ld..(xi + 1) * o * ld], ld);
            let v_xi_t = View::rows(&v[xi * c * ld..(xi + 1) * c * ld], ld).transposed();
            matmul(&mut du[xi * o * c..(xi + 1) * o * c], c, true, o, c, ld, dm_xi, v_xi_t, batching.par);
        }
    });
    // dW = Gᵀ dU G, G = [[1, 0, 0], [½, ½, ½], [½, -½, ½], [0, 0, 1]].
    const G: [[f32; 3]; 4] = [[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]];
    let mut dw = vec![0.0f32; o * c * 9];
    for oi in 0..o {
        for ci in 0..c {
            let at = |i: usize, j: usize| du[((i * 4 + j) * o + oi) * c + ci];
            for r in 0..3 {
                for s in 0..3 {
                    let mut sum = 0.0f32;
                    for (i, gi) in G.iter().enumerate() {
                        for (j, gj) in G.iter().enumerate() {
                            sum += gi[r] * at(i, j) * gj[s];
                        }
                    }
                    dw[(oi * c + ci) * 9 + r * 3 + s] = sum;
                }
            }
        }
    }
    dw
}

#[cfg(test)]
mod tests {
    use super::super::kernel::tests::{naive, values};
    use super::*;

    #[test]
    fn matches_the_definition() {
        let geom = |batch, c, h: usize, w: usize, o, p| Conv2dGeometry { batch, in_channels: c, in_size: [h, w], out_channels: o, kernel: [3, 3], stride: [1, 1], padding: p, dilation: [1, 1] };
        // Whole and half tiles, padding 0, 1 and 2 (odd and even), many small images in one product.
        for g in [geom(3, 9, 12, 12, 4, [1, 1]), geom(2, 8, 9, 11, 3, [1, 0]), geom(2, 8, 7, 7, 5, [2, 2]), geom(70, 8, 6, 6, 6, [1, 1])] {
            assert!(applies(&g));
            let x = values(g.batch * g.in_channels * g.in_size[0] * g.in_size[1], 1);
            let w = values(g.out_channels * g.in_channels * 9, 2);
            let err = forward(&g, &x, &w).iter().zip(naive(&g, &x, &w)).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert!(err < 1e-5, "{g:?}: differs by {err}");
        }
    }
}
