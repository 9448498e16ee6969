//! `indu train --seeds 0..8`: independent seeds as a sweep over `seed` on the local backend
//! (parallel child processes, one thread each; the sweep prints the throughput in runs per
//! minute), then a table of their final metrics.
use crate::cli::TrainArgs;
use anyhow::{bail, Result};
use indu::sweep::slurm::SlurmOptions;
use indu::sweep::spec::{Axis, Base, SweepSpec};
use indu::sweep::Sweep;
use indu::train::seeds::results;
use std::path::{Path, PathBuf};

/// Parse `0..8` (end exclusive), `0..=7`, or `1,2,5`.
pub fn parse_seeds(s: &str) -> Result<Vec<u64>> {
    let bad = || anyhow::anyhow!("--seeds {s:?}: expected a range like 0..8 or a list like 1,2,5");
    let range = |a: &str, b: &str, inclusive: bool| -> Result<Vec<u64>> {
        let (a, b): (u64, u64) = (
            a.trim().parse().map_err(|_| bad())?,
            b.trim().parse().map_err(|_| bad())?,
        );
        let end = if inclusive { b.saturating_add(1) } else { b };
        // Counted before anything is collected: `0..18446744073709551615` is refused below.
        if end.saturating_sub(a) > MAX_SEEDS as u64 {
            return Ok(vec![0; MAX_SEEDS + 1]);
        }
        Ok((a..end).collect())
    };
    let seeds: Vec<u64> = if let Some((a, b)) = s.split_once("..=") {
        range(a, b, true)?
    } else if let Some((a, b)) = s.split_once("..") {
        range(a, b, false)?
    } else {
        s.split(',')
            .map(|x| x.trim().parse().map_err(|_| bad()))
            .collect::<Result<_>>()?
    };
    if seeds.is_empty() || seeds.len() > MAX_SEEDS {
        bail!("--seeds {s:?}: expected between 1 and {MAX_SEEDS} seeds");
    }
    if let Some(big) = seeds.iter().find(|&&x| x > super::MAX_SEED) {
        bail!(
            "--seeds {s:?}: seed {big} is too large: expected at most {} (config.toml stores the seed as a TOML integer)",
            super::MAX_SEED
        );
    }
    Ok(seeds)
}

/// Most seeds one sweep runs.
const MAX_SEEDS: usize = 10_000;

/// Train every seed as a point of a sweep over `seed` (the local sweep backend: one process
/// per run, `--jobs` at a time), so the directory is a run set like any sweep's; then print
/// each seed's final numbers.
pub fn run(a: &TrainArgs, seeds: &str) -> Result<()> {
    let seeds = parse_seeds(seeds)?;
    if let Some(j) = a.jobs.filter(|&j| j == 0 || j > 1024) {
        bail!("--jobs {j}: expected 1..=1024 parallel processes");
    }
    let mut extra = a.set.clone();
    if let Some(n) = a.steps {
        extra.push(format!("train.steps={n}"));
    }
    let base = match (&a.task, &a.config) {
        (_, Some(c)) => Base::file(c, extra)?,
        (Some(t), None) => Base::preset(t, extra)?,
        (None, None) => bail!("pass --task or --config"),
    };
    let base = match &a.data {
        Some(d) => base.with_data(d)?,
        None => base,
    };
    let axis = Axis {
        key: "seed".into(),
        values: seeds
            .iter()
            .map(|&s| toml::Value::Integer(s as i64))
            .collect(),
    };
    let spec = SweepSpec::from_parts(base, vec![axis], None, SlurmOptions::default())?;
    let task = spec.base.config(&[])?.task.task();
    let dir = a.out.clone().unwrap_or_else(|| {
        indu::run_dir::fresh_name(Path::new(indu::run_dir::RUNS), &format!("{task}-sweep"))
    });
    let sweep = Sweep::create(&dir, &spec, a.force)?;
    indu::run_dir::RunDir::new(&sweep.dir).mark_latest();
    let outcome = super::sweep::run_local(&sweep, a.jobs, a.quiet);
    let runs: Vec<(u64, PathBuf)> = sweep
        .file
        .points
        .iter()
        .zip(&seeds)
        .map(|(p, &seed)| (seed, sweep.run(p).path))
        .collect();
    println!("| seed | final train loss | eval loss | eval acc |");
    println!("|---|---|---|---|");
    let f = |x: Option<f64>| x.map(|v| format!("{v:.4}")).unwrap_or_else(|| "-".into());
    for r in results(&runs) {
        println!(
            "| {} | {} | {} | {} |",
            r.seed,
            f(r.final_train_loss),
            f(r.eval_loss),
            f(r.eval_acc)
        );
    }
    println!(
        "a sweep over seed: `indu sweep report {0}` for the table and figures, `indu plot-loss --run {0}` for the curves",
        sweep.dir.display()
    );
    outcome
}
