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
        let (cfg, run) =
            lifecycle::resume_target(a.run.as_deref().or(a.out.as_deref()), &overrides)?;
        same_config(&a, &cfg, &run, &overrides)?;
        if let Some(done) = indu::train::checkpoint::saved_step(&run) {
            // (A checkpoint beyond train.steps is refused by the run itself, naming both.)
            if done == cfg.train.steps {
                bail!(
                    "{} has trained all its {} steps (checkpoint at step {done}): nothing to resume; give more with --steps N",
                    run.path.display(),
                    cfg.train.steps
                );
            }
        }
        (cfg, run)
    } else {
        let cfg = super::load_config(a.task.as_deref(), a.config.as_deref(), &overrides)?;
        if cfg.train.steps == 0 && a.bench.is_none() {
            bail!("train.steps = 0: nothing to train; expected at least 1 step");
        }
        let run = lifecycle::fresh_target(&cfg, a.out.as_deref(), a.force)?;
        (cfg, run)
    };
    // Matrix products run on one core per worker; `train.threads` workers split the batch.
    indu::device::set_threads(1);
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

/// `--resume` with `--task` or `--config`: accepted when it names the config the run was
/// made with (the task for `--task`; the file's config with the same overrides, up to
/// `train.steps`, for `--config`), refused when it names another.
fn same_config(
    a: &TrainArgs,
    cfg: &indu::config::RunConfig,
    run: &indu::run_dir::RunDir,
    overrides: &[String],
) -> Result<()> {
    let dir = run.path.display();
    if let Some(t) = &a.task {
        let preset: indu::config::Preset = t.parse()?;
        if preset.task() != cfg.task.task() {
            bail!(
                "--task {}: {dir} is a {} run; drop --task to resume it",
                preset.name(),
                cfg.task.task()
            );
        }
    }
    if let Some(f) = &a.config {
        let mut given = super::load_config(None, Some(f), overrides)?;
        given.train.steps = cfg.train.steps;
        if &given != cfg {
            bail!(
                "--config {}: {dir} was made with another config (compare with its config.toml); drop --config to resume it",
                f.display()
            );
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
