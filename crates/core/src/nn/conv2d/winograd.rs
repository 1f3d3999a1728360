//! Winograd's minimal filtering F(4×4, 3×3) for 3×3 convolutions with stride 1: each 4×4 block
//! of outputs costs 36 multiplications per channel pair instead of 144, so the matrix products
//! (the bulk of a ResNet's work) shrink by 4×, for the price of transforms before and after.
//!
//! With `V = Bᵀ d B` (a 6×6 input tile), `U = G g Gᵀ` (the 3×3 kernel) and `Y = Aᵀ M A`, the
//! 36 positions ξ of the transformed tile are 36 independent products over the channels,
//! `M_ξ[tiles, O] = V_ξ[tiles, C] · U_ξᵀ[C, O]`. This is Lavin and Gray (2016), *Fast
//! Algorithms for Convolutional Neural Networks*, with the interpolation points 0, ±1, ±2, ∞.
//!
//! The transforms run with the channels innermost: each image is first laid out channels-last
//! (with its zero border), so that every tile's 36 values are 36 runs of consecutive channels
//! and the arithmetic is on whole vectors of channels, however small the image. (On 4×4 or
//! 7×7 images a row holds one or two tiles: vectorising along the row would leave most lanes
//! empty.)
//!
//! The transformed kernels `U` are four times the size of the weights and are computed afresh
//! at every call, so they only pay off over enough tiles: few tiles (deep layers at small
//! batches, such as one image of 14×14 or 7×7) go to im2col ([`applies`]). A batch with fewer
//! groups of images than threads (one image) is shared out by tile rows for the input
//! transform, then by output channels, each thread transforming only its own channels' kernels
//! ([`forward_split`]). A served model keeps its transformed kernels between requests
//! ([`WinogradKernel`]); then the tile count no longer matters ([`fits`]). Every cut depends only on the shapes and the number of threads, so a
//! run is reproducible for a given number of threads.

use std::ops::Range;

use rayon::prelude::*;

use super::kernel::{Batching, Conv2dGeometry, Scratch, View, matmul, sized, with_kept, zeroed};
use crate::nn::flex::split_evenly;

/// The forward pass puts images side by side until a product is this many tiles tall, so the
/// packing of each `U_ξ` is paid for by enough rows.
const MIN_TILES: usize = 512;

/// The weight gradient's products, whose depth is the tiles, keep fewer of them: the
/// transformed tiles of a group then stay in the caches between their transform and product.
const MIN_TILES_WEIGHT_GRADIENT: usize = 128;

/// Channels handled together by the transforms: one AVX-512 register of `f32`.
const LANES: usize = 16;
type Lanes = [f32; LANES];

/// Whether [`forward`] and [`backward_weight`] apply: a 3×3 kernel, stride and dilation 1,
/// padding that keeps the kernel inside the padded image, enough input and output channels
/// for the products to pay for the transforms, tiles at least half filled by the output, and
/// enough tiles in the batch to pay for transforming the kernel.
///
/// A tile costs 36 multiplications per channel pair whatever it holds: on a 2×2 output (a
/// U-Net's middle) that is 9 per output pixel against the direct convolution's 9, plus the
/// transforms, and im2col was measured 3–6× faster there (`cargo xtask bench conv-unet`).
///
/// The batch's tiles `T` must reach `√(C·O) / 4`. Each channel pair's transformed kernel
/// costs the same whatever the batch, and the larger kernels no longer fit in the caches: on
/// 2 threads im2col was faster for one image of 14×14 (16 tiles, 256 channels: 2.5 against
/// 3.7 ms) and of 7×7 (4 tiles, 512 channels: 2.3 against 16 ms), and Winograd from 64 and
/// 128 tiles on (1.5× and 1.25× faster), as it stays for 28×28 and 56×56 images.
pub(super) fn applies(g: &Conv2dGeometry) -> bool {
    fits(g) && {
        let [th, tw] = tiles(g);
        let batch_tiles = g.batch * th * tw;
        16 * batch_tiles * batch_tiles >= g.in_channels * g.out_channels
    }
}

/// The shape conditions of [`applies`] without the count of tiles: where Winograd pays once
/// the kernels are transformed ([`WinogradKernel`], kept between calls for inference). On 2
/// threads, one image of 14×14 with 256 channels then took 1.1 ms against im2col's 2.5 ms.
pub(super) fn fits(g: &Conv2dGeometry) -> bool {
    let fits = g.kernel == [3, 3] && g.stride == [1, 1] && g.dilation == [1, 1] && g.padding[0] <= 2 && g.padding[1] <= 2 && g.in_channels >= 8 && g.out_channels >= 8;
    fits && g.out_size().is_some_and(|[oh, ow]| {
        let [th, tw] = tiles(g);
        2 * oh * ow >= 16 * th * tw
    })
}

