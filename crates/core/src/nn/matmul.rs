//! A matrix product on `f32` slices through the `gemm` crate (AVX-512 where the CPU has it),
//! with strided views so that transposes and row slices cost no copy. Shared by the CPU
//! convolution and the LSTM kernels.

/// A row-major matrix view: element `(r, c)` is at `ptr + r·rs + c·cs`.
#[derive(Clone, Copy)]
pub(crate) struct View {
    ptr: *const f32,
    rs: isize,
    cs: isize,
}

impl View {
    pub(crate) fn rows(s: &[f32], row_len: usize) -> Self {
        Self { ptr: s.as_ptr(), rs: row_len as isize, cs: 1 }
    }
    pub(crate) fn transposed(self) -> Self {
        Self { ptr: self.ptr, rs: self.cs, cs: self.rs }
    }
}

/// `dst[m, n] (+)= lhs[m, k] · rhs[k, n]`, `dst` row-major with rows of `ld`.
pub(crate) fn matmul(dst: &mut [f32], ld: usize, accumulate: bool, m: usize, n: usize, k: usize, lhs: View, rhs: View, par: gemm::Parallelism) {
    assert!(m == 0 || n == 0 || (m - 1) * ld + n <= dst.len(), "matmul destination too small");
    // SAFETY: the views were built from slices holding m×k and k×n elements at the given
    // strides (checked by the callers' shapes), and the assert above bounds `dst`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            ld as isize,
            accumulate,
            lhs.ptr,
            lhs.cs,
            lhs.rs,
            rhs.ptr,
            rhs.cs,
            rhs.rs,
            if accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            par,
        );
    }
}

