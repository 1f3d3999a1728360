//! 2-D max pooling on the CPU for `f32` NCHW tensors, channel planes shared out between the
//! rayon threads (so one image uses every thread too).
//!
//! The forward pass takes the maximum down the kernel's rows first, whole input rows at a time
//! (a loop the compiler vectorises), then along each output row's windows. burn's flex kernel
//! computes every window element by element and writes an `i64` index for each output even when
//! nothing will read it: on resnet18's stem (64 planes of 112×112) it took about 7 ms for one
//! image.
//!
//! The backward pass recomputes each window's maximum position exactly as burn's flex kernel
//! chooses it (the first maximum in row-major order; a NaN wins, the last one if several) and
//! adds the output's gradient there.
//!
//! A NaN anywhere in a window makes its output NaN, as in PyTorch and burn.

use rayon::prelude::*;

/// Below this many input values one thread does all the work.
const PARALLEL_FROM: usize = 1 << 15;

/// Input values a task takes at least, when the planes are shared out.
const MIN_TASK: usize = 1 << 13;

/// The shape of one max pooling: input, window, stride, padding (the same on both sides),
/// dilation, and how the output size is rounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxPool2dGeometry {
    /// Images in the batch.
    pub batch: usize,
    /// Channels (each pooled on its own).
    pub channels: usize,
    /// Input height and width.
    pub in_size: [usize; 2],
    /// Window height and width.
    pub kernel: [usize; 2],
    /// Stride along height and width.
    pub stride: [usize; 2],
    /// Padding on each side (no value: it never wins), along height and width.
    pub padding: [usize; 2],
    /// Dilation along height and width.
    pub dilation: [usize; 2],
    /// Rounds the output size up instead of down (PyTorch's `ceil_mode`: a last window that
    /// would start in the trailing padding is dropped).
    pub ceil_mode: bool,
}

impl MaxPool2dGeometry {
    /// Output height and width, as burn's flex backend (and PyTorch) computes them; `None` for a
    /// zero kernel or stride.
    pub fn out_size(&self) -> Option<[usize; 2]> {
        let dim = |i: usize| {
            let (k, s, p, d, n) = (self.kernel[i], self.stride[i], self.padding[i], self.dilation[i], self.in_size[i]);
            if k == 0 || s == 0 || d == 0 {
                return None;
            }
            let span = d * (k - 1) + 1;
            let padded = n + 2 * p;
            if padded < span {
                return Some(usize::from(self.ceil_mode));
            }
            let num = padded - span;
            Some(if self.ceil_mode {
                let out = num.div_ceil(s) + 1;
                if (out - 1) * s >= n + p { out - 1 } else { out }
            } else {
                num / s + 1
            })
        };
        Some([dim(0)?, dim(1)?])
    }

    fn out_hw(&self) -> [usize; 2] {
        self.out_size().expect("max pool geometry checked by the caller")
    }

    fn planes(&self) -> usize {
        self.batch * self.channels
    }

    fn in_plane(&self) -> usize {
        self.in_size[0] * self.in_size[1]
    }

    fn out_plane(&self) -> usize {
        let [oh, ow] = self.out_hw();
        oh * ow
    }

    /// The kernel positions `k` along axis `i` whose input index `o·stride + k·dilation -
    /// padding` falls inside the input, for output index `o`.
    fn window(&self, i: usize, o: usize) -> std::ops::Range<usize> {
        let (k, s, p, d, n) = (self.kernel[i], self.stride[i], self.padding[i], self.dilation[i], self.in_size[i]);
        // First k with o·s + k·d ≥ p, and first k with o·s + k·d ≥ n + p.
        let first = |bound: usize| if o * s >= bound { 0 } else { (bound - o * s).div_ceil(d).min(k) };
        let start = first(p);
        start..first(n + p).max(start)
    }

    /// The input index along axis `i` of kernel position `k` for output index `o` (inside the
    /// [`Self::window`]).
    fn input_index(&self, i: usize, o: usize, k: usize) -> usize {
        o * self.stride[i] + k * self.dilation[i] - self.padding[i]
    }

    /// Planes per task: all of them on one thread for a small input.
    fn planes_a_task(&self) -> usize {
        if self.planes() * self.in_plane() < PARALLEL_FROM { self.planes().max(1) } else { MIN_TASK.div_ceil(self.in_plane().max(1)).max(1) }
    }
}

