//! `indu train`: resolve the config and the run directory, train with a progress bar
//! (`indu::train::run` does the run's lifecycle), print a one-line summary. `--seeds` fans
//! out to parallel processes, `--bench` times steps instead.
use crate::cli::{DeviceArg, TrainArgs};
use anyhow::{bail, Result};
use indu::train::run::{self as lifecycle, RunError};
use indu::train::TrainOptions;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub fn run(a: TrainArgs) -> Result<()> {
    if a.peak {
        return super::bench::peak();
    }
    if let Some(n) = a.bench {
        if n == 0 {
            bail!("--bench 0: expected at least 1 timed step");
        }
        indu::experiments::at_most("--bench", n, 100_000, "timed steps")?;
    }
    if let Some(s) = a.seed.filter(|&s| s > super::MAX_SEED) {
        bail!(
            "--seed {s} is too large: expected at most {} (config.toml stores the seed as a TOML integer)",
            super::MAX_SEED
        );
    }
    if let Some(seeds) = &a.seeds {
        return super::seeds::run(&a, seeds);
    }
    let overrides = overrides(&a);
    let (cfg, run) = if a.resume {
        if a.task.is_some() || a.config.is_some() {
            bail!("--resume continues a run's own config; drop --task/--config (use --steps or --set to change it)");
        }
        lifecycle::resume_target(a.run.as_deref().or(a.out.as_deref()), &overrides)?
    } else {
        let cfg = super::load_config(a.task.as_deref(), a.config.as_deref(), &overrides)?;
        let run = lifecycle::fresh_target(&cfg, a.out.as_deref(), a.force)?;
        (cfg, run)
    };
    indu::device::set_threads(cfg.train.threads);
    let device = indu::device::open(match a.device {
        DeviceArg::Cpu => indu::device::DeviceKind::Cpu,
        DeviceArg::Cuda => indu::device::DeviceKind::Cuda,
    })?;
    if let Some(n) = a.bench {
        return super::bench::run(&cfg, &device, n);
    }
    let interrupt = Arc::new(AtomicBool::new(false));
    {
        let flag = interrupt.clone();
        // A second Ctrl-C while saving falls through to the default handler's behaviour.
        let _ = ctrlc::set_handler(move || {
            if flag.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
        });
    }
    let opts = TrainOptions {
        device,
        progress: !a.quiet && std::io::stderr().is_terminal(),
        mark_latest: !a.no_latest,
        resume: a.resume,
        force: a.force,
        config_changed: !overrides.is_empty(),
        data_file: a.data.clone(),
        interrupt,
    };
    let s = match lifecycle::run(&cfg, &run, &opts) {
        Ok(s) => s,
        Err(RunError::Lib(e @ indu::Error::Interrupted { .. })) => {
            eprintln!("{e}");
            std::process::exit(130);
        }
        Err(e) => return Err(e.into()),
    };
    let eval: Vec<String> = s
        .headline(cfg.task.task())
        .iter()
        .map(|(k, v)| format!("eval {k} {v:.4}"))
        .collect();
    let stopped = match (&s.stopped_at, &s.stop_when) {
        (Some(_), Some(c)) => format!(" (stopped: {c})"),
        _ => String::new(),
    };
    println!(
        "{}: {} steps{stopped} in {:.1}s ({:.1} ms/step), train loss {:.4}, {} -> {}",
        s.task,
        s.steps,
        s.wall_s,
        s.ms_per_step,
        s.final_train_loss,
        eval.join(", "),
        run.path.display()
    );
    if let Some(g) = &s.modular_addition {
        println!("  {}", g.describe());
    }
    if let Some(pc) = &s.phase_changes {
        for line in pc.describe() {
            println!("  {line}");
        }
    }
    Ok(())
}

/// `--set`, `--steps` and `--seed` as `key=value` overrides of the config.
fn overrides(a: &TrainArgs) -> Vec<String> {
    let mut set = a.set.clone();
    if let Some(s) = a.steps {
        set.push(format!("train.steps={s}"));
    }
    if let Some(s) = a.seed {
        set.push(format!("seed={s}"));
    }
    set
}
