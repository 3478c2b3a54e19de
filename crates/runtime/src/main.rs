//! `berth-runtime`: runc's command line over the berth runtime library.

mod cli;

fn main() {
    std::process::exit(cli::main());
}
