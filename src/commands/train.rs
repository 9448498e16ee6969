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
    if let Some(n) = a.bench {
        if n == 0 {
            bail!("--bench 0: expected at least 1 timed step");
        }
        super::at_most("--bench", n, 100_000, "timed steps")?;
    }
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
    // A fresh run that fails before it has trained a step leaves nothing behind.
    let mut fresh = FreshRun::new(&run, !a.resume);
    std::fs::create_dir_all(&run.path)
        .with_context(|| format!("creating {}", run.path.display()))?;
    let lock = run.lock_exclusive()?;
    if a.force && !a.resume {
        // Only once the lock is ours: never clear a run another process is training.
        clear_run(&run.path)?;
    }
    // A resumed run with --steps/--set gets the new config; it goes back to the old one
    // if the resume fails (an interrupted run keeps it: it trained under it).
    let mut restore = RestoreConfig(None);
    if a.resume && !overrides(&a).is_empty() {
        let old = std::fs::read(run.config())
            .with_context(|| format!("reading {}", run.config().display()))?;
        restore.0 = Some((run.config(), old));
    }
    check_disk_space(&cfg, &run)?;
    if !a.resume || restore.0.is_some() {
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
    restore.0 = None;
    drop(lock);
    fresh.disarm();
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

/// The files a run directory holds (what --force and a failed fresh run remove).
const RUN_FILES: [&str; 8] = [
    "config.toml",
    "model.safetensors",
    "checkpoint.safetensors",
    "tl_config.json",
    "metrics.jsonl",
    "summary.json",
    "heads.json",
    "eval.json",
];

/// Remove the files a run writes (only those), for --force.
fn clear_run(dir: &std::path::Path) -> Result<()> {
    for name in RUN_FILES {
        let p = dir.join(name);
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("removing {}", p.display()))?;
        }
    }
    Ok(())
}

/// Fail early, before any training, when the file system cannot hold the checkpoint and the
/// model file (rather than dying at the first checkpoint).
fn check_disk_space(cfg: &RunConfig, run: &RunDir) -> Result<()> {
    let need = train::checkpoint::disk_bytes(cfg).saturating_add(1 << 20);
    if let Some(free) = run_dir::free_bytes(&run.path) {
        if free < need {
            bail!(
                "{}: not enough free disk space for checkpoints: need about {:.1} MiB (checkpoint + model.safetensors), the file system has {:.1} MiB free",
                run.path.display(),
                need as f64 / 1048576.0,
                free as f64 / 1048576.0
            );
        }
    }
    Ok(())
}

/// Undo a fresh run that failed before it produced anything (no checkpoint, no metrics
/// line): remove the files it wrote, the directory if it made it, and restore
/// `runs/latest`. Disarmed on success; an interrupted run exits without dropping it.
struct FreshRun {
    run: RunDir,
    armed: bool,
    created: bool,
    latest: Option<(PathBuf, Option<PathBuf>)>,
}

impl FreshRun {
    fn new(run: &RunDir, armed: bool) -> FreshRun {
        let latest = run
            .path
            .parent()
            .map(|p| p.join(run_dir::LATEST))
            .map(|link| {
                let target = std::fs::read_link(&link).ok();
                (link, target)
            });
        FreshRun {
            run: run.clone(),
            armed,
            created: !run.path.exists(),
            latest,
        }
    }

    fn disarm(&mut self) {
        self.armed = false;
    }
}

impl Drop for FreshRun {
    fn drop(&mut self) {
        let dir = &self.run.path;
        let metrics = std::fs::metadata(self.run.metrics())
            .map(|m| m.len())
            .unwrap_or(0);
        if !self.armed || train::checkpoint::path(&self.run).exists() || metrics > 0 {
            return;
        }
        for name in RUN_FILES {
            let _ = std::fs::remove_file(dir.join(name));
        }
        if self.created {
            let _ = std::fs::remove_dir(dir);
        }
        if let Some((link, before)) = &self.latest {
            let ours = std::fs::read_link(link).ok();
            if ours.as_deref() != before.as_deref() {
                match before {
                    #[cfg(unix)]
                    Some(t) => {
                        let tmp = link.with_file_name(".latest.tmp");
                        let _ = std::fs::remove_file(&tmp);
                        if std::os::unix::fs::symlink(t, &tmp).is_ok() {
                            let _ = std::fs::rename(&tmp, link);
                        }
                    }
                    _ => {
                        let _ = std::fs::remove_file(link);
                    }
                }
            }
        }
    }
}

/// The config text to put back when a resume fails.
struct RestoreConfig(Option<(PathBuf, Vec<u8>)>);

impl Drop for RestoreConfig {
    fn drop(&mut self) {
        if let Some((path, text)) = &self.0 {
            let _ = indu::report::atomic_write(path, text);
        }
    }
}