/// A 3×3 kernel transformed for Winograd (`U = G g Gᵀ` of every channel pair, four times the
/// weights' size), computed once and reused: what a served model keeps between requests.
#[derive(Debug)]
pub struct WinogradKernel {
    u: Vec<f32>,
    in_channels: usize,
    out_channels: usize,
}

impl WinogradKernel {
    /// The transform of `weight` (`[O, C, 3, 3]`), or `None` where Winograd does not apply to
    /// `g` even with its kernels transformed in advance (not 3×3 with stride 1, mostly empty
    /// tiles, too few channels). Panics when `weight`'s length does not match `g`.
    pub fn new(g: &Conv2dGeometry, weight: &[f32]) -> Option<Self> {
        if !fits(g) {
            return None;
        }
        assert_eq!(weight.len(), g.out_channels * g.in_channels * 9, "conv2d weight length");
        let mut u = Vec::new();
        transform_kernel(g, weight, &mut u);
        Some(Self { u, in_channels: g.in_channels, out_channels: g.out_channels })
    }

    /// Whether this is the transform of a kernel of `g`'s channels.
    pub fn matches(&self, g: &Conv2dGeometry) -> bool {
        fits(g) && (self.in_channels, self.out_channels) == (g.in_channels, g.out_channels)
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.u.len() * std::mem::size_of::<f32>()
    }

    pub(super) fn values(&self) -> &[f32] {
        &self.u
    }
}

/// Tiles per image along height and width.
fn tiles(g: &Conv2dGeometry) -> [usize; 2] {
    let [oh, ow] = g.out_size().expect("checked by applies");
    [oh.div_ceil(4), ow.div_ceil(4)]
}

/// `Bᵀ d` for six values `d` (a row or a column of a tile).
#[inline(always)]
fn input_1d(d: &[Lanes; 6]) -> [Lanes; 6] {
    let mut v = [[0.0f32; LANES]; 6];
    for l in 0..LANES {
        let [d0, d1, d2, d3, d4, d5] = [d[0][l], d[1][l], d[2][l], d[3][l], d[4][l], d[5][l]];
        let (a, b) = (d4 - 4.0 * d2, d3 - 4.0 * d1);
        let (c, e) = (d4 - d2, 2.0 * (d3 - d1));
        v[0][l] = 4.0 * d0 - 5.0 * d2 + d4;
        v[1][l] = a + b;
        v[2][l] = a - b;
        v[3][l] = c + e;
        v[4][l] = c - e;
        v[5][l] = 4.0 * d1 - 5.0 * d3 + d5;
    }
    v
}

/// `Aᵀ m` for six values `m`: four outputs.
#[inline(always)]
fn output_1d(m: &[Lanes; 6]) -> [Lanes; 4] {
    let mut y = [[0.0f32; LANES]; 4];
    for l in 0..LANES {
        let (s12, d12) = (m[1][l] + m[2][l], m[1][l] - m[2][l]);
        let (s34, d34) = (m[3][l] + m[4][l], m[3][l] - m[4][l]);
        y[0][l] = m[0][l] + s12 + s34;
        y[1][l] = d12 + 2.0 * d34;
        y[2][l] = s12 + 4.0 * s34;
        y[3][l] = d12 + 8.0 * d34 + m[5][l];
    }
    y
}

/// `A g` for four values `g`, the adjoint of [`output_1d`].
#[inline(always)]
fn output_adjoint_1d(g: &[Lanes; 4]) -> [Lanes; 6] {
    let mut m = [[0.0f32; LANES]; 6];
    for l in 0..LANES {
        let [g0, g1, g2, g3] = [g[0][l], g[1][l], g[2][l], g[3][l]];
        let (even, odd) = (g0 + g2, g1 + g3);
        let (even4, odd2) = (g0 + 4.0 * g2, 2.0 * g1 + 8.0 * g3);
        m[0][l] = g0;
        m[1][l] = even + odd;
        m[2][l] = even - odd;
        m[3][l] = even4 + odd2;
        m[4][l] = even4 - odd2;
        m[5][l] = g3;
    }
    m
}

