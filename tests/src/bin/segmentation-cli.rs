//! The `kindling-segmentation` command line, built inside the test package so that the
//! end-to-end tests can run it as a process.

// mimalloc, keeping freed memory (see kindling_core::allocator).
kindling_core::mimalloc_allocator!();

fn main() -> std::process::ExitCode {
    keep_freed_memory();
    kindling_segmentation::cli::main()
}
