//! One file per subcommand: parsed arguments -> options -> one library call -> `emit`.
use crate::cli::Command;
use anyhow::{bail, Context, Result};
use indu::config::{Preset, RunConfig};
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
mod import;
mod patch;
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
        Command::Import(a) => import::run(a),
        Command::Patch(a) => patch::run(a),
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
            let preset = t.parse::<Preset>()?;
            Ok(RunConfig::preset(preset, set).with_context(|| format!("preset {preset}"))?)
        }
        (None, None) => bail!("pass --task PRESET ({}) or --config FILE", Preset::list()),
    }
}

/// The sweep `dir` names (or, with no dir, the sweep runs/latest points at), and its runs
/// that `filter` (`--where KEY=VALUE`) keeps; None when it names no sweep.
fn sweep_runs(
    dir: Option<&std::path::Path>,
    filter: &[String],
) -> Result<Option<(PathBuf, Vec<indu::run_dir::RunDir>)>> {
    use indu::sweep::Sweep;
    let dir = match dir {
        Some(d) if Sweep::is_sweep(d) => d.to_path_buf(),
        Some(_) => return Ok(None),
        None => match indu::run_dir::latest_sweep(std::path::Path::new(indu::run_dir::RUNS)) {
            Some(d) => d,
            None => return Ok(None),
        },
    };
    let sweep = Sweep::open(&dir)?;
    let runs = sweep
        .runs_where(filter)?
        .into_iter()
        .map(|(_, r)| r)
        .collect();
    Ok(Some((dir, runs)))
}

/// The runs of a sweep that hold `file`, with a note of how many do not; an error when
/// none does.
fn runs_holding(
    sweep: &std::path::Path,
    runs: Vec<indu::run_dir::RunDir>,
    file: impl Fn(&indu::run_dir::RunDir) -> PathBuf,
    what: &str,
) -> Result<Vec<indu::run_dir::RunDir>> {
    let n = runs.len();
    let kept: Vec<_> = runs.into_iter().filter(|r| file(r).is_file()).collect();
    if kept.is_empty() {
        bail!(
            "no run of the sweep {} holds {what} yet (see `indu sweep status {}`)",
            sweep.display(),
            sweep.display()
        );
    }
    if kept.len() < n {
        eprintln!(
            "note: {} of the sweep's {n} runs hold no {what} yet; left out",
            n - kept.len()
        );
    }
    Ok(kept)
}

/// The runs of `--run DIR...` that hold a training log (none given: the newest run); a
/// sweep stands for its runs (those `--where` keeps). The sweep's directory comes back too
/// when it is the only one named, for the default place of a figure.
pub fn logged_runs(
    dirs: &[PathBuf],
    filter: &[String],
) -> Result<(Vec<indu::run_dir::RunDir>, Option<PathBuf>)> {
    use indu::run_dir::RunDir;
    let given: Vec<Option<&std::path::Path>> = if dirs.is_empty() {
        vec![None]
    } else {
        dirs.iter().map(|d| Some(d.as_path())).collect()
    };
    let (mut out, mut sweep) = (Vec::new(), None);
    for d in given {
        match sweep_runs(d, filter)? {
            Some((dir, runs)) => {
                out.extend(runs_holding(&dir, runs, |r| r.metrics(), "training log")?);
                sweep.get_or_insert(dir);
            }
            None => out.push(RunDir::find_logged(d)?),
        }
    }
    if !filter.is_empty() && sweep.is_none() {
        bail!("--where picks runs of a sweep; pass the sweep directory with --run");
    }
    Ok((out, if dirs.len() <= 1 { sweep } else { None }))
}

/// Run a command on the run `--run` names, or on every run of a sweep that holds a model
/// (`--where` filters): the reports one after another under a `== run` line, or with
/// `--json` one array of `{run, report}`.
pub fn each_run<R: indu::report::Report>(
    a: &crate::cli::RunArg,
    one: impl Fn(&indu::analysis::LoadedRun) -> Result<(R, Vec<PathBuf>)>,
) -> Result<()> {
    let Some((dir, runs)) = sweep_runs(a.run.as_deref(), &a.filter)? else {
        if !a.filter.is_empty() {
            bail!("--where picks runs of a sweep; pass the sweep directory with --run");
        }
        let lr = open_run(a)?;
        let (report, wrote) = one(&lr)?;
        return emit(&report, a.json, &wrote);
    };
    let runs = runs_holding(&dir, runs, |r| r.model(), "trained model")?;
    let labels = indu::run_dir::labels(&runs);
    let mut all = Vec::new();
    for (run, label) in runs.iter().zip(labels) {
        let lr =
            indu::analysis::LoadedRun::open_at(Some(&run.path), a.step, candle_core::Device::Cpu)
                .with_context(|| run.path.display().to_string())?;
        let (report, wrote) = one(&lr).with_context(|| run.path.display().to_string())?;
        if a.json {
            all.push(serde_json::json!({ "run": run.path, "report": report }));
        } else {
            println!("== {label}");
            emit(&report, false, &wrote)?;
        }
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&all)?);
    }
    Ok(())
}

/// `<sweep>/plots/<name>`, the folder made: where a figure of a whole sweep goes.
pub fn sweep_plot(sweep: &std::path::Path, name: &str) -> Result<PathBuf> {
    let dir = sweep.join("plots");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir.join(name))
}

/// The run the command opened (`open_run`), so that an error after that names it: with
/// `runs/latest` the user may not know which run a "--layer 5 is out of range" is about.
static RUN_USED: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();

/// The run this command opened, if it opened one.
pub fn run_used() -> Option<&'static std::path::Path> {
    RUN_USED.get().map(PathBuf::as_path)
}

/// Open the run named by `--run` (or the newest) at `--step` on the CPU; a snapshot is
/// named on stderr.
pub fn open_run(a: &crate::cli::RunArg) -> Result<indu::analysis::LoadedRun> {
    let lr =
        indu::analysis::LoadedRun::open_at(a.run.as_deref(), a.step, candle_core::Device::Cpu)?;
    let _ = RUN_USED.set(lr.run.path.clone());
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