/// `G k` for the three values of a kernel row or column.
const G: [[f32; 3]; 6] = [
    [1.0 / 4.0, 0.0, 0.0],
    [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
    [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
    [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
    [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
    [0.0, 0.0, 1.0],
];

/// Runs of `len` (at most [`LANES`]) consecutive values of `src` starting at each of `starts`,
/// as lanes (the missing ones zero).
#[inline(always)]
fn load<const N: usize>(src: &[f32], starts: [usize; N], len: usize) -> [Lanes; N] {
    let mut out = [[0.0f32; LANES]; N];
    for (o, s) in out.iter_mut().zip(starts) {
        if len == LANES {
            o.copy_from_slice(&src[s..s + LANES]);
        } else {
            o[..len].copy_from_slice(&src[s..s + len]);
        }
    }
    out
}

/// The first `len` lanes of `vals` into `dst` at `start`.
#[inline(always)]
fn store(dst: &mut [f32], start: usize, vals: &Lanes, len: usize) {
    if len == LANES {
        dst[start..start + LANES].copy_from_slice(vals);
    } else {
        dst[start..start + len].copy_from_slice(&vals[..len]);
    }
}

/// Values from one `U_ξ` to the next in an output channel's `[36][C]` of `U` and `dU`: `c`,
/// or one vector more when `c` is a multiple of 256 (1 KiB). Otherwise the 36 runs that a
/// transform writes together, that far apart, share a few of the L1 cache's 64 sets: for
/// `c = 512`, two; writing them thrashed the cache, and the transform of a 512-channel kernel
/// took 20 ms.
fn u_seg(c: usize) -> usize {
    if c % (16 * LANES) == 0 { c + LANES } else { c }
}

/// Values per output channel of `U` and `dU`: its 36 runs, and one vector more, so that the
/// rows of each `U_ξ` (this far apart) do not all fall into the same cache sets either.
fn u_row(c: usize) -> usize {
    36 * u_seg(c) + LANES
}

/// Values from one transformed matrix (`[tiles][width]`) to the next in `V`, `M` and `dM`: one
/// vector more than the matrix, so that the 36 values a transform writes for a tile do not all
/// fall into the same cache sets.
fn block(tiles: usize, width: usize) -> usize {
    tiles * width + LANES
}

/// `U = G g Gᵀ` for every (output, input) channel pair, laid out `[O][36][C]`: `U_ξ` is the
/// `O×C` matrix at offset `ξ·`[`u_seg`] with rows [`u_row`] apart; written into `buf`, which
/// is reused.
fn transform_kernel<'a>(g: &Conv2dGeometry, weight: &[f32], buf: &'a mut Vec<f32>) -> &'a [f32] {
    let c = g.in_channels;
    let u = sized(buf, g.out_channels * u_row(c));
    u.par_chunks_mut(u_row(c)).zip(weight.par_chunks(9 * c)).for_each(|(u, w)| kernel_row(w, c, u));
    u
}

avx512! {
/// `U = G g Gᵀ` for one output channel's kernels `weight` (`[C, 3, 3]`), into `out` (`[36][C]`).
fn kernel_row(weight: &[f32], c: usize, out: &mut [f32]) {
    for c0 in (0..c).step_by(LANES) {
        let len = LANES.min(c - c0);
        // k[r*3+s][lane]: the kernel of input channel c0 + lane.
        let mut k = [[0.0f32; LANES]; 9];
        for lane in 0..len {
            for (kk, v) in k.iter_mut().zip(&weight[(c0 + lane) * 9..(c0 + lane + 1) * 9]) {
                kk[lane] = *v;
            }
        }
        // t[i][s] = Σ_r G[i][r] k[r][s]
        let mut t = [[[0.0f32; LANES]; 3]; 6];
        for (ti, gi) in t.iter_mut().zip(&G) {
            for (s, tis) in ti.iter_mut().enumerate() {
                for l in 0..LANES {
                    tis[l] = gi[0] * k[s][l] + gi[1] * k[3 + s][l] + gi[2] * k[6 + s][l];
                }
            }
        }
        for (i, ti) in t.iter().enumerate() {
            for (j, gj) in G.iter().enumerate() {
                let mut v = [0.0f32; LANES];
                for l in 0..LANES {
                    v[l] = gj[0] * ti[0][l] + gj[1] * ti[1][l] + gj[2] * ti[2][l];
                }
                store(out, (i * 6 + j) * u_seg(c) + c0, &v, len);
            }
        }
    }
}
}

avx512! {
/// Rows `rows` of image `x` (`[C, H, W]`) placed at row and column offsets `at` in a zero
/// canvas `wp` pixels wide, channels-last, into `p` (`[rows][wp][C]`).
fn channels_last(x: &[f32], channels: usize, size: [usize; 2], p: &mut [f32], wp: usize, at: [usize; 2], rows: Range<usize>) {
    let [h, w] = size;
    // The zero border: whole rows above and below, the ends of the rows between.
    let row_len = wp * channels;
    for (py, row) in rows.clone().zip(p[..rows.len() * row_len].chunks_exact_mut(row_len)) {
        if py < at[0] || py >= at[0] + h {
            row.fill(0.0);
        } else {
            row[..at[1] * channels].fill(0.0);
            row[(at[1] + w) * channels..].fill(0.0);
        }
    }
    // A vector's worth of channels at a time, row by row: each pixel's channels are gathered
    // into one vector and written with one store.
    let ys = rows.start.saturating_sub(at[0]).min(h)..rows.end.saturating_sub(at[0]).min(h);
    for c0 in (0..channels).step_by(LANES) {
        let len = LANES.min(channels - c0);
        for y in ys.clone() {
            let start = ((y + at[0] - rows.start) * wp + at[1]) * channels;
            let row = &mut p[start..start + w * channels];
            let src: [&[f32]; LANES] = std::array::from_fn(|l| if l < len { &x[((c0 + l) * h + y) * w..((c0 + l) * h + y + 1) * w] } else { &x[..0] });
            for xi in 0..w {
                let mut lanes = [0.0f32; LANES];
                for l in 0..len {
                    lanes[l] = src[l][xi];
                }
                store(row, xi * channels + c0, &lanes, len);
            }
        }
    }
}
}

avx512! {
/// The adjoint layout change: `[C, h, w]` planes `out` from the channels-last `q`
/// (`[h'][wq][C]`, `h' ≥ h`, `wq ≥ w`), cropped: one vector load per pixel, its lanes written
/// to that many planes.
fn channels_first(q: &[f32], channels: usize, wq: usize, out: &mut [f32], size: [usize; 2]) {
    let [h, w] = size;
    for c0 in (0..channels).step_by(LANES) {
        let len = LANES.min(channels - c0);
        for y in 0..h {
            let row = &q[y * wq * channels..(y * wq + w) * channels];
            for xi in 0..w {
                let lanes = load(row, [xi * channels + c0], len)[0];
                for l in 0..len {
                    out[((c0 + l) * h + y) * w + xi] = lanes[l];
                }
            }
        }
    }
}
}

avx512! {
/// `V = Bᵀ d B` for every channel of the tiles in tile rows `rows` of one image `x`
/// (`[C, H, W]`): `v` holds the 36 `[tiles][C]` matrices' rows for these tiles, in order.
fn transform_input(g: &Conv2dGeometry, x: &[f32], rows: Range<usize>, v: &mut [&mut [f32]], scratch: &mut Vec<f32>) {
    let [_, tw] = tiles(g);
    let c = g.in_channels;
    let wp = 4 * tw + 2;
    // The padded rows these tiles read: four a tile row, and two more below the last.
    let (py0, py1) = (4 * rows.start, 4 * rows.end + 2);
    let p = sized(scratch, (py1 - py0) * wp * c);
    channels_last(x, c, g.in_size, p, wp, g.padding, py0..py1);
    for ty in 0..rows.len() {
        for tx in 0..tw {
            let tile = ty * tw + tx;
            for c0 in (0..c).step_by(LANES) {
                let len = LANES.min(c - c0);
                let at = |i: usize, j: usize| ((4 * ty + i) * wp + 4 * tx + j) * c + c0;
                // Bᵀ d: each column of the tile.
                let mut t = [[[0.0f32; LANES]; 6]; 6];
                for j in 0..6 {
                    let d = load(p, [at(0, j), at(1, j), at(2, j), at(3, j), at(4, j), at(5, j)], len);
                    let col = input_1d(&d);
                    for i in 0..6 {
                        t[i][j] = col[i];
                    }
                }
                // (Bᵀ d) B: each row.
                for (i, row) in t.iter().enumerate() {
                    let out = input_1d(row);
                    for (j, vals) in out.iter().enumerate() {
                        store(v[i * 6 + j], tile * c + c0, vals, len);
                    }
                }
            }
        }
    }
}
}

avx512! {
/// `Y = Aᵀ M A` for `o` output channels and every tile of one image, from `m` laid out as 36
/// `[tiles][o]` matrices `block` values apart, at row `off`, into those channels' `[o, oh, ow]`.
fn transform_output(g: &Conv2dGeometry, o: usize, m: &[f32], block: usize, off: usize, out: &mut [f32], scratch: &mut Vec<f32>) {
    let [oh, ow] = g.out_size().expect("checked by applies");
    let [th, tw] = tiles(g);
    let (hq, wq) = (4 * th, 4 * tw);
    // The image channels-last, whole tiles, then cropped into `out`.
    let q = sized(scratch, hq * wq * o);
    for ty in 0..th {
        for tx in 0..tw {
            let tile = off + ty * tw + tx;
            for o0 in (0..o).step_by(LANES) {
                let len = LANES.min(o - o0);
                let at = |xi: usize| xi * block + tile * o + o0;
                // Aᵀ M: each column.
                let mut t = [[[0.0f32; LANES]; 6]; 4];
                for j in 0..6 {
                    let col = output_1d(&load(m, [at(j), at(6 + j), at(12 + j), at(18 + j), at(24 + j), at(30 + j)], len));
                    for i in 0..4 {
                        t[i][j] = col[i];
                    }
                }
                // (Aᵀ M) A: each row.
                for (i, row) in t.iter().enumerate() {
                    for (j, vals) in output_1d(row).iter().enumerate() {
                        store(q, ((4 * ty + i) * wq + 4 * tx + j) * o + o0, vals, len);
                    }
                }
            }
        }
    }
    channels_first(q, o, wq, out, [oh, ow]);
}
}

avx512! {
/// The adjoint of [`transform_output`]: `dM = A dY Aᵀ` for every output channel and tile of
/// one image's output gradient `dy` (`[O, oh, ow]`), into `dm` laid out as
/// [`transform_output`]'s `m`, at row `off`. Pixels past the image's edge count as zero.
fn transform_output_adjoint(g: &Conv2dGeometry, dy: &[f32], dm: &mut [f32], block: usize, off: usize, scratch: &mut Vec<f32>) {
    let [th, tw] = tiles(g);
    let o = g.out_channels;
    let (hq, wq) = (4 * th, 4 * tw);
    let q = sized(scratch, hq * wq * o);
    channels_last(dy, o, g.out_size().expect("checked by applies"), q, wq, [0, 0], 0..hq);
    for ty in 0..th {
        for tx in 0..tw {
            let tile = off + ty * tw + tx;
            for o0 in (0..o).step_by(LANES) {
                let len = LANES.min(o - o0);
                let at = |i: usize, j: usize| ((4 * ty + i) * wq + 4 * tx + j) * o + o0;
                // A dY: each column.
                let mut t = [[[0.0f32; LANES]; 4]; 6];
                for j in 0..4 {
                    let col = output_adjoint_1d(&load(q, [at(0, j), at(1, j), at(2, j), at(3, j)], len));
                    for i in 0..6 {
                        t[i][j] = col[i];
                    }
                }
                // (A dY) Aᵀ: each row.
                for (i, row) in t.iter().enumerate() {
                    for (j, vals) in output_adjoint_1d(row).iter().enumerate() {
                        store(dm, (i * 6 + j) * block + tile * o + o0, vals, len);
                    }
                }
            }
        }
    }
}
}

/// Tiles per image, values per input and output image, and how the batch is cut up: images
/// side by side until a product has `min_tiles` tiles, but at least one group per thread.
fn plan(g: &Conv2dGeometry, min_tiles: usize) -> (usize, usize, usize, Batching) {
    let [th, tw] = tiles(g);
    let [oh, ow] = g.out_size().expect("checked by applies");
    let t = th * tw;
    let per_thread = g.batch.div_ceil(rayon::current_num_threads()).max(1);
    let batching = Batching::new(g.batch, min_tiles.div_ceil(t).clamp(1, per_thread));
    (t, g.in_channels * g.in_size[0] * g.in_size[1], g.out_channels * oh * ow, batching)
}

/// The 36 blocks of `v` (each `block` values), each cut down to the rows of `tiles` tiles of
/// `width` values from tile `first` on: where one image's (or one part's) transform writes.
fn block_rows<'a>(v: &'a mut [f32], block: usize, first: usize, tiles: usize, width: usize) -> Vec<&'a mut [f32]> {
    v.chunks_mut(block).take(36).map(|b| &mut b[first * width..(first + tiles) * width]).collect()
}

