//! `indu train`: resolve the config, prepare (or resume) the run directory, train with a
//! progress bar, print a one-line summary. `--seeds` fans out to parallel processes.
use crate::cli::{DeviceArg, TrainArgs};
use anyhow::{bail, Context, Result};
use indu::config::RunConfig;
use indu::run_dir::{self, RunDir};
use indu::train::{self, TrainOptions};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub fn run(a: TrainArgs) -> Result<()> {
    if let Some(seeds) = &a.seeds {
        return super::sweep::run(&a, seeds);
    }
    let (cfg, run) = if a.resume {
        resume_target(&a)?
    } else {
        fresh_target(&a)?
    };
    indu::device::set_threads(cfg.train.threads);
    let device = indu::device::open(match a.device {
        DeviceArg::Cpu => indu::device::DeviceKind::Cpu,
        DeviceArg::Cuda => indu::device::DeviceKind::Cuda,
    })?;
    if let Some(n) = a.bench {
        return super::bench::run(&cfg, &device, n);
    }
    std::fs::create_dir_all(&run.path)
        .with_context(|| format!("creating {}", run.path.display()))?;
    let lock = run.lock_exclusive()?;
    if !a.resume {
        indu::report::atomic_write(&run.config(), cfg.to_toml()?.as_bytes())?;
    }
    run.mark_latest();

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
        resume: a.resume,
        data_file: a.data.clone(),
        interrupt,
    };
    let s = match train::train(&cfg, &run, &opts) {
        Ok(s) => s,
        Err(e @ indu::Error::Interrupted { .. }) => {
            drop(lock);
            eprintln!("{e}");
            std::process::exit(130);
        }
        Err(e) => return Err(e).with_context(|| format!("training {}", run.path.display())),
    };
    drop(lock);
    let eval: Vec<String> = ["loss", "acc", "det_acc", "seq_acc", "exact_acc"]
        .iter()
        .filter_map(|k| {
            s.final_eval
                .get(*k)
                .and_then(|v| v.as_f64())
                .map(|v| format!("eval {k} {v:.4}"))
        })
        .collect();
    println!(
        "{}: {} steps in {:.1}s ({:.1} ms/step), train loss {:.4}, {} -> {}",
        s.task,
        s.steps,
        s.wall_s,
        s.ms_per_step,
        s.final_train_loss,
        eval.join(", "),
        run.path.display()
    );
    Ok(())
}

/// Config from --task/--config + overrides; a new run directory.
fn fresh_target(a: &TrainArgs) -> Result<(RunConfig, RunDir)> {
    let cfg = super::load_config(a.task.as_deref(), a.config.as_deref(), &overrides(a))?;
    let dir = match &a.out {
        Some(d) => d.clone(),
        None => run_dir::fresh_name(std::path::Path::new(run_dir::RUNS), cfg.task.task().name()),
    };
    if dir.exists() {
        if dir.is_file() {
            bail!("--out {} is a file, expected a directory", dir.display());
        }
        let non_empty = std::fs::read_dir(&dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(false);
        if non_empty && !a.force {
            bail!(
                "{} already exists; pass --force to overwrite it or --resume to continue it",
                dir.display()
            );
        }
        if non_empty {
            clear_run(&dir)?;
        }
    }
    Ok((cfg, RunDir::new(dir)))
}

/// The run to resume and its config (with --steps / --set applied on top).
fn resume_target(a: &TrainArgs) -> Result<(RunConfig, RunDir)> {
    if a.task.is_some() || a.config.is_some() {
        bail!("--resume continues a run's own config; drop --task/--config (use --steps or --set to change it)");
    }
    let dir: Option<PathBuf> = a.run.clone().or(a.out.clone());
    let run = match dir {
        Some(d) => {
            if !d.join("config.toml").is_file() {
                bail!("{} is not a run directory (no config.toml)", d.display());
            }
            RunDir::new(d)
        }
        None => RunDir::find(None)?,
    };
    let text = std::fs::read_to_string(run.config())
        .with_context(|| format!("reading {}", run.config().display()))?;
    let cfg = RunConfig::from_toml(&text, &overrides(a))
        .with_context(|| format!("config {}", run.config().display()))?;
    if !overrides(a).is_empty() {
        indu::report::atomic_write(&run.config(), cfg.to_toml()?.as_bytes())?;
    }
    Ok((cfg, run))
}

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

/// Remove the files a run writes (only those), for --force.
fn clear_run(dir: &std::path::Path) -> Result<()> {
    for name in [
        "config.toml",
        "model.safetensors",
        "checkpoint.safetensors",
        "tl_config.json",
        "metrics.jsonl",
        "summary.json",
        "heads.json",
        "eval.json",
    ] {
        let p = dir.join(name);
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
        }
    }
    Ok(())
}
