//! The `indu` binary: parse the command line, dispatch to `commands`, print one line on error.
use clap::error::ErrorKind;
use clap::{CommandFactory, FromArgMatches};

mod cli;
mod commands;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // Like other Unix tools, end quietly when stdout is a closed pipe (`indu data --out - | head`)
    // instead of panicking in println!.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = parse();
    if let Err(e) = commands::run(cli.command) {
        // `{:#}` joins the context chain into one line: "reading x.toml: invalid TOML: ...".
        eprintln!("error: {}", one_line(&format!("{e:#}")));
        std::process::exit(2);
    }
}

/// Parse the command line. Help and version print as clap prints them; every other clap
/// error becomes one line on stderr and exit code 2.
fn parse() -> cli::Cli {
    // Numeric options take "-5" as their value, so the error names the option and says what
    // it expects instead of calling `-5` an unknown flag.
    let cmd = cli::Cli::command().mut_subcommands(|sub| {
        sub.mut_args(|a| {
            if a.get_action().takes_values() {
                a.allow_negative_numbers(true)
            } else {
                a
            }
        })
    });
    let parsed = cmd
        .try_get_matches()
        .and_then(|m| cli::Cli::from_arg_matches(&m));
    match parsed {
        Ok(cli) => cli,
        Err(e) => match e.kind() {
            ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
            _ => {
                eprintln!("{}", clap_line(&e.render().to_string()));
                std::process::exit(2);
            }
        },
    }
}

/// The first line of a rendered clap error, with Rust's number-parsing wording replaced by
/// what the option expects, and a pointer to `--help`.
fn clap_line(rendered: &str) -> String {
    let first = rendered
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("error: invalid command line")
        .trim()
        .replace(
            "invalid digit found in string",
            "expected a whole number >= 0",
        )
        .replace(
            "number too large to fit in target type",
            "the number is too large (expected at most 18446744073709551615)",
        )
        .replace("invalid float literal", "expected a number");
    format!("{first} (see --help)")
}

/// Error chains can carry line breaks from foreign messages; stderr gets exactly one line.
fn one_line(s: &str) -> String {
    s.split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}