/// The forward pass, as [`super::kernel::forward`] computes it; with `kept`, the kernels
/// transformed in advance (of `weight`, for `g`'s channels).
pub(super) fn forward(g: &Conv2dGeometry, x: &[f32], weight: &[f32], kept: Option<&WinogradKernel>) -> Vec<f32> {
    let (o, c) = (g.out_channels, g.in_channels);
    let (t, in_len, out_len, batching) = plan(g, MIN_TILES);
    if batching.few_groups() {
        return forward_split(g, x, weight, t, kept);
    }
    let [th, _] = tiles(g);
    let mut out = zeroed(g.batch * out_len);
    with_kept(|u| {
        let u = match kept {
            Some(k) => k.values(),
            None => transform_kernel(g, weight, u),
        };
        batching.for_each_group(&mut out, out_len, |n0, gn, outs, Scratch([v, m, scratch])| {
            let ld = gn * t;
            let (v_block, m_block) = (block(ld, c), block(ld, o));
            let v = sized(v, 36 * v_block);
            for k in 0..gn {
                transform_input(g, &x[(n0 + k) * in_len..(n0 + k + 1) * in_len], 0..th, &mut block_rows(v, v_block, k * t, t, c), scratch);
            }
            let m = sized(m, 36 * m_block);
            for xi in 0..36 {
                let v_xi = View::rows(&v[xi * v_block..], c);
                let u_xi_t = View::rows(&u[xi * u_seg(c)..], u_row(c)).transposed();
                matmul(&mut m[xi * m_block..], o, false, ld, o, c, v_xi, u_xi_t, batching.par);
            }
            for k in 0..gn {
                transform_output(g, o, m, m_block, k * t, &mut outs[k * out_len..(k + 1) * out_len], scratch);
            }
        });
    });
    out
}

