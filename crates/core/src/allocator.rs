//! The allocator of kindling's binaries: mimalloc, told to keep the memory a program frees.
//!
//! Tensor code allocates many small buffers, where mimalloc is faster than the system
//! allocator; training also frees and re-allocates the same large tensors (activations,
//! gradients, optimizer states) at every step. By default mimalloc returns freed memory to the
//! operating system after 10 ms, and the kernel then zeroes every page again when it is reused:
//! in a profile of fine-tuning MiniLM, clearing pages took 45% of the time, and keeping the
//! memory (`purge_delay = -1`) made training 1.5 times faster with the same results.

/// Makes mimalloc the global allocator of the crate it is used in (which must depend on the
/// `mimalloc` crate) and defines `keep_freed_memory()`, to call first thing in `main`.
///
/// ```ignore
/// kindling_core::mimalloc_allocator!();
/// fn main() {
///     keep_freed_memory();
/// }
/// ```
#[macro_export]
macro_rules! mimalloc_allocator {
    () => {
        #[global_allocator]
        static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

        /// Tells mimalloc never to return freed memory to the operating system (see
        /// `kindling_core::allocator`).
        fn keep_freed_memory() {
            unsafe extern "C" {
                fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
            }
            // `mi_option_purge_delay` (15 in mimalloc 2 and 3): -1 never purges.
            // SAFETY: a plain setter of mimalloc, linked in by the `mimalloc` crate.
            unsafe { mi_option_set(15, -1) }
        }
    };
}
