//! The lifecycle of one training run around the loop: the directory a fresh or resumed run
//! trains in, the lock, the free-space check, `--force`'s clearing, config.toml, and the
//! undo of a run that fails before its first checkpoint (or of a resume's config change).
use super::{checkpoint, train, Summary, TrainOptions};
use crate::config::RunConfig;
use crate::error::Error;
use crate::run_dir::{self, RunDir};
use std::path::{Path, PathBuf};

/// Why a run failed: a library error, or one met while doing something the message names
/// first ("reading runs/x/config.toml: ..."); `Display` plus `source` print the chain.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Lib(#[from] Error),
    #[error("{doing}")]
    While {
        doing: String,
        #[source]
        cause: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Result of the lifecycle's steps.
pub type RunResult<T> = std::result::Result<T, RunError>;

/// `cause`, met while `doing`.
fn while_doing(
    doing: String,
    cause: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> RunError {
    RunError::While {
        doing,
        cause: cause.into(),
    }
}

/// The directory of a fresh run: `out`, or a new name under `runs/`. An existing directory
/// must be empty unless `force` (its old run is cleared once the lock is held).
pub fn fresh_target(cfg: &RunConfig, out: Option<&Path>, force: bool) -> RunResult<RunDir> {
    let dir = match out {
        Some(d) => d.to_path_buf(),
        None => run_dir::fresh_name(Path::new(run_dir::RUNS), cfg.task.task().name()),
    };
    if dir.exists() {
        if dir.is_file() {
            return Err(invalid(format!(
                "--out {} is a file, expected a directory",
                dir.display()
            )));
        }
        let non_empty = std::fs::read_dir(&dir)
            .map(|mut d| d.next().is_some())
            .unwrap_or(false);
        if non_empty && !force {
            return Err(invalid(format!(
                "{} already exists; pass --force to overwrite it or --resume to continue it",
                dir.display()
            )));
        }
    }
    Ok(RunDir::new(dir))
}

/// The run to resume (`dir`, or the newest run under `runs/`) and its config with
/// `overrides` (`key=value`) applied on top.
pub fn resume_target(dir: Option<&Path>, overrides: &[String]) -> RunResult<(RunConfig, RunDir)> {
    let run = match dir {
        Some(d) => {
            if !d.join("config.toml").is_file() {
                return Err(invalid(format!(
                    "{} is not a run directory (no config.toml)",
                    d.display()
                )));
            }
            RunDir::new(d)
        }
        None => RunDir::find(None)?,
    };
    let path = run.config();
    let text = std::fs::read_to_string(&path)
        .map_err(|e| while_doing(format!("reading {}", path.display()), e))?;
    let cfg = RunConfig::from_toml(&text, overrides)
        .map_err(|e| while_doing(format!("config {}", path.display()), e))?;
    Ok((cfg, run))
}

/// Train `cfg` into `run` from start to end: create and lock the directory, check the free
/// space, clear an old run (`force`), write config.toml, run the loop. A fresh run that
/// fails before its first checkpoint leaves nothing behind (the directory, its files and
/// `runs/latest` as they were); a failed resume gets its old config back. An interrupted
/// run (`Error::Interrupted`) keeps what it saved.
pub fn run(cfg: &RunConfig, run: &RunDir, opts: &TrainOptions) -> RunResult<Summary> {
    let mut fresh = FreshRun::new(run, !opts.resume);
    std::fs::create_dir_all(&run.path)
        .map_err(|e| while_doing(format!("creating {}", run.path.display()), e))?;
    let lock = run.lock_exclusive()?;
    // Before anything is removed or written: a refused run leaves the old one as it was.
    check_disk_space(cfg, run, opts.resume)?;
    if opts.force && !opts.resume {
        // Only once the lock is ours: never clear a run another process is training.
        run.clear()?;
    }
    fresh.own();
    // A resumed run with a changed config gets the new one; it goes back to the old one
    // if the resume fails (an interrupted run keeps it: it trained under it).
    let mut restore = RestoreConfig(None);
    if opts.resume && opts.config_changed {
        let old = std::fs::read(run.config())
            .map_err(|e| while_doing(format!("reading {}", run.config().display()), e))?;
        restore.0 = Some((run.config(), old));
    }
    if !opts.resume || restore.0.is_some() {
        crate::report::atomic_write(&run.config(), cfg.to_toml()?.as_bytes())?;
    }
    match train(cfg, run, opts) {
        Ok(s) => {
            restore.0 = None;
            drop(lock);
            fresh.done();
            Ok(s)
        }
        Err(e @ Error::Interrupted { .. }) => {
            // The checkpoint is saved: keep the run and the config it trained under.
            restore.0 = None;
            fresh.done();
            Err(e.into())
        }
        Err(e) => Err(while_doing(format!("training {}", run.path.display()), e)),
    }
}

fn invalid(msg: String) -> RunError {
    RunError::Lib(Error::Invalid(msg))
}

/// Fail early, before anything in the run directory is removed or written, when the file
/// system cannot hold the run at its peak (two checkpoints and the model while a checkpoint
/// is replaced) rather than dying at a checkpoint. Files the run will replace (resume) or
/// remove (--force) count as free.
fn check_disk_space(cfg: &RunConfig, run: &RunDir, resume: bool) -> RunResult<()> {
    let need = checkpoint::peak_disk_bytes(cfg);
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
        return Err(invalid(format!(
            "{}: not enough free disk space: training needs about {:.1} MiB at its peak (two checkpoints and model.safetensors while a checkpoint is replaced), the file system has {:.1} MiB free{of_run}",
            run.path.display(),
            mib(need),
            mib(free),
        )));
    }
    Ok(())
}

/// Undo a run that failed before its first checkpoint (so it holds no model to analyse or
/// resume). Until `own` is called (the lock is held and --force has cleared the old run)
/// it only removes the directory if this run made it and left it empty; once owned, a fresh
/// run also removes the files it wrote and restores `runs/latest`. `done` on success and
/// for an interrupted run (it saved a checkpoint first).
struct FreshRun {
    run: RunDir,
    fresh: bool,
    owned: bool,
    done: bool,
    /// The outermost directory this run created (`run.path` or one of its parents).
    created: Option<PathBuf>,
    /// The directory holding the runs and what its `latest` pointed at before.
    latest: Option<(PathBuf, Option<PathBuf>)>,
}

impl FreshRun {
    fn new(run: &RunDir, fresh: bool) -> FreshRun {
        let latest = run
            .path
            .parent()
            .map(|p| (p.to_path_buf(), run_dir::latest_target(p)));
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
        let undo = self.fresh && self.owned && !checkpoint::path(&self.run).exists();
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
        if let Some((parent, before)) = &self.latest {
            if run_dir::latest_target(parent) != *before {
                run_dir::set_latest(parent, before.as_deref());
            }
        }
    }
}

/// The config text to put back when a resume fails.
struct RestoreConfig(Option<(PathBuf, Vec<u8>)>);

impl Drop for RestoreConfig {
    fn drop(&mut self) {
        if let Some((path, text)) = &self.0 {
            let _ = crate::report::atomic_write(path, text);
        }
    }
}
