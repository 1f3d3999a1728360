//! The `kindling-tabular` command line, built inside the test package so that the end-to-end
//! tests can run it as a process (Cargo only hands tests the binaries of their own package).

// mimalloc, keeping freed memory (see kindling_core::allocator).
kindling_core::mimalloc_allocator!();

fn main() -> std::process::ExitCode {
    keep_freed_memory();
    kindling_tabular::cli::main()
}
