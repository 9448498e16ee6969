//! `indu sweep`: write a sweep (a file or `--grid`) into its directory and run its points
//! locally (`local`) or as one Slurm array job; `status`, `resubmit`, `report` and the
//! hidden `run-point` that each point's process is.
use crate::cli::{
    BackendArg, RunPointArgs, SweepAction, SweepArgs, SweepDirArgs, SweepResubmitArgs,
};
use anyhow::{bail, Context, Result};
use indu::sweep::result::State;
use indu::sweep::runner::{self, Placement};
use indu::sweep::spec::{Base, SweepSpec};
use indu::sweep::{slurm, status, Sweep};
use std::path::{Path, PathBuf};

mod local;
mod report;

pub fn run(a: SweepArgs) -> Result<()> {
    match a.action {
        Some(SweepAction::Status(d)) => show_status(&d),
        Some(SweepAction::Resubmit(r)) => resubmit(&r),
        Some(SweepAction::Report(d)) => report(&d),
        Some(SweepAction::RunPoint(p)) => run_point(&p),
        None => start(&a),
    }
}

/// Run `sweep`'s points that are not done on this machine, `jobs` at a time (default: the
/// cores); `indu train --seeds` runs its seeds this way too.
pub fn run_local(sweep: &Sweep, jobs: Option<usize>, quiet: bool) -> Result<()> {
    local::run(sweep, jobs, quiet)
}

/// The indu executable the points run.
fn exe() -> Result<PathBuf> {
    std::env::current_exe().context("finding the indu executable")
}

/// Start a sweep (or continue one with --resume) on its backend.
fn start(a: &SweepArgs) -> Result<()> {
    if let Some(j) = a.jobs.filter(|&j| j == 0 || j > 1024) {
        bail!("--jobs {j}: expected 1..=1024 parallel processes");
    }
    let sweep = if a.resume {
        if a.task.is_some()
            || a.config.is_some()
            || !a.grid.is_empty()
            || !a.set.is_empty()
            || a.data.is_some()
        {
            bail!("--resume continues the sweep's own points; drop --task, --config, --grid, --set and --data");
        }
        let dir = a.out.clone().or_else(|| a.file.clone());
        let dir = sweep_dir(dir.as_deref())?;
        Sweep::open(&dir)?
    } else {
        let spec = spec(a)?;
        let dir = match &a.out {
            Some(d) => d.clone(),
            None => {
                let task = spec.base.config(&[])?.task.task();
                indu::run_dir::fresh_name(Path::new(indu::run_dir::RUNS), &format!("{task}-sweep"))
            }
        };
        let sweep = Sweep::create(&dir, &spec, a.force)?;
        eprintln!("wrote {}", dir.join(indu::sweep::SWEEP_FILE).display());
        sweep
    };
    indu::run_dir::RunDir::new(&sweep.dir).mark_latest();
    match a.backend {
        BackendArg::Local => local::run(&sweep, a.jobs, a.quiet),
        BackendArg::Slurm => {
            let todo: Vec<usize> = if a.resume {
                rerun_points(&sweep)
            } else {
                (0..sweep.file.points.len()).collect()
            };
            if todo.is_empty() {
                println!(
                    "every point of {} is done, pending or running",
                    sweep.dir.display()
                );
                return Ok(());
            }
            submit(&sweep, &todo, a.dry_run)
        }
    }
}

/// The sweep spec from a file or from --task/--config and --grid, with --set and --steps.
fn spec(a: &SweepArgs) -> Result<SweepSpec> {
    let mut extra = a.set.clone();
    if let Some(n) = a.steps {
        extra.push(format!("train.steps={n}"));
    }
    let mut spec = match &a.file {
        Some(f) => {
            if a.task.is_some() || a.config.is_some() || !a.grid.is_empty() {
                bail!("a sweep file gives the base and the axes; drop --task, --config and --grid");
            }
            let text =
                std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display()))?;
            let dir = f.parent().unwrap_or(Path::new("."));
            let mut spec =
                SweepSpec::from_toml(&text, dir).with_context(|| f.display().to_string())?;
            if !extra.is_empty() || a.sample.is_some() {
                spec.base.set.extend(extra);
                spec = SweepSpec::from_parts(
                    spec.base,
                    spec.axes,
                    a.sample.map(|n| (n, a.sample_seed)).or(spec.sample),
                    spec.slurm,
                )?;
            }
            spec
        }
        None => {
            let base = match (&a.task, &a.config) {
                (_, Some(c)) => Base::file(c, extra)?,
                (Some(t), None) => Base::preset(t, extra)?,
                (None, None) => bail!(
                    "pass a sweep file, or --task TASK ({}) or --config FILE with --grid KEY=VALUES",
                    indu::tasks::Task::list()
                ),
            };
            SweepSpec::from_grid(base, &a.grid, a.sample.map(|n| (n, a.sample_seed)))?
        }
    };
    if a.sample == Some(0) {
        bail!("--sample 0: expected at least 1 point");
    }
    if let Some(d) = &a.data {
        spec.base = spec.base.with_data(d)?;
    }
    spec.slurm.extra.retain(|e| !e.is_empty());
    Ok(spec)
}

