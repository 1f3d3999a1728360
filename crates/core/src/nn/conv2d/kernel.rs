//! A 2-D convolution on the CPU for `f32` NCHW tensors: im2col and one matrix product per group
//! of images, with the images split between the rayon threads. A batch with fewer groups than
//! threads (a server's single image) shares out each group instead: all threads fill its
//! patches, row by row, and gemm's own threads run its product.
//!
//! The three passes a training step needs share one layout:
//! - forward: `out[O, P] = W[O, K] · col[K, P]`;
//! - input gradient: `dcol[K, P] = Wᵀ · dout[O, P]`, then col2im (the adjoint of im2col);
//! - weight gradient: `dW[O, K] = Σ dout[O, P] · colᵀ[P, K]`, summed per thread, then over the
//!   threads in a fixed order, so that a run is reproducible for a given number of threads.
//!
//! 3×3 convolutions with stride 1 go to [`super::winograd`] instead (forward, and so the
//! input gradient, and the weight gradient).
//!
//! `K = C·kh·kw` and `P = out_h·out_w`. Where `P` is small (deep layers), several images are
//! laid side by side in one `col` so that each product is wide enough to run at full speed.

use rayon::prelude::*;

use super::winograd::WinogradKernel;
use crate::nn::flex::split_evenly;
pub(super) use crate::nn::matmul::{View, matmul};

/// The shape of one convolution: input, kernel, stride, padding and dilation (groups = 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dGeometry {
    /// Images in the batch.
    pub batch: usize,
    /// Input channels.
    pub in_channels: usize,
    /// Input height and width.
    pub in_size: [usize; 2],
    /// Output channels.
    pub out_channels: usize,
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Stride along height and width.
    pub stride: [usize; 2],
    /// Zero padding on each side, along height and width.
    pub padding: [usize; 2],
    /// Dilation along height and width.
    pub dilation: [usize; 2],
}

/// Products narrower than this many columns put several images side by side.
const MIN_COLUMNS: usize = 256;

impl Conv2dGeometry {
    /// Output height and width, or `None` when the kernel does not fit in the padded input.
    pub fn out_size(&self) -> Option<[usize; 2]> {
        let dim = |i: usize| {
            let span = self.dilation[i] * (self.kernel[i] - 1) + 1;
            let padded = self.in_size[i] + 2 * self.padding[i];
            (self.stride[i] > 0 && padded >= span).then(|| (padded - span) / self.stride[i] + 1)
        };
        Some([dim(0)?, dim(1)?])
    }

    fn out_hw(&self) -> [usize; 2] {
        self.out_size().expect("convolution geometry checked by the caller")
    }

    /// Rows of `col`: input channels × kernel positions.
    fn k(&self) -> usize {
        self.in_channels * self.kernel[0] * self.kernel[1]
    }

    /// Output pixels per image.
    fn p(&self) -> usize {
        let [h, w] = self.out_hw();
        h * w
    }

    fn in_len(&self) -> usize {
        self.in_channels * self.in_size[0] * self.in_size[1]
    }

    fn out_len(&self) -> usize {
        self.out_channels * self.p()
    }

    /// A 1×1 kernel with stride 1 and no padding: the input already is `col`.
    fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1] && self.stride == [1, 1] && self.padding == [0, 0]
    }

    /// Images per product.
    fn group(&self) -> usize {
        MIN_COLUMNS.div_ceil(self.p().max(1)).clamp(1, self.batch.max(1))
    }

    /// Multiply-adds ×2 of the forward pass.
    pub fn flops(&self) -> f64 {
        2.0 * (self.batch * self.out_len() * self.k()) as f64
    }
}

/// How a batch is cut up: images per product (`group`), each thread's contiguous range of
/// groups, and whether the products themselves run in parallel (with fewer groups than threads).
pub(super) struct Batching {
    batch: usize,
    group: usize,
    ranges: Vec<std::ops::Range<usize>>,
    /// For the matrix products.
    pub(super) par: gemm::Parallelism,
}

impl Batching {
    pub(super) fn new(batch: usize, group: usize) -> Self {
        let n_groups = batch.div_ceil(group);
        let threads = rayon::current_num_threads();
        let ranges = split_evenly(n_groups, threads.clamp(1, n_groups.max(1)));
        let par = if n_groups < threads && threads > 1 { gemm::Parallelism::Rayon(0) } else { gemm::Parallelism::None };
        Self { batch, group, ranges, par }
    }