/// The forward pass of a batch with fewer groups than threads (one image): all its tiles in
/// one product, and the work shared out twice. The input transform by tile rows, into `V`
/// (shared); then the output channels: each thread transforms the kernels of its own channels
/// (the only part of `U` it reads, so the whole of it is never written out), multiplies, and
/// transforms its channels' outputs back.
fn forward_split(g: &Conv2dGeometry, x: &[f32], weight: &[f32], t: usize, kept: Option<&WinogradKernel>) -> Vec<f32> {
    let (o, c, n) = (g.out_channels, g.in_channels, g.batch);
    let [th, tw] = tiles(g);
    let [oh, ow] = g.out_size().expect("checked by applies");
    let (in_len, out_len) = (c * g.in_size[0] * g.in_size[1], o * oh * ow);
    let threads = rayon::current_num_threads();
    let ld = n * t;
    let v_block = block(ld, c);
    let mut out = zeroed(n * out_len);
    with_kept(|v| {
        let v = sized(v, 36 * v_block);
        // Each image's tile rows, cut into as many parts as it has threads.
        let parts: Vec<(usize, Range<usize>)> = (0..n).flat_map(|k| split_evenly(th, threads.div_ceil(n).min(th)).into_iter().map(move |r| (k, r))).collect();
        let mut targets: Vec<Vec<&mut [f32]>> = parts.iter().map(|_| Vec::with_capacity(36)).collect();
        for b in v.chunks_mut(v_block) {
            let mut rest = &mut b[..ld * c];
            for (target, (_, rows)) in targets.iter_mut().zip(&parts) {
                let (head, tail) = rest.split_at_mut(rows.len() * tw * c);
                target.push(head);
                rest = tail;
            }
        }
        parts.into_par_iter().zip(targets).for_each(|((k, rows), mut target)| {
            Scratch::with(|Scratch([_, _, scratch])| transform_input(g, &x[k * in_len..(k + 1) * in_len], rows, &mut target, scratch));
        });
        let v = &*v;
        // Whole vectors of output channels to each thread, and each image's planes of them.
        let vectors = o.div_ceil(LANES);
        let channels: Vec<Range<usize>> = split_evenly(vectors, threads.min(vectors)).into_iter().map(|r| r.start * LANES..(r.end * LANES).min(o)).collect();
        let mut planes: Vec<Vec<&mut [f32]>> = channels.iter().map(|_| Vec::with_capacity(n)).collect();
        for image in out.chunks_mut(out_len) {
            let mut rest = image;
            for (p, r) in planes.iter_mut().zip(&channels) {
                let (head, tail) = rest.split_at_mut(r.len() * oh * ow);
                p.push(head);
                rest = tail;
            }
        }
        channels.into_par_iter().zip(planes).for_each(|(r, mut planes)| {
            Scratch::with(|Scratch([u, m, scratch])| {
                let ot = r.len();
                let u = match kept {
                    Some(k) => &k.values()[r.start * u_row(c)..r.end * u_row(c)],
                    None => {
                        let u = sized(u, ot * u_row(c));
                        for (uo, w) in u.chunks_mut(u_row(c)).zip(weight[r.start * 9 * c..r.end * 9 * c].chunks(9 * c)) {
                            kernel_row(w, c, uo);
                        }
                        &*u
                    }
                };
                let m_block = block(ld, ot);
                let m = sized(m, 36 * m_block);
                for xi in 0..36 {
                    let v_xi = View::rows(&v[xi * v_block..], c);
                    let u_xi_t = View::rows(&u[xi * u_seg(c)..], u_row(c)).transposed();
                    matmul(&mut m[xi * m_block..], ot, false, ld, ot, c, v_xi, u_xi_t, gemm::Parallelism::None);
                }
                for (k, plane) in planes.iter_mut().enumerate() {
                    transform_output(g, ot, m, m_block, k * t, plane, scratch);
                }
            })
        });
    });
    out
}

