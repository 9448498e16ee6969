//! The `indu` binary: parse the command line, dispatch to `commands`, print one line on error.
use clap::Parser;

mod cli;
mod commands;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let cli = cli::Cli::parse();
    if let Err(e) = commands::run(cli.command) {
        // `{:#}` joins the context chain into one line: "reading x.toml: invalid TOML: ...".
        eprintln!("error: {e:#}");
        std::process::exit(2);
    }
}