/// `dir`, or runs/latest when it is a sweep.
fn sweep_dir(dir: Option<&Path>) -> Result<PathBuf> {
    if let Some(d) = dir {
        return Ok(d.to_path_buf());
    }
    match indu::run_dir::latest_sweep(Path::new(indu::run_dir::RUNS)) {
        Some(d) => Ok(d),
        None => bail!("no sweep found (runs/latest is not one): pass the sweep directory"),
    }
}

/// The points a resubmission runs: failed, interrupted, missing.
fn rerun_points(sweep: &Sweep) -> Vec<usize> {
    let st = status::status(sweep, &slurm::queue(), &slurm::task_end);
    st.points
        .iter()
        .filter(|p| p.state.needs_rerun())
        .map(|p| p.index)
        .collect()
}

/// Submit `points` as one array job and say so.
fn submit(sweep: &Sweep, points: &[usize], dry_run: bool) -> Result<()> {
    let sub = sweep.submit(points, &exe()?, dry_run)?;
    let o = &sweep.file.slurm;
    let at_once = o
        .max_parallel
        .map(|m| format!(", at most {m} at once"))
        .unwrap_or_default();
    match &sub.job {
        Some(job) => {
            println!(
                "submitted array job {job}: {}{at_once} ({})",
                plural(points.len(), "point"),
                sub.script.display()
            );
            println!("follow it with: indu sweep status {}", sweep.dir.display());
        }
        None => println!(
            "wrote {} ({}{at_once}; not submitted: submit it with sbatch)",
            sub.script.display(),
            plural(points.len(), "point")
        ),
    }
    Ok(())
}

fn show_status(d: &SweepDirArgs) -> Result<()> {
    let sweep = Sweep::open(&sweep_dir(d.dir.as_deref())?)?;
    let st = status::status(&sweep, &slurm::queue(), &slurm::task_end);
    super::emit(&st, d.json, &[])
}

fn resubmit(r: &SweepResubmitArgs) -> Result<()> {
    let sweep = Sweep::open(&sweep_dir(r.dir.as_deref())?)?;
    let todo = rerun_points(&sweep);
    if todo.is_empty() {
        println!(
            "nothing to resubmit: every point of {} is done, pending or running",
            sweep.dir.display()
        );
        return Ok(());
    }
    println!(
        "resubmitting {} point(s): {}",
        todo.len(),
        names(&sweep, &todo)
    );
    submit(&sweep, &todo, r.dry_run)
}

fn report(d: &SweepDirArgs) -> Result<()> {
    report::run(d)
}

/// Train one point (what a local child or a Slurm array task runs); exits with the training
/// process's exit code.
fn run_point(p: &RunPointArgs) -> Result<()> {
    let sweep = Sweep::open(&p.dir)?;
    sweep.point(p.index)?;
    // Ctrl-C (or the local backend's SIGINT to the process group) reaches the training
    // process too, which saves a checkpoint; this process stays to record that.
    let _ = ctrlc::set_handler(|| {});
    let at = match (
        std::env::var("SLURM_ARRAY_JOB_ID"),
        std::env::var("SLURM_ARRAY_TASK_ID"),
    ) {
        (Ok(job), Ok(task)) => {
            let log = task.parse().ok().map(|t| sweep.slurm_log(&job, t));
            Placement {
                job: Some(format!("{job}_{task}")),
                log,
            }
        }
        _ => Placement {
            job: None,
            log: Some(local::log_path(&sweep, p.index)),
        },
    };
    let rec = runner::run_point(&sweep, p.index, &exe()?, at)?;
    match rec.state {
        State::Done => Ok(()),
        _ => std::process::exit(rec.exit_code.unwrap_or(1).clamp(1, 255)),
    }
}

/// Point names of `indices`, comma-separated (the first 10).
fn names(sweep: &Sweep, indices: &[usize]) -> String {
    let mut v: Vec<&str> = indices
        .iter()
        .take(10)
        .filter_map(|&i| sweep.file.points.get(i).map(|p| p.name.as_str()))
        .collect();
    if indices.len() > 10 {
        v.push("...");
    }
    v.join(", ")
}

/// `1 point`, `3 points`.
fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}
