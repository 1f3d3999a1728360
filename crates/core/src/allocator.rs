//! The allocator of kindling's binaries: mimalloc, told to keep the memory a program frees.
//!
//! Tensor code allocates many small buffers, where mimalloc is faster than the system
//! allocator; training also frees and re-allocates the same large tensors (activations,
//! gradients, optimizer states) at every step. By default mimalloc returns freed memory to the
//! operating system after 10 ms, and the kernel then zeroes every page again when it is reused:
//! in a profile of fine-tuning MiniLM, clearing pages took 45% of the time, and keeping the
//! memory (`purge_delay = -1`) made training 1.5 times faster with the same results.
//!
//! Blocks of more than mimalloc's segment size (a U-Net's 64×64 activations at batch 32 are
//! 50 MB) are mapped from the operating system one by one and unmapped when freed, whatever the
//! purge delay, unless they come from an arena: `keep_freed_memory` therefore also reserves
//! address space for one (8 GiB, committed only as it is used). In a profile of U-Net training,
//! that halved the kernel's time spent clearing pages.

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

        /// Tells mimalloc never to return freed memory to the operating system, and reserves
        /// an arena for the large blocks (see `kindling_core::allocator`).
        fn keep_freed_memory() {
            unsafe extern "C" {
                fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
                fn mi_reserve_os_memory(size: usize, commit: bool, allow_large: bool) -> std::ffi::c_int;
            }
            // `mi_option_purge_delay` (15 in mimalloc 2 and 3): -1 never purges.
            // SAFETY: a plain setter of mimalloc, linked in by the `mimalloc` crate.
            unsafe { mi_option_set(15, -1) }
            // Address space only: pages are committed as they are first used. A user's own
            // `MIMALLOC_RESERVE_OS_MEMORY` has already reserved one at start-up.
            if std::env::var_os("MIMALLOC_RESERVE_OS_MEMORY").is_none() {
                // SAFETY: mimalloc's documented call; a failure (no address space) only
                // leaves mimalloc as it was, so its status is not needed.
                unsafe { mi_reserve_os_memory(8 << 30, false, true) };
            }
        }
    };
}
