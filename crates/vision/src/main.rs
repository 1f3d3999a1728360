//! `kindling-vision`: the command line of [`kindling_vision::cli`].

// mimalloc, keeping freed memory (see kindling_core::allocator).
kindling_core::mimalloc_allocator!();

fn main() -> std::process::ExitCode {
    keep_freed_memory();
    kindling_vision::cli::main()
}
