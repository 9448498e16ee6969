//! The `indu` binary: parse the command line, dispatch to `commands`, print one line on error.
use clap::error::ErrorKind;
use clap::{CommandFactory, FromArgMatches};

mod cli;
mod commands;
mod values;

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
        let msg = one_line(&format!("{e:#}"));
        match commands::run_used() {
            // Name the run the error is about, unless the message already does.
            Some(run) if !msg.contains(&run.display().to_string()) => {
                eprintln!("error: {msg} (run {})", run.display())
            }
            _ => eprintln!("error: {msg}"),
        }
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

/// A rendered clap error as one line: the message with its detail lines (the missing
/// arguments, the possible values) and tips ("a similar subcommand exists: 'train'"), up to
/// the usage block, and a pointer to `--help`. (Numbers are worded by `values`.)
fn clap_line(rendered: &str) -> String {
    let mut parts: Vec<String> = Vec::new();
    for line in rendered.lines().map(str::trim) {
        if line.starts_with("Usage:") || line.starts_with("For more information") {
            break;
        }
        if line.is_empty() {
            continue;
        }
        match line.strip_prefix("tip: ") {
            Some(tip) => parts.push(format!("({tip})")),
            None => parts.push(line.to_string()),
        }
    }
    let text = if parts.is_empty() {
        "error: invalid command line".to_string()
    } else {
        parts.join(" ")
    };
    format!("{text} (see --help)")
}

/// Error chains can carry line breaks from foreign messages; stderr gets exactly one line.
fn one_line(s: &str) -> String {
    s.split(['\n', '\r'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::clap_line;

    #[test]
    fn clap_errors_keep_their_detail_and_tips_on_one_line() {
        let missing = "error: the following required arguments were not provided:\n  --task <TASK>\n\nUsage: indu data --task <TASK>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            clap_line(missing),
            "error: the following required arguments were not provided: --task <TASK> (see --help)"
        );
        let values = "error: invalid value 'xml' for '--format <FORMAT>'\n  [possible values: text, jsonl]\n\nFor more information, try '--help'.\n";
        let line = clap_line(values);
        assert!(
            line.contains("'xml'") && line.contains("[possible values: text, jsonl]"),
            "{line}"
        );
        let tip = "error: unrecognized subcommand 'trian'\n\n  tip: a similar subcommand exists: 'train'\n\nUsage: indu <COMMAND>\n\nFor more information, try '--help'.\n";
        let line = clap_line(tip);
        assert!(
            line.contains("'trian'") && line.contains("similar subcommand exists: 'train'"),
            "{line}"
        );
        for l in [missing, values, tip] {
            assert_eq!(clap_line(l).lines().count(), 1);
            assert!(!clap_line(l).contains("Usage:"));
        }
    }
}
