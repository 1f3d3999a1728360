//! Matmul and convolution throughput of every CPU backend compiled in.
//!
//! ```text
//! cargo run --release -p kindling-core --example backends                      # flex
//! cargo run --release -p kindling-core --features ndarray --example backends   # and ndarray
//! ```

use kindling_core::DeviceChoice;

// As the binaries: large tensor buffers are cheaper to reuse than to map afresh.
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    println!("| backend | matmul 1024² | GFLOP/s | conv 3→32 3×3, 32×3×64×64, fwd+bwd | GFLOP/s |\n|---|---|---|---|---|");
    for choice in [DeviceChoice::Cpu, DeviceChoice::Ndarray] {
        match choice.device() {
            Ok(d) => {
                let t = kindling_core::bench::measure(&d);
                let name = if choice == DeviceChoice::Cpu { "flex" } else { "ndarray" };
                println!("| {name} | {:.1} ms | {:.1} | {:.1} ms | {:.1} |", t.matmul_ms, t.matmul_gflops, t.conv_ms, t.conv_gflops);
            }
            Err(e) => println!("| {choice} | not compiled in: {e} | | | |"),
        }
    }
}
