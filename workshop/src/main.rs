//! `cargo run -p workshop -- <command>`: the command line is in `lib.rs`.

fn main() -> std::process::ExitCode {
    workshop::main()
}
