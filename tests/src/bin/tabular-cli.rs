//! The `kindling-tabular` command line, built inside the test package so that the end-to-end
//! tests can run it as a process (Cargo only hands tests the binaries of their own package).

fn main() -> std::process::ExitCode {
    kindling_tabular::cli::main()
}
