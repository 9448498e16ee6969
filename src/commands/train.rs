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
    if let Some(s) = a.seed.filter(|&s| s > super::MAX_SEED) {
        bail!(
            "--seed {s} is too large: expected at most {} (config.toml stores the seed as a TOML integer)",
            super::MAX_SEED
        );
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
    // A fresh run that fails before its first checkpoint leaves nothing behind.
    let mut fresh = FreshRun::new(&run, !a.resume);
    std::fs::create_dir_all(&run.path)
        .with_context(|| format!("creating {}", run.path.display()))?;
    let lock = run.lock_exclusive()?;
    // Before anything is removed or written: a refused run leaves the old one as it was.
    check_disk_space(&cfg, &run, a.resume)?;
    if a.force && !a.resume {
        // Only once the lock is ours: never clear a run another process is training.
        run.clear()?;
    }
    fresh.own();
    // A resumed run with --steps/--set gets the new config; it goes back to the old one
    // if the resume fails (an interrupted run keeps it: it trained under it).
    let mut restore = RestoreConfig(None);
    if a.resume && !overrides(&a).is_empty() {
        let old = std::fs::read(run.config())
            .with_context(|| format!("reading {}", run.config().display()))?;
        restore.0 = Some((run.config(), old));
    }
    if !a.resume || restore.0.is_some() {
        indu::report::atomic_write(&run.config(), cfg.to_toml()?.as_bytes())?;
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
    fresh.done();
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

/// Fail early, before anything in the run directory is removed or written, when the file
/// system cannot hold the run at its peak (two checkpoints and the model while a checkpoint
/// is replaced) rather than dying at a checkpoint. Files the run will replace (resume) or
/// remove (--force) count as free.
fn check_disk_space(cfg: &RunConfig, run: &RunDir, resume: bool) -> Result<()> {
    let need = train::checkpoint::peak_disk_bytes(cfg);
    let Some(free) = run_dir::free_bytes(&run.path) else {
        return Ok(());
    };
    let replaced = if resume {
        run.files_bytes(run_dir::TRAIN_FILES)
    } else {
        run.files_bytes(&run_dir::RUN_FILES)
    };
    if free.saturating_add(replaced) < need {
        let mib = |b: u64| b as f64 / 1048576.0;
        let of_run = if replaced > 0 {
            format!(" (plus {:.1} MiB of run files it replaces)", mib(replaced))
        } else {
            String::new()
        };
        bail!(
            "{}: not enough free disk space: training needs about {:.1} MiB at its peak (two checkpoints and model.safetensors while a checkpoint is replaced), the file system has {:.1} MiB free{of_run}",
            run.path.display(),
            mib(need),
            mib(free),
        );
    }
    Ok(())
}

/// Undo a run that failed before its first checkpoint (so it holds no model to analyse or
/// resume). Until `own` is called (the lock is held and --force has cleared the old run)
/// it only removes the directory if this run made it and left it empty; once owned, a fresh
/// run also removes the files it wrote and restores `runs/latest`. `done` on success; an
/// interrupted run exits without dropping it (it saves a checkpoint first).
struct FreshRun {
    run: RunDir,
    fresh: bool,
    owned: bool,
    done: bool,
    /// The outermost directory this run created (`run.path` or one of its parents).
    created: Option<PathBuf>,
    latest: Option<(PathBuf, Option<PathBuf>)>,
}

impl FreshRun {
    fn new(run: &RunDir, fresh: bool) -> FreshRun {
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
            fresh,
            owned: false,
            done: false,
            created: run
                .path
                .ancestors()
                .take_while(|p| !p.as_os_str().is_empty() && !p.exists())
                .last()
                .map(PathBuf::from),
            latest,
        }
    }

    /// The directory is ours: the lock is held and the old run (if any) is gone.
    fn own(&mut self) {
        self.owned = true;
    }

    fn done(&mut self) {
        self.done = true;
    }
}

impl Drop for FreshRun {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let dir = &self.run.path;
        let undo = self.fresh && self.owned && !train::checkpoint::path(&self.run).exists();
        if undo {
            let _ = self.run.clear();
        }
        if let Some(top) = &self.created {
            // Innermost first; stops (harmlessly) at the first directory that is not empty.
            for d in dir.ancestors() {
                if std::fs::remove_dir(d).is_err() || d == top.as_path() {
                    break;
                }
            }
        }
        if !undo {
            return;
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