    /// Whether there are fewer groups than threads, so that one group's work is itself shared
    /// out between the threads (its matrix products run in parallel).
    pub(super) fn few_groups(&self) -> bool {
        matches!(self.par, gemm::Parallelism::Rayon(_))
    }

    /// `(first image, images)` of each group in a thread's range.
    fn groups(&self, r: std::ops::Range<usize>) -> impl Iterator<Item = (usize, usize)> + '_ {
        r.map(|gi| (gi * self.group, self.group.min(self.batch - gi * self.group)))
    }

    /// Runs `f(first image, images, their part of out, scratch)` over the groups, each thread
    /// on its range, with `out` (`per_image` values an image) split at the thread boundaries.
    pub(super) fn for_each_group(&self, out: &mut [f32], per_image: usize, f: impl Fn(usize, usize, &mut [f32], &mut Scratch) + Sync) {
        let mut parts = Vec::with_capacity(self.ranges.len());
        let mut rest = out;
        for r in &self.ranges {
            let images = (r.end * self.group).min(self.batch) - r.start * self.group;
            let (head, tail) = rest.split_at_mut(images * per_image);
            parts.push((r.clone(), head));
            rest = tail;
        }
        parts.into_par_iter().for_each(|(r, part)| {
            Scratch::with(|scratch| {
                let base = r.start * self.group;
                for (n0, gn) in self.groups(r) {
                    f(n0, gn, &mut part[(n0 - base) * per_image..(n0 - base + gn) * per_image], scratch);
                }
            })
        });
    }

    /// `Σ` over the groups of what `f(first image, images, acc, scratch)` adds into `acc` (`len`
    /// values): one accumulator per thread, then summed in thread order.
    pub(super) fn sum(&self, len: usize, f: impl Fn(usize, usize, &mut [f32], &mut Scratch) + Sync) -> Vec<f32> {
        let partial: Vec<Vec<f32>> = self
            .ranges
            .clone()
            .into_par_iter()
            .map(|r| {
                let mut acc = vec![0.0f32; len];
                Scratch::with(|scratch| {
                    for (n0, gn) in self.groups(r) {
                        f(n0, gn, &mut acc, scratch);
                    }
                });
                acc
            })
            .collect();
        let mut parts = partial.into_iter();
        let mut total = parts.next().unwrap_or_else(|| vec![0.0; len]);
        for part in parts {
            for (a, b) in total.iter_mut().zip(part) {
                *a += b;
            }
        }
        total
    }
}

/// Three buffers a thread reuses from one convolution to the next (im2col columns, transformed
/// tiles, products): allocating and zeroing them afresh for every call cost as much as the
/// transforms that fill them.
#[derive(Default)]
pub(super) struct Scratch(pub(super) [Vec<f32>; 3]);

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::new(Scratch::default());
}