/// `dW = Gᵀ dU G` from `du` laid out as [`transform_kernel`]'s `U`, into `[O, C, 3, 3]`.
fn kernel_adjoint(g: &Conv2dGeometry, du: &[f32]) -> Vec<f32> {
    let c = g.in_channels;
    let mut dw = vec![0.0f32; g.out_channels * c * 9];
    dw.par_chunks_mut(9 * c).zip(du.par_chunks(u_row(c))).for_each(|(dw, du)| kernel_adjoint_row(du, c, dw));
    dw
}

avx512! {
/// `dW = Gᵀ dU G` for one output channel's `du` (`[36][C]`), into `out` (`[C, 3, 3]`).
fn kernel_adjoint_row(du: &[f32], c: usize, out: &mut [f32]) {
    for c0 in (0..c).step_by(LANES) {
        let len = LANES.min(c - c0);
        let d: [Lanes; 36] = load(du, std::array::from_fn(|xi| xi * u_seg(c) + c0), len);
        // t[r][j] = Σ_i G[i][r] dU[i][j]
        let mut t = [[[0.0f32; LANES]; 6]; 3];
        for (r, tr) in t.iter_mut().enumerate() {
            for (j, trj) in tr.iter_mut().enumerate() {
                for (i, gi) in G.iter().enumerate() {
                    for l in 0..LANES {
                        trj[l] += gi[r] * d[i * 6 + j][l];
                    }
                }
            }
        }
        for (r, tr) in t.iter().enumerate() {
            for s in 0..3 {
                let mut v = [0.0f32; LANES];
                for (j, gj) in G.iter().enumerate() {
                    for l in 0..LANES {
                        v[l] += gj[s] * tr[j][l];
                    }
                }
                for lane in 0..len {
                    out[(c0 + lane) * 9 + r * 3 + s] = v[lane];
                }
            }
        }
    }
}
}

