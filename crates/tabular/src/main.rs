//! `kindling-tabular`: the command line of [`kindling_tabular::cli`].

// Tensor code allocates many small buffers: mimalloc is about a third faster than the
// system allocator on the tabular benchmark.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    kindling_tabular::cli::main()
}
