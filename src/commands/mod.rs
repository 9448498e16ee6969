//! One file per subcommand: parsed arguments -> options -> one library call -> `emit`.
use crate::cli::Command;
use anyhow::{bail, Context, Result};
use indu::config::RunConfig;
use indu::tasks::Task;
use std::path::PathBuf;

mod ablate;
mod attribute;
mod bench;
mod cache;
mod circuits;
mod data;
mod detect_heads;
mod eval;
mod plot_attn;
mod plot_dynamics;
mod plot_loss;
mod sample;
mod seeds;
mod sweep;
mod train;
mod view;

/// Run one subcommand.
pub fn run(cmd: Command) -> Result<()> {
    match cmd {
        Command::Data(a) => data::run(a),
        Command::Train(a) => train::run(a),
        Command::DetectHeads(a) => detect_heads::run(a),
        Command::PlotAttn(a) => plot_attn::run(a),
        Command::PlotLoss(a) => plot_loss::run(a),
        Command::PlotDynamics(a) => plot_dynamics::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Sample(a) => sample::run(a),
        Command::Cache(a) => cache::run(a),
        Command::Circuits(a) => circuits::run(a),
        Command::Ablate(a) => ablate::run(a),
        Command::Attribute(a) => attribute::run(a),
        Command::View(a) => view::run(a),
        Command::Sweep(a) => sweep::run(a),
    }
}

/// The largest run seed: `config.toml` stores it as a TOML integer (64-bit signed).
pub const MAX_SEED: u64 = i64::MAX as u64;

/// Parse a task name (error lists the valid ones).
pub fn parse_task(s: &str) -> Result<Task> {
    Ok(s.parse::<Task>()?)
}

/// The preset of `task` with `--set` overrides, or a config file with overrides.
pub fn load_config(
    task: Option<&str>,
    file: Option<&std::path::Path>,
    set: &[String],
) -> Result<RunConfig> {
    match (task, file) {
        (_, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            RunConfig::from_toml(&text, set).with_context(|| format!("config {}", path.display()))
        }
        (Some(t), None) => {
            let task = parse_task(t)?;
            Ok(RunConfig::preset(task, set).with_context(|| format!("preset {task}"))?)
        }
        (None, None) => bail!("pass --task TASK ({}) or --config FILE", Task::list()),
    }
}

/// The runs of `--run DIR...` that hold a training log (none given: the newest run).
pub fn logged_runs(dirs: &[PathBuf]) -> Result<Vec<indu::run_dir::RunDir>> {
    use indu::run_dir::RunDir;
    if dirs.is_empty() {
        return Ok(vec![RunDir::find_logged(None)?]);
    }
    Ok(dirs
        .iter()
        .map(|r| RunDir::find_logged(Some(r)))
        .collect::<indu::Result<_>>()?)
}

/// Open the run named by `--run` (or the newest) at `--step` on the CPU; a snapshot is
/// named on stderr.
pub fn open_run(a: &crate::cli::RunArg) -> Result<indu::analysis::LoadedRun> {
    let lr =
        indu::analysis::LoadedRun::open_at(a.run.as_deref(), a.step, candle_core::Device::Cpu)?;
    if let Some(s) = &lr.snapshot {
        eprintln!("{}", s.note());
    }
    Ok(lr)
}

/// Print a report: its note on stderr, then `--json` (the report as its file holds it) or
/// the human summary and one "wrote PATH" line per file.
pub fn emit<R: indu::report::Report>(report: &R, json: bool, wrote: &[PathBuf]) -> Result<()> {
    if let Some(n) = report.note() {
        eprintln!("{n}");
    }
    if json {
        println!("{}", serde_json::to_string_pretty(report)?);
        return Ok(());
    }
    for line in report.human() {
        println!("{line}");
    }
    for f in wrote {
        println!("wrote {}", f.display());
    }
    Ok(())
}