/// The weight gradient in the transformed domain: `dU_ξ = Σ_tiles dM_ξᵀ · V_ξ`, with `V` the
/// forward pass's input transform and `dM` the adjoint of its output transform, then
/// `dW = Gᵀ dU G`. The products shrink by 4× against im2col's, as in the forward pass.
pub(super) fn backward_weight(g: &Conv2dGeometry, x: &[f32], dout: &[f32]) -> Vec<f32> {
    let (o, c) = (g.out_channels, g.in_channels);
    let (t, in_len, out_len, batching) = plan(g, MIN_TILES_WEIGHT_GRADIENT);
    let [th, _] = tiles(g);
    let du = batching.sum(o * u_row(c), |n0, gn, du, Scratch([v, dm, scratch])| {
        let ld = gn * t;
        let (v_block, m_block) = (block(ld, c), block(ld, o));
        let v = sized(v, 36 * v_block);
        let dm = sized(dm, 36 * m_block);
        for k in 0..gn {
            transform_input(g, &x[(n0 + k) * in_len..(n0 + k + 1) * in_len], 0..th, &mut block_rows(v, v_block, k * t, t, c), scratch);
            transform_output_adjoint(g, &dout[(n0 + k) * out_len..(n0 + k + 1) * out_len], dm, m_block, k * t, scratch);
        }
        for xi in 0..36 {
            let dm_xi_t = View::rows(&dm[xi * m_block..], o).transposed();
            let v_xi = View::rows(&v[xi * v_block..], c);
            matmul(&mut du[xi * u_seg(c)..], u_row(c), true, o, c, ld, dm_xi_t, v_xi, batching.par);
        }
    });
    kernel_adjoint(g, &du)
}

#[cfg(test)]
mod tests {
    use super::super::kernel::tests::{naive, values};
    use super::*;

    fn geom(batch: usize, c: usize, h: usize, w: usize, o: usize, p: [usize; 2]) -> Conv2dGeometry {
        Conv2dGeometry { batch, in_channels: c, in_size: [h, w], out_channels: o, kernel: [3, 3], stride: [1, 1], padding: p, dilation: [1, 1] }
    }

    /// Whole and partial tiles, padding 0, 1 and 2, channels that do not fill a vector, one
    /// image (shared out when there are threads to spare), one tile per image, and many small
    /// images in one product (the weight gradient's product holds fewer tiles than the forward
    /// pass's: both groupings are exercised).
    fn shapes() -> Vec<Conv2dGeometry> {
        vec![geom(1, 16, 12, 12, 24, [1, 1]), geom(3, 9, 12, 12, 8, [1, 1]), geom(2, 8, 9, 11, 11, [1, 0]), geom(2, 20, 7, 7, 17, [2, 2]), geom(70, 8, 4, 4, 8, [1, 1]), geom(5, 33, 6, 5, 9, [0, 1]), geom(40, 8, 8, 8, 8, [1, 1])]
    }

    /// Outputs that fill less than half their tiles go to im2col (2×2: a quarter; 5×5: 25 of
    /// 64); 3×3, 4×4 and 7×7 stay.
    #[test]
    fn mostly_empty_tiles_go_to_im2col() {
        assert!(!applies(&geom(32, 512, 2, 2, 512, [1, 1])));
        assert!(!applies(&geom(32, 64, 5, 5, 64, [1, 1])));
        for hw in [3, 4, 7, 8] {
            assert!(applies(&geom(32, 64, hw, hw, 64, [1, 1])), "{hw}×{hw}");
        }
    }

    /// Few tiles for the size of the kernel go to im2col: one image of 14×14 with 256 channels,
    /// 16 of 7×7 with 512. One image of 28×28 or 56×56, and the batches of training, stay.
    #[test]
    fn few_tiles_go_to_im2col() {
        assert!(!applies(&geom(1, 256, 14, 14, 256, [1, 1])));
        assert!(!applies(&geom(16, 512, 7, 7, 512, [1, 1])));
        assert!(applies(&geom(1, 128, 28, 28, 128, [1, 1])));
        assert!(applies(&geom(1, 64, 56, 56, 64, [1, 1])));
        assert!(applies(&geom(32, 512, 7, 7, 512, [1, 1])));
        assert!(applies(&geom(128, 512, 4, 4, 512, [1, 1])));
    }

