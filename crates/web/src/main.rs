//! `kindling-web`: the command line of [`kindling_web::cli`].

// mimalloc, keeping freed memory (see kindling_core::allocator).
kindling_core::mimalloc_allocator!();

fn main() -> std::process::ExitCode {
    keep_freed_memory();
    kindling_web::cli::main()
}
