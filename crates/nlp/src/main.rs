//! `kindling-nlp`: the command line of [`kindling_nlp::cli`].

// Tensor code allocates many small buffers: mimalloc is faster than the system allocator.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    kindling_nlp::cli::main()
}