    /// Batches with fewer images than threads: the input transform shared out by tile rows
    /// (one or several parts an image), the rest by output channels (a last range that does not
    /// fill a vector): as the definition, and the same on every run.
    #[test]
    fn small_batches_split_between_threads() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
        pool.install(|| {
            for g in [geom(1, 20, 13, 11, 40, [1, 1]), geom(1, 8, 10, 10, 8, [0, 0]), geom(3, 17, 9, 9, 33, [2, 2]), geom(2, 64, 9, 9, 64, [1, 1])] {
                assert!(applies(&g) && plan(&g, MIN_TILES).3.few_groups(), "{g:?}");
                let x = values(g.batch * g.in_channels * g.in_size[0] * g.in_size[1], 1);
                let w = values(g.out_channels * g.in_channels * 9, 2);
                let out = forward(&g, &x, &w, None);
                let err = out.iter().zip(naive(&g, &x, &w)).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
                assert!(err < 1e-4, "{g:?}: differs by {err}");
                assert_eq!(out, forward(&g, &x, &w, None), "{g:?}: not reproducible");
            }
        });
    }

    #[test]
    fn forward_matches_the_definition() {
        for g in shapes() {
            assert!(applies(&g));
            let x = values(g.batch * g.in_channels * g.in_size[0] * g.in_size[1], 1);
            let w = values(g.out_channels * g.in_channels * 9, 2);
            let err = forward(&g, &x, &w, None).iter().zip(naive(&g, &x, &w)).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
            assert!(err < 1e-4, "{g:?}: differs by {err}");
        }
    }

    /// Kernels transformed in advance give the same output, also where the tiles are too few
    /// for Winograd without them (one image of 14×14 or 7×7, split between the threads).
    #[test]
    fn kept_kernels_give_the_same_output() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
        pool.install(|| {
            for g in shapes().into_iter().chain([geom(1, 64, 14, 14, 64, [1, 1]), geom(1, 32, 7, 7, 48, [1, 1])]) {
                let x = values(g.batch * g.in_channels * g.in_size[0] * g.in_size[1], 1);
                let w = values(g.out_channels * g.in_channels * 9, 2);
                let kept = WinogradKernel::new(&g, &w).expect("fits");
                assert!(kept.matches(&g));
                let out = forward(&g, &x, &w, Some(&kept));
                let err = out.iter().zip(naive(&g, &x, &w)).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
                assert!(err < 1e-4, "{g:?}: differs by {err}");
            }
            // Not 3×3 with stride 1: nothing to keep.
            let strided = Conv2dGeometry { stride: [2, 2], ..geom(1, 16, 12, 12, 16, [1, 1]) };
            assert!(WinogradKernel::new(&strided, &values(16 * 16 * 9, 2)).is_none());
        });
    }

    /// `<conv(x), dy> = <w, dW>` for every weight: the weight gradient is the forward pass's
    /// adjoint in the weight.
    #[test]
    fn weight_gradient_is_the_adjoint() {
        for g in shapes() {
            let x = values(g.batch * g.in_channels * g.in_size[0] * g.in_size[1], 1);
            let [oh, ow] = g.out_size().unwrap();
            let dy = values(g.batch * g.out_channels * oh * ow, 3);
            let dw = backward_weight(&g, &x, &dy);
            // dW[o, c, r, s] = Σ_n,y,x dy[n, o, y, x] · x[n, c, y + r - p, x + s - p]
            let mut expected = vec![0.0f64; dw.len()];
            let [h, w] = g.in_size;
            for n in 0..g.batch {
                for o in 0..g.out_channels {
                    for c in 0..g.in_channels {
                        for r in 0..3 {
                            for s in 0..3 {
                                let mut sum = 0.0f64;
                                for y in 0..oh {
                                    for xx in 0..ow {
                                        let (iy, ix) = ((y + r) as isize - g.padding[0] as isize, (xx + s) as isize - g.padding[1] as isize);
                                        if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w {
                                            sum += dy[((n * g.out_channels + o) * oh + y) * ow + xx] as f64 * x[((n * g.in_channels + c) * h + iy as usize) * w + ix as usize] as f64;
                                        }
                                    }
                                }
                                expected[((o * g.in_channels + c) * 3 + r) * 3 + s] += sum;
                            }
                        }
                    }
                }
            }
            let err = dw.iter().zip(&expected).map(|(a, b)| (*a as f64 - b).abs()).fold(0.0f64, f64::max);
            assert!(err < 1e-3, "{g:?}: differs by {err}");
        }
    }
}
