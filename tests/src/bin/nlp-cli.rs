//! The `kindling-nlp` command line, built inside the test package so that the end-to-end tests
//! can run it as a process.

fn main() -> std::process::ExitCode {
    kindling_nlp::cli::main()
}
