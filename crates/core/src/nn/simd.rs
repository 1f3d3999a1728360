//! Wider vectors for kindling's own CPU loops. The crates are compiled for baseline x86-64
//! (SSE2), so the compiler vectorises plain loops four floats at a time; [`avx512!`] compiles a
//! function a second time for AVX-512 and picks that copy at run time when the CPU has it
//! (the matrix products get the same from the `gemm` crate).

/// Defines a function whose body is compiled twice, for baseline x86-64 and for AVX-512F, and
/// runs the AVX-512 copy when the CPU supports it. The body must not be generic; what it calls
/// should be `#[inline(always)]` to be compiled along with it.
macro_rules! avx512 {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$meta])*
        $vis fn $name($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            fn body($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f")]
                fn wide($($arg: $ty),*) $(-> $ret)? {
                    body($($arg),*)
                }
                if std::arch::is_x86_feature_detected!("avx512f") {
                    // SAFETY: the CPU has just been checked for AVX-512F.
                    return unsafe { wide($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}
