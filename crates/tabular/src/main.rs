//! `kindling-tabular`: the command line of [`kindling_tabular::cli`].

fn main() -> std::process::ExitCode {
    kindling_tabular::cli::main()
}