/// The larger of the two, or NaN when `b` is one (so that a NaN, once met, stays).
#[inline(always)]
fn max_nan(a: f32, b: f32) -> f32 {
    if b > a || b.is_nan() { b } else { a }
}

/// For each output column, the input columns its window reads: `(first, count)`, the columns
/// being `first + j·dilation`.
fn column_windows(g: &MaxPool2dGeometry) -> Vec<(usize, usize)> {
    let [_, ow] = g.out_hw();
    (0..ow)
        .map(|x| {
            let ks = g.window(1, x);
            if ks.is_empty() { (0, 0) } else { (g.input_index(1, x, ks.start), ks.len()) }
        })
        .collect()
}

avx512! {
/// Max pooling of one channel plane `x` (`h·w`) into `out` (`oh·ow`), `row` being `w` values
/// of scratch space.
fn pool_plane(g: &MaxPool2dGeometry, cols: &[(usize, usize)], x: &[f32], out: &mut [f32], row: &mut [f32]) {
    let w = g.in_size[1];
    let [_, ow] = g.out_hw();
    let dw = g.dilation[1];
    for (y, o) in out.chunks_exact_mut(ow).enumerate() {
        let ks = g.window(0, y);
        if ks.is_empty() {
            o.fill(f32::NEG_INFINITY);
            continue;
        }
        // The maximum down the window's rows, column by column.
        let first = g.input_index(0, y, ks.start);
        row.copy_from_slice(&x[first * w..(first + 1) * w]);
        for k in ks.start + 1..ks.end {
            let iy = g.input_index(0, y, k);
            for (r, &v) in row.iter_mut().zip(&x[iy * w..(iy + 1) * w]) {
                *r = max_nan(*r, v);
            }
        }
        // Then along each window of the row.
        for (o, &(c0, n)) in o.iter_mut().zip(cols) {
            let mut m = f32::NEG_INFINITY;
            for j in 0..n {
                m = max_nan(m, row[c0 + j * dw]);
            }
            *o = m;
        }
    }
}
}

/// The forward pass: `x` is `[N, C, H, W]`; returns `[N, C, oh, ow]`.
pub fn forward(g: &MaxPool2dGeometry, x: &[f32]) -> Vec<f32> {
    assert_eq!(x.len(), g.planes() * g.in_plane(), "max_pool2d input length");
    let (in_plane, out_plane) = (g.in_plane(), g.out_plane());
    let mut out = vec![0.0f32; g.planes() * out_plane];
    if out.is_empty() {
        return out;
    }
    let cols = column_windows(g);
    let per_task = g.planes_a_task();
    let task = |(t, out): (usize, &mut [f32])| {
        let mut row = vec![0.0f32; g.in_size[1]];
        for (i, o) in out.chunks_exact_mut(out_plane).enumerate() {
            let p = t * per_task + i;
            pool_plane(g, &cols, &x[p * in_plane..(p + 1) * in_plane], o, &mut row);
        }
    };
    if per_task >= g.planes() {
        task((0, &mut out));
    } else {
        out.par_chunks_mut(per_task * out_plane).enumerate().for_each(task);
    }
    out
}

/// Where in plane `x` the output at `(y, xo)` took its value from, as burn's flex kernel picks
/// it: the first maximum in row-major order over the window, or the last NaN; `None` for a
/// window that holds no input.
#[inline(always)]
fn argmax(g: &MaxPool2dGeometry, x: &[f32], y: usize, xo: usize) -> Option<usize> {
    let w = g.in_size[1];
    let mut best: Option<(usize, f32)> = None;
    for k in g.window(0, y) {
        let iy = g.input_index(0, y, k);
        for j in g.window(1, xo) {
            let idx = iy * w + g.input_index(1, xo, j);
            let v = x[idx];
            if best.is_none_or(|(_, m)| v > m || v.is_nan()) {
                best = Some((idx, v));
            }
        }
    }
    best.map(|(i, _)| i)
}

