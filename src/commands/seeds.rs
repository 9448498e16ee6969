//! `indu train --seeds 0..8`: independent seeds as parallel child processes (one thread
//! each), then a table of their final metrics and the throughput in runs per minute.
use crate::cli::TrainArgs;
use anyhow::{bail, Context, Result};
use indu::train::seeds::{results, runs_per_minute, seed_dir};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

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

pub fn run(a: &TrainArgs, seeds: &str) -> Result<()> {
    let seeds = parse_seeds(seeds)?;
    if let Some(j) = a.jobs.filter(|&j| j == 0 || j > 1024) {
        bail!("--jobs {j}: expected 1..=1024 parallel processes");
    }
    let cfg = super::load_config(a.task.as_deref(), a.config.as_deref(), &a.set)?;
    let task = cfg.task.task();
    let base = a.out.clone().unwrap_or_else(|| {
        indu::run_dir::fresh_name(
            std::path::Path::new(indu::run_dir::RUNS),
            &format!("{task}-sweep"),
        )
    });
    std::fs::create_dir_all(&base).with_context(|| format!("creating {}", base.display()))?;
    let jobs = a
        .jobs
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
        .max(1);
    let exe = std::env::current_exe().context("finding the indu executable")?;
    let t0 = Instant::now();
    let mut pending: Vec<u64> = seeds.iter().rev().copied().collect();
    let mut running: Vec<(u64, Child)> = Vec::new();
    let mut failed = Vec::new();
    eprintln!(
        "training {} seeds of {task}, {jobs} at a time, into {}",
        seeds.len(),
        base.display()
    );
    while !pending.is_empty() || !running.is_empty() {
        while running.len() < jobs {
            let Some(seed) = pending.pop() else { break };
            let mut cmd = Command::new(&exe);
            cmd.arg("train")
                .arg("--quiet")
                .arg("--seed")
                .arg(seed.to_string());
            match (&a.task, &a.config) {
                (_, Some(c)) => cmd.arg("--config").arg(c),
                (Some(t), None) => cmd.arg("--task").arg(t),
                (None, None) => bail!("pass --task or --config"),
            };
            for s in &a.set {
                cmd.arg("--set").arg(s);
            }
            if let Some(n) = a.steps {
                cmd.arg("--steps").arg(n.to_string());
            }
            if let Some(d) = &a.data {
                cmd.arg("--data").arg(d);
            }
            if a.force {
                cmd.arg("--force");
            }
            cmd.arg("--out").arg(seed_dir(&base, seed));
            cmd.stdout(Stdio::null());
            running.push((seed, cmd.spawn().context("starting a training process")?));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        let mut still = Vec::new();
        for (seed, mut child) in running {
            match child.try_wait()? {
                Some(status) if !status.success() => failed.push(seed),
                Some(_) => {}
                None => still.push((seed, child)),
            }
        }
        running = still;
    }
    let secs = t0.elapsed().as_secs_f64();
    println!("| seed | final train loss | eval loss | eval acc |");
    println!("|---|---|---|---|");
    let f = |x: Option<f64>| x.map(|v| format!("{v:.4}")).unwrap_or_else(|| "-".into());
    for r in results(&base, &seeds) {
        println!(
            "| {} | {} | {} | {} |",
            r.seed,
            f(r.final_train_loss),
            f(r.eval_loss),
            f(r.eval_acc)
        );
    }
    println!(
        "{} runs in {secs:.1}s with {jobs} parallel processes: {:.2} runs/minute -> {}",
        seeds.len(),
        runs_per_minute(seeds.len(), secs),
        base.display()
    );
    if !failed.is_empty() {
        bail!(
            "seeds {failed:?} failed (see their run directories under {})",
            base.display()
        );
    }
    Ok(())
}
