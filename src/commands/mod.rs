//! One file per subcommand; each turns parsed arguments into library calls and prints.
use crate::cli::Command;
use anyhow::{bail, Context, Result};
use indu::config::RunConfig;
use indu::tasks::Task;

mod ablate;
mod attribute;
mod bench;
mod cache;
mod circuits;
mod data;
mod detect_heads;
mod eval;
mod input;
mod plot_attn;
mod plot_loss;
mod sample;
mod sweep;
mod train;

/// Run one subcommand.
pub fn run(cmd: Command) -> Result<()> {
    match cmd {
        Command::Data(a) => data::run(a),
        Command::Train(a) => train::run(a),
        Command::DetectHeads(a) => detect_heads::run(a),
        Command::PlotAttn(a) => plot_attn::run(a),
        Command::PlotLoss(a) => plot_loss::run(a),
        Command::Eval(a) => eval::run(a),
        Command::Sample(a) => sample::run(a),
        Command::Cache(a) => cache::run(a),
        Command::Circuits(a) => circuits::run(a),
        Command::Ablate(a) => ablate::run(a),
        Command::Attribute(a) => attribute::run(a),
    }
}

/// The largest run seed: `config.toml` stores it as a TOML integer (64-bit signed).
pub const MAX_SEED: u64 = i64::MAX as u64;

/// Refuse a command-line count above `max` (a memory or sanity limit), naming the option.
pub fn at_most(option: &str, value: usize, max: usize, what: &str) -> Result<()> {
    if value > max {
        bail!("{option} {value} is too large: expected at most {max} {what}");
    }
    Ok(())
}

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
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            RunConfig::from_toml(&text, set).with_context(|| format!("config {}", path.display()))
        }
        (Some(t), None) => {
            let task = parse_task(t)?;
            Ok(RunConfig::preset(task, set).with_context(|| format!("preset {task}"))?)
        }
        (None, None) => bail!("pass --task TASK (induction, permutations, addition, skip_trigrams, repeated) or --config FILE"),
    }
}

/// The probe `[BOS] + r*k` of `--probe-len T` / `--repeats k` on a model of context `n_ctx`:
/// an explicit T must fit (refused otherwise, naming the largest that does); the default
/// T = 50 is shortened to fit, with a note for stderr. At least 2 copies: every probe
/// figure compares copy 0 with the copies after it.
pub fn probe_shape(
    n_ctx: usize,
    probe_len: Option<usize>,
    repeats: usize,
) -> Result<(indu::detect::Probe, Option<String>)> {
    check_repeats(repeats)?;
    let t = match probe_len {
        None => indu::analysis::DEFAULT_PROBE_LEN,
        Some(t) => {
            let need = 1u128 + t as u128 * repeats as u128;
            // (When not even T = 1 fits, `fit_probe` names --repeats as the culprit.)
            if need > n_ctx as u128 && n_ctx.saturating_sub(1) / repeats >= 1 {
                bail!(
                    "--probe-len {t} with --repeats {repeats} needs 1 + {t}*{repeats} = {need} positions but the model's n_ctx is {n_ctx}; use --probe-len {} or less",
                    n_ctx.saturating_sub(1) / repeats
                );
            }
            t
        }
    };
    Ok(indu::analysis::fit_probe(n_ctx, t, repeats)?)
}

/// Refuse a probe of fewer than 2 copies (every probe figure, induction scores included,
/// reads the copies after copy 0).
pub fn check_repeats(repeats: usize) -> Result<()> {
    if repeats < 2 {
        bail!("--repeats {repeats}: the probe needs at least 2 copies of r (its scores compare copy 0 with the copies after it); expected --repeats >= 2");
    }
    Ok(())
}

/// Open the run named by `--run` (or the newest) on the CPU.
pub fn open_run(a: &crate::cli::RunArg) -> Result<indu::analysis::LoadedRun> {
    Ok(indu::analysis::LoadedRun::open(
        a.run.as_deref(),
        candle_core::Device::Cpu,
    )?)
}
