//! Empty: it exists so that Cargo honours `[build-dependencies]`, which pin the features of
//! host-side crates (build scripts' and proc-macros' dependencies).

fn main() {}
