//! `kindling-collab`: the command line of [`kindling_collab::cli`].

fn main() -> std::process::ExitCode {
    kindling_collab::cli::main()
}
