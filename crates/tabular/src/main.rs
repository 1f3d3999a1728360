//! `kindling-tabular`: the command line of [`kindling_tabular::cli`].

// mimalloc, keeping freed memory (see kindling_core::allocator).
kindling_core::mimalloc_allocator!();

fn main() -> std::process::ExitCode {
    keep_freed_memory();
    kindling_tabular::cli::main()
}