thread_local! {
    static KEPT: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Buffers larger than this many values go back to the allocator after the call.
const MAX_KEPT: usize = 1 << 24;

/// Runs `f` with a buffer the calling thread keeps from one convolution to the next, for what
/// all the threads of one call share (Winograd's transformed kernels or tiles): tens of
/// megabytes that, allocated afresh, were zeroed first and then written again.
pub(super) fn with_kept<R>(f: impl FnOnce(&mut Vec<f32>) -> R) -> R {
    let mut buf = KEPT.with(|k| std::mem::take(&mut *k.borrow_mut()));
    let result = f(&mut buf);
    if buf.capacity() > MAX_KEPT {
        buf = Vec::new();
    }
    KEPT.with(|k| *k.borrow_mut() = buf);
    result
}

impl Scratch {
    /// Runs `f` with this thread's buffers. They are taken out for the call, so a call nested
    /// on the same thread (rayon may run another task while it waits) starts with empty ones.
    pub(super) fn with<R>(f: impl FnOnce(&mut Scratch) -> R) -> R {
        let mut scratch = SCRATCH.with(|s| std::mem::take(&mut *s.borrow_mut()));
        let result = f(&mut scratch);
        for buf in &mut scratch.0 {
            if buf.capacity() > MAX_KEPT {
                *buf = Vec::new();
            }
        }
        SCRATCH.with(|s| *s.borrow_mut() = scratch);
        result
    }
}

/// For output column `x` the input column is `x·stride + shift`: the range of `x` that lands
/// inside `0..len`.
fn valid_range(out_len: usize, len: usize, stride: usize, shift: isize) -> std::ops::Range<usize> {
    let lo = if shift < 0 { ((-shift) as usize).div_ceil(stride) } else { 0 };
    let hi = if (len as isize) <= shift { 0 } else { ((len as isize - shift) as usize).div_ceil(stride) };
    lo.min(out_len)..hi.min(out_len).max(lo.min(out_len))
}

/// `dst[i] = src[i·S]`: a constant stride, which the compiler turns into whole-vector loads
/// and shuffles.
#[inline(always)]
fn strided<const S: usize>(dst: &mut [f32], src: &[f32]) {
    for (d, s) in dst.iter_mut().zip(src.chunks(S)) {
        *d = s[0];
    }
}

avx512! {
/// Row `row` (an input channel, kernel row and kernel column) of one image's patches: `dst`
/// holds its `oh·ow` values.
fn im2col_row(g: &Conv2dGeometry, x: &[f32], row: usize, dst: &mut [f32]) {
    let [h, w] = g.in_size;
    let [_, ow] = g.out_hw();
    let [sh, sw] = g.stride;
    let [kh, kw] = g.kernel;
    let (c, ki, kj) = (row / (kh * kw), row / kw % kh, row % kw);
    let xc = &x[c * h * w..(c + 1) * h * w];
    let shift_x = (kj * g.dilation[1]) as isize - g.padding[1] as isize;
    let xs = valid_range(ow, w, sw, shift_x);
    for (y, d) in dst.chunks_exact_mut(ow).enumerate() {
        let iy = (y * sh + ki * g.dilation[0]) as isize - g.padding[0] as isize;
        if iy < 0 || iy >= h as isize {
            d.fill(0.0);
            continue;
        }
        let src = &xc[iy as usize * w..(iy as usize + 1) * w];
        d[..xs.start].fill(0.0);
        d[xs.end..].fill(0.0);
        let s0 = (xs.start as isize * sw as isize + shift_x) as usize;
        let d = &mut d[xs.clone()];
        match sw {
            1 => d.copy_from_slice(&src[s0..s0 + d.len()]),
            2 => strided::<2>(d, &src[s0..]),
            _ => {
                for (i, v) in d.iter_mut().enumerate() {
                    *v = src[s0 + i * sw];
                }
            }
        }
    }
}
}

/// The adjoint of [`im2col_row`] over all rows: adds each patch entry back onto the input
/// pixel it came from.
fn col2im(g: &Conv2dGeometry, col: &[f32], ld: usize, off: usize, dx: &mut [f32]) {
    let [h, w] = g.in_size;
    let [oh, ow] = g.out_hw();
    let [sh, sw] = g.stride;
    for c in 0..g.in_channels {
        let dxc = &mut dx[c * h * w..(c + 1) * h * w];
        for ki in 0..g.kernel[0] {
            for kj in 0..g.kernel[1] {
                let row = (c * g.kernel[0] + ki) * g.kernel[1] + kj;
                let src = &col[row * ld + off..row * ld + off + oh * ow];
                let shift_x = (kj * g.dilation[1]) as isize - g.padding[1] as isize;
                let xs = valid_range(ow, w, sw, shift_x);
                for y in 0..oh {
                    let iy = (y * sh + ki * g.dilation[0]) as isize - g.padding[0] as isize;
                    if iy < 0 || iy >= h as isize {
                        continue;
                    }
                    let d = &mut dxc[iy as usize * w..(iy as usize + 1) * w];
                    let s = &src[y * ow..(y + 1) * ow];
                    if sw == 1 {
                        let d0 = (xs.start as isize + shift_x) as usize;
                        for (a, b) in d[d0..d0 + xs.len()].iter_mut().zip(&s[xs.clone()]) {
                            *a += b;
                        }
                    } else {
                        for xo in xs.clone() {
                            d[(xo as isize * sw as isize + shift_x) as usize] += s[xo];
                        }
                    }
                }
            }
        }
    }
}

/// Copies images `n0..n0+gn` of a `[N, O, P]` tensor side by side into `[O, gn·P]`.
fn gather(src: &[f32], o: usize, p: usize, n0: usize, gn: usize, dst: &mut [f32]) {
    for g in 0..gn {
        for c in 0..o {
            let s = &src[((n0 + g) * o + c) * p..((n0 + g) * o + c + 1) * p];
            dst[c * gn * p + g * p..c * gn * p + (g + 1) * p].copy_from_slice(s);
        }
    }
}

/// The inverse of [`gather`].
fn scatter(src: &[f32], o: usize, p: usize, gn: usize, dst: &mut [f32]) {
    for g in 0..gn {
        for c in 0..o {
            dst[(g * o + c) * p..(g * o + c + 1) * p].copy_from_slice(&src[c * gn * p + g * p..c * gn * p + (g + 1) * p]);
        }
    }
}

/// Patch rows filled by one task when the rows are filled in parallel: enough values to be
/// worth a task.
const MIN_VALUES_A_TASK: usize = 1 << 14;

/// Fills `col` (`[K, gn·P]`) with the patches of images `n0..n0+gn`; with `parallel`, the rows
/// are shared out between the threads (a batch with fewer groups than threads, where the
/// products are split between them too).
fn fill_col(geom: &Conv2dGeometry, x: &[f32], n0: usize, gn: usize, col: &mut [f32], parallel: bool) {
    let (p, ld, in_len) = (geom.p(), gn * geom.p(), geom.in_len());
    let fill = |(row, dst): (usize, &mut [f32])| {
        for (i, d) in dst.chunks_exact_mut(p).enumerate() {
            im2col_row(geom, &x[(n0 + i) * in_len..(n0 + i + 1) * in_len], row, d);
        }
    };
    if parallel {
        col.par_chunks_mut(ld).enumerate().with_min_len(MIN_VALUES_A_TASK.div_ceil(ld)).for_each(fill);
    } else {
        col.chunks_mut(ld).enumerate().for_each(fill);
    }
}

/// `n` zeros, written by all the threads: a convolution's output is allocated on the calling
/// thread, and zeroing tens of megabytes there (a U-Net's 64×64 activations) left the other
/// threads idle for 7% of a training step. A small output (a deep layer's for one image) is
/// zeroed where it is: waking the threads would cost more.
pub(super) fn zeroed(n: usize) -> Vec<f32> {
    if n < 1 << 18 {
        return vec![0.0; n];
    }
    let mut v = Vec::with_capacity(n);
    v.par_extend(rayon::iter::repeat_n(0.0f32, n));
    v
}

/// `buf` grown to at least `len` values, as a slice of exactly `len` (scratch space reused
/// from one group of images to the next).
pub(super) fn sized(buf: &mut Vec<f32>, len: usize) -> &mut [f32] {
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    &mut buf[..len]
}

/// The forward pass: `x` is `[N, C, H, W]`, `weight` `[O, C, kh, kw]`; returns `[N, O, oh, ow]`.
pub fn forward(geom: &Conv2dGeometry, x: &[f32], weight: &[f32]) -> Vec<f32> {
    assert_eq!(x.len(), geom.batch * geom.in_len(), "conv2d input length");
    assert_eq!(weight.len(), geom.out_channels * geom.k(), "conv2d weight length");
    if super::winograd::applies(geom) {
        return super::winograd::forward(geom, x, weight, None);
    }
    let (o, k, p) = (geom.out_channels, geom.k(), geom.p());
    let batching = Batching::new(geom.batch, geom.group());
    let par = batching.par;
    let mut out = zeroed(geom.batch * geom.out_len());
    batching.for_each_group(&mut out, geom.out_len(), |n0, gn, out, Scratch([col, tmp, _])| {
        let w = View::rows(weight, k);
        if geom.is_pointwise() && gn == 1 {
            let xi = &x[n0 * geom.in_len()..(n0 + 1) * geom.in_len()];
            matmul(out, p, false, o, p, k, w, View::rows(xi, p), par);
            return;
        }
        let ld = gn * p;
        let col = sized(col, k * ld);
        fill_col(geom, x, n0, gn, col, batching.few_groups());
        if gn == 1 {
            matmul(out, p, false, o, p, k, w, View::rows(col, ld), par);
        } else {
            let tmp = sized(tmp, o * ld);
            matmul(tmp, ld, false, o, ld, k, w, View::rows(col, ld), par);
            scatter(tmp, o, p, gn, out);
        }
    });
    out
}

/// [`forward`] with `weight`'s kernels transformed in advance for Winograd
/// ([`WinogradKernel::new`] of the same weights): for a model that runs the same weights many
/// times (a server), where Winograd then also pays on few tiles. Without `kept`, or with one
/// for other channels, it is [`forward`].
pub fn forward_with(geom: &Conv2dGeometry, x: &[f32], weight: &[f32], kept: Option<&WinogradKernel>) -> Vec<f32> {
    assert_eq!(x.len(), geom.batch * geom.in_len(), "conv2d input length");
    assert_eq!(weight.len(), geom.out_channels * geom.k(), "conv2d weight length");
    match kept.filter(|k| k.matches(geom)) {
        Some(k) => super::winograd::forward(geom, x, weight, Some(k)),
        None => forward(geom, x, weight),
    }
}

/// With stride 1 (and enough input channels to make a wide product), the input gradient is
/// itself a convolution: of the output gradient, with the kernel flipped and its channel axes
/// swapped, padded by `dilation·(k-1) - padding`. That runs as one long product
/// (`K = O·kh·kw`) instead of a short one followed by col2im.
fn transposed_conv(geom: &Conv2dGeometry, weight: &[f32]) -> Option<(Conv2dGeometry, Vec<f32>)> {
    let reach = |i: usize| geom.dilation[i] * (geom.kernel[i] - 1);
    if geom.stride != [1, 1] || geom.padding[0] > reach(0) || geom.padding[1] > reach(1) || geom.is_pointwise() || geom.in_channels < 16 {
        return None;
    }
    let [kh, kw] = geom.kernel;
    let (c, o) = (geom.in_channels, geom.out_channels);
    // Written in order, one input channel per task (a 1024×512 kernel is 4.7M values).
    let mut flipped = vec![0.0f32; weight.len()];
    flipped.par_chunks_mut(o * kh * kw).enumerate().for_each(|(ci, dst)| {
        for (oi, d) in dst.chunks_exact_mut(kh * kw).enumerate() {
            let src = &weight[(oi * c + ci) * kh * kw..(oi * c + ci + 1) * kh * kw];
            for (dv, sv) in d.iter_mut().zip(src.iter().rev()) {
                *dv = *sv;
            }
        }
    });
    let g = Conv2dGeometry {
        batch: geom.batch,
        in_channels: o,
        in_size: geom.out_hw(),
        out_channels: c,
        kernel: geom.kernel,
        stride: [1, 1],
        padding: [reach(0) - geom.padding[0], reach(1) - geom.padding[1]],
        dilation: geom.dilation,
    };
    Some((g, flipped))
}

/// The gradient with respect to the input, `[N, C, H, W]`, from the output's gradient `dout`.
pub fn backward_input(geom: &Conv2dGeometry, weight: &[f32], dout: &[f32]) -> Vec<f32> {
    assert_eq!(dout.len(), geom.batch * geom.out_len(), "conv2d output-gradient length");
    if let Some((transposed, flipped)) = transposed_conv(geom, weight) {
        return forward(&transposed, dout, &flipped);
    }
    let (o, k, p) = (geom.out_channels, geom.k(), geom.p());
    let batching = Batching::new(geom.batch, geom.group());
    let par = batching.par;
    let mut dx = zeroed(geom.batch * geom.in_len());
    let in_len = geom.in_len();
    batching.for_each_group(&mut dx, in_len, |n0, gn, dx, Scratch([dcol, tmp, _])| {
        let wt = View::rows(weight, k).transposed();
        let ld = gn * p;
        let dy = if gn == 1 {
            &dout[n0 * o * p..(n0 + 1) * o * p]
        } else {
            let tmp = sized(tmp, o * ld);
            gather(dout, o, p, n0, gn, tmp);
            &*tmp
        };
        if geom.is_pointwise() && gn == 1 {
            matmul(dx, p, false, k, p, o, wt, View::rows(dy, p), par);
            return;
        }
        let dcol = sized(dcol, k * ld);
        matmul(dcol, ld, false, k, ld, o, wt, View::rows(dy, ld), par);
        for g in 0..gn {
            col2im(geom, dcol, ld, g * p, &mut dx[g * in_len..(g + 1) * in_len]);
        }
    });
    dx
}

/// The gradient with respect to the weight, `[O, C, kh, kw]`.
pub fn backward_weight(geom: &Conv2dGeometry, x: &[f32], dout: &[f32]) -> Vec<f32> {
    assert_eq!(x.len(), geom.batch * geom.in_len(), "conv2d input length");
    assert_eq!(dout.len(), geom.batch * geom.out_len(), "conv2d output-gradient length");
    if super::winograd::applies(geom) {
        return super::winograd::backward_weight(geom, x, dout);
    }
    let (o, k, p) = (geom.out_channels, geom.k(), geom.p());
    let batching = Batching::new(geom.batch, geom.group());
    let par = batching.par;
    batching.sum(o * k, |n0, gn, dw, Scratch([col, tmp, _])| {
        let ld = gn * p;
        let dy = if gn == 1 {
            &dout[n0 * o * p..(n0 + 1) * o * p]
        } else {
            let tmp = sized(tmp, o * ld);
            gather(dout, o, p, n0, gn, tmp);
            &*tmp
        };
        let colt = if geom.is_pointwise() && gn == 1 {
            View::rows(&x[n0 * geom.in_len()..(n0 + 1) * geom.in_len()], p).transposed()
        } else {
            let col = sized(col, k * ld);
            fill_col(geom, x, n0, gn, col, batching.few_groups());
            View::rows(col, ld).transposed()
        };
        matmul(dw, k, true, o, k, ld, View::rows(dy, ld), colt, par);
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// The definition, in f64.
    pub(in super::super) fn naive(g: &Conv2dGeometry, x: &[f32], w: &[f32]) -> Vec<f32> {
        let [oh, ow] = g.out_size().unwrap();
        let [h, wd] = g.in_size;
        let mut out = vec![0.0; g.batch * g.out_channels * oh * ow];
        for n in 0..g.batch {
            for o in 0..g.out_channels {
                for y in 0..oh {
                    for xo in 0..ow {
                        let mut s = 0.0f64;
                        for c in 0..g.in_channels {
                            for ki in 0..g.kernel[0] {
                                for kj in 0..g.kernel[1] {
                                    let iy = (y * g.stride[0] + ki * g.dilation[0]) as isize - g.padding[0] as isize;
                                    let ix = (xo * g.stride[1] + kj * g.dilation[1]) as isize - g.padding[1] as isize;
                                    if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < wd {
                                        let xv = x[((n * g.in_channels + c) * h + iy as usize) * wd + ix as usize];
                                        let wv = w[((o * g.in_channels + c) * g.kernel[0] + ki) * g.kernel[1] + kj];
                                        s += (xv * wv) as f64;
                                    }
                                }
                            }
                        }
                        out[((n * g.out_channels + o) * oh + y) * ow + xo] = s as f32;
                    }
                }
            }
        }
        out
    }

    pub(in super::super) fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((s >> 33) as f32 / (1u64 << 31) as f32) - 0.5
            })
            .collect()
    }

    fn dot(a: &[f32], b: &[f32]) -> f64 {
        a.iter().zip(b).map(|(x, y)| (*x as f64) * (*y as f64)).sum()
    }

    /// The forward pass matches the definition, and both gradients are its adjoints:
    /// `<conv(x, w), dy> = <x, dx(dy)> = <w, dw(dy)>`.
    fn check(g: Conv2dGeometry) {
        let [oh, ow] = g.out_size().unwrap();
        let x = values(g.batch * g.in_len(), 1);
        let w = values(g.out_channels * g.k(), 2);
        let out = forward(&g, &x, &w);
        let reference = naive(&g, &x, &w);
        let err = out.iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        // Relative to the largest output: Winograd's transforms round a little more than a sum.
        let scale = reference.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        assert!(err < 1e-5 * scale, "{g:?}: forward differs by {err} (largest output {scale})");
        let dy = values(g.batch * g.out_channels * oh * ow, 3);
        let dx = backward_input(&g, &w, &dy);
        let dw = backward_weight(&g, &x, &dy);
        let lhs = dot(&out, &dy);
        // Rounding grows with the terms of the sum, not with the sum, which may cancel.
        let terms: f64 = out.iter().zip(&dy).map(|(a, b)| (*a as f64 * *b as f64).abs()).sum();
        let tol = 1e-5 * terms.max(1.0);
        assert!((lhs - dot(&x, &dx)).abs() < tol, "{g:?}: input gradient is not the adjoint: {lhs} against {}", dot(&x, &dx));
        assert!((lhs - dot(&w, &dw)).abs() < tol, "{g:?}: weight gradient is not the adjoint");
    }

    fn square(batch: usize, c: usize, hw: usize, o: usize, k: usize, s: usize, p: usize) -> Conv2dGeometry {
        Conv2dGeometry { batch, in_channels: c, in_size: [hw, hw], out_channels: o, kernel: [k, k], stride: [s, s], padding: [p, p], dilation: [1, 1] }
    }

    #[test]
    fn three_by_three_same_padding() {
        check(square(3, 2, 7, 4, 3, 1, 1));
        // Enough input channels for the input gradient to run as a transposed convolution.
        check(square(2, 17, 6, 5, 3, 1, 1));
    }

    #[test]
    fn winograd_tiles() {
        // Odd sizes leave partial tiles at the edges; padding 0 and 2; one tile an image, with
        // images grouped; the input gradient as a transposed convolution through the same
        // transforms (16 channels and more).
        check(square(3, 9, 7, 8, 3, 1, 1));
        check(square(2, 8, 9, 10, 3, 1, 0));
        check(square(2, 8, 5, 9, 3, 1, 2));
        check(square(70, 8, 4, 8, 3, 1, 1));
        check(square(6, 16, 11, 20, 3, 1, 1));
        check(Conv2dGeometry { batch: 2, in_channels: 12, in_size: [5, 8], out_channels: 17, kernel: [3, 3], stride: [1, 1], padding: [1, 0], dilation: [1, 1] });
        // Two tiles each way and more, with odd sizes, padding 0 and 2, and several groups of
        // images.
        check(square(3, 9, 9, 8, 3, 1, 1));
        check(square(2, 8, 10, 9, 3, 1, 0));
        check(square(2, 8, 8, 8, 3, 1, 2));
        check(square(70, 8, 8, 16, 3, 1, 1));
    }

    #[test]
    fn strided_and_pointwise() {
        check(square(5, 3, 9, 2, 3, 2, 1));
        check(square(2, 3, 8, 5, 1, 1, 0));
        check(square(2, 3, 8, 5, 1, 2, 0));
    }

    /// Batches with fewer groups than threads (a server's single image): patch rows filled by
    /// all the threads, the products run by gemm's; Winograd shared out (forward, and the input
    /// gradient as a transposed convolution); few tiles sent to im2col; the same on every run.
    #[test]
    fn batches_smaller_than_the_threads() {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
        pool.install(|| {
            for g in [square(1, 3, 20, 8, 7, 2, 3), square(2, 16, 9, 24, 3, 2, 1), square(1, 16, 9, 24, 1, 2, 0), square(3, 20, 10, 18, 3, 1, 1), square(1, 32, 6, 40, 3, 1, 1), square(1, 24, 5, 17, 1, 1, 0)] {
                check(g);
                let x = values(g.batch * g.in_len(), 1);
                let w = values(g.out_channels * g.k(), 2);
                assert_eq!(forward(&g, &x, &w), forward(&g, &x, &w), "{g:?}: not reproducible");
            }
        });
    }

    #[test]
    fn small_images_are_grouped_side_by_side() {
        // 4×4 outputs: many images per product, and a last group that is not full.
        check(square(40, 3, 4, 5, 1, 1, 0));
        check(square(33, 4, 5, 6, 3, 2, 1));
    }

    #[test]
    fn rectangular_dilated_and_wide_padding() {
        check(Conv2dGeometry { batch: 3, in_channels: 2, in_size: [6, 9], out_channels: 3, kernel: [2, 3], stride: [1, 2], padding: [0, 2], dilation: [2, 1] });
        check(square(1, 3, 8, 5, 5, 1, 2));
    }

    #[test]
    fn out_size_refuses_a_kernel_larger_than_the_padded_input() {
        assert_eq!(square(1, 1, 2, 1, 5, 1, 1).out_size(), None);
        assert_eq!(square(1, 1, 28, 1, 3, 2, 1).out_size(), Some([14, 14]));
    }
}