/// The input gradient: `x` is the forward pass's input `[N, C, H, W]`, `dy` the output's
/// gradient `[N, C, oh, ow]`; each output's gradient is added where its window's maximum was.
pub fn backward(g: &MaxPool2dGeometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
    assert_eq!(x.len(), g.planes() * g.in_plane(), "max_pool2d input length");
    assert_eq!(dy.len(), g.planes() * g.out_plane(), "max_pool2d output gradient length");
    let (in_plane, out_plane) = (g.in_plane(), g.out_plane());
    let [oh, ow] = g.out_hw();
    let mut dx = vec![0.0f32; x.len()];
    if dx.is_empty() || out_plane == 0 {
        return dx;
    }
    let per_task = g.planes_a_task();
    let task = |(t, dx): (usize, &mut [f32])| {
        for (i, dxp) in dx.chunks_exact_mut(in_plane).enumerate() {
            let p = t * per_task + i;
            let (xp, dyp) = (&x[p * in_plane..(p + 1) * in_plane], &dy[p * out_plane..(p + 1) * out_plane]);
            for y in 0..oh {
                for xo in 0..ow {
                    if let Some(idx) = argmax(g, xp, y, xo) {
                        dxp[idx] += dyp[y * ow + xo];
                    }
                }
            }
        }
    };
    if per_task >= g.planes() {
        task((0, &mut dx));
    } else {
        dx.par_chunks_mut(per_task * in_plane).enumerate().for_each(task);
    }
    dx
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geom(in_size: [usize; 2], kernel: [usize; 2], stride: [usize; 2], padding: [usize; 2], dilation: [usize; 2], ceil_mode: bool) -> MaxPool2dGeometry {
        MaxPool2dGeometry { batch: 2, channels: 3, in_size, kernel, stride, padding, dilation, ceil_mode }
    }

    /// The definition, one window element at a time.
    fn reference(g: &MaxPool2dGeometry, x: &[f32]) -> Vec<f32> {
        let [oh, ow] = g.out_hw();
        let mut out = Vec::new();
        for plane in x.chunks(g.in_plane()) {
            for y in 0..oh {
                for xo in 0..ow {
                    out.push(argmax(g, plane, y, xo).map_or(f32::NEG_INFINITY, |i| plane[i]));
                }
            }
        }
        out
    }

    #[test]
    fn windows_stay_inside_the_input() {
        // resnet's stem: 3×3, stride 2, padding 1 on 112 → 56.
        let g = geom([112, 112], [3, 3], [2, 2], [1, 1], [1, 1], false);
        assert_eq!(g.out_size(), Some([56, 56]));
        assert_eq!(g.window(0, 0), 1..3);
        assert_eq!(g.window(0, 1), 0..3);
        assert_eq!(g.window(0, 55), 0..3);
        // 5 → ceil((5 + 2 - 3) / 2) + 1 = 3 windows, the last starting inside the input.
        let c = geom([5, 5], [3, 3], [2, 2], [1, 1], [1, 1], true);
        assert_eq!(c.out_size(), Some([3, 3]));
        assert_eq!(c.window(0, 2), 0..2);
    }

    #[test]
    fn forward_matches_the_definition() {
        let shapes = [
            geom([9, 11], [3, 3], [2, 2], [1, 1], [1, 1], false),
            geom([8, 8], [2, 2], [2, 2], [0, 0], [1, 1], false),
            geom([7, 10], [3, 2], [1, 3], [1, 0], [2, 1], true),
            geom([2, 2], [3, 3], [1, 1], [1, 1], [1, 1], false),
        ];
        for g in shapes {
            let x: Vec<f32> = (0..g.planes() * g.in_plane()).map(|i| ((i * 7919 % 101) as f32 - 50.0) / 10.0).collect();
            assert_eq!(forward(&g, &x), reference(&g, &x), "{g:?}");
        }
    }

    #[test]
    fn a_nan_wins_and_ties_go_to_the_first() {
        let g = MaxPool2dGeometry { batch: 1, channels: 1, in_size: [2, 2], kernel: [2, 2], stride: [2, 2], padding: [0, 0], dilation: [1, 1], ceil_mode: false };
        assert!(forward(&g, &[1.0, f32::NAN, 3.0, 2.0])[0].is_nan());
        assert_eq!(backward(&g, &[3.0, 1.0, 3.0, 2.0], &[1.0]), vec![1.0, 0.0, 0.0, 0.0]);
        assert_eq!(backward(&g, &[f32::NAN, 1.0, f32::NAN, 2.0], &[1.0]), vec![0.0, 0.0, 1.0, 0.0]);
    }
}
