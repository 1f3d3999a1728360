//! The `kindling-collab` command line, built inside the test package so that the end-to-end
//! tests can run it as a process.

// Tensor code allocates many small buffers: mimalloc is about a third faster than the
// system allocator on the tabular benchmark.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    kindling_collab::cli::main()
}
