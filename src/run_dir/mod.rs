//! The on-disk layout of a run (`runs/<name>/...`): its files, clearing them, finding the
//! run a command means, fresh run names. The lock is in `lock`, `runs/latest` in `latest`,
//! free space and timestamps in `os`, the weight snapshots of a run in `snapshots`, metrics.jsonl's keys and
//! curves in `metrics`.
use crate::config::RunConfig;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

mod latest;
mod lock;
pub mod metrics;
mod os;
pub mod snapshots;
pub mod vocab;

pub use latest::{latest, latest_sweep, latest_target, set_latest, LATEST};
pub use lock::RunLock;
pub use os::{free_bytes, timestamp};

/// The folder of a run holding its weight snapshots and their analyses (indu's own:
/// `train --force` removes it whole).
pub const SNAPSHOTS: &str = "snapshots";

/// The directory every run goes under by default.
pub const RUNS: &str = "runs";

/// How many of `RUN_FILES` (its first entries) `indu train` itself writes.
const N_TRAIN_FILES: usize = 10;

/// The files `indu train` itself writes (what a resumed run replaces).
pub const TRAIN_FILES: &[&str] = RUN_FILES.split_at(N_TRAIN_FILES).0;

/// Every file indu writes at the top of a run directory, `indu train`'s first: `train
/// --force` clears these (and the figures of `is_plot` under `plots/`), and nothing else.
pub const RUN_FILES: [&str; 20] = [
    "config.toml",
    "model.safetensors",
    "checkpoint.safetensors",
    "tl_config.json",
    vocab::VOCAB,
    vocab::HF_TOKENIZER,
    vocab::HF_TOKENIZER_CONFIG,
    "metrics.jsonl",
    "summary.json",
    "dynamics.jsonl",
    "heads.json",
    "eval.json",
    "samples.txt",
    "circuits.json",
    "ablate.json",
    "attribute.json",
    "cache.safetensors",
    "view.html",
    "patch.json",
    crate::import::IMPORT_JSON,
];

/// Whether `name` is a figure that an indu command draws into a run's `plots/`.
pub fn is_plot(name: &str) -> bool {
    const FIXED: [&str; 6] = [
        "loss.png",
        "head_scores.png",
        "ablate.png",
        "attribute.png",
        "dynamics.png",
        "loss_by_position.png",
    ];
    let png = |prefix: &str| name.starts_with(prefix) && name.ends_with(".png");
    // attn_grid.png and its filtered attn_grid_L1.png / attn_grid_H0.png; every
    // circuits_*.png of `indu circuits`.
    FIXED.contains(&name)
        || ["attn_grid", "attn_L", "loss_", "circuits_", "patch_"]
            .iter()
            .any(|p| png(p))
}

/// One run directory.
#[derive(Debug, Clone)]
pub struct RunDir {
    pub path: PathBuf,
}

impl RunDir {
    pub fn new(path: impl Into<PathBuf>) -> RunDir {
        RunDir { path: path.into() }
    }
    pub fn config(&self) -> PathBuf {
        self.path.join("config.toml")
    }
    pub fn model(&self) -> PathBuf {
        self.path.join("model.safetensors")
    }
    pub fn tl_config(&self) -> PathBuf {
        self.path.join("tl_config.json")
    }
    pub fn metrics(&self) -> PathBuf {
        self.path.join("metrics.jsonl")
    }
    pub fn summary(&self) -> PathBuf {
        self.path.join("summary.json")
    }
    pub fn heads(&self) -> PathBuf {
        self.path.join("heads.json")
    }
    pub fn lock(&self) -> PathBuf {
        self.path.join(".lock")
    }
    pub fn plots(&self) -> PathBuf {
        self.path.join("plots")
    }
    /// Create `plots/` if needed and return it.
    pub fn plots_dir(&self) -> Result<PathBuf> {
        let p = self.plots();
        std::fs::create_dir_all(&p).map_err(Error::io(&p))?;
        Ok(p)
    }

    /// Remove every file indu writes into the run (`RUN_FILES`, the figures in `plots/` and
    /// `plots/` itself once empty); other files are left alone.
    pub fn clear(&self) -> Result<()> {
        for name in RUN_FILES {
            let p = self.path.join(name);
            if p.is_file() {
                std::fs::remove_file(&p).map_err(Error::io(&p))?;
            }
        }
        let plots = self.plots();
        if let Ok(entries) = std::fs::read_dir(&plots) {
            for e in entries.flatten() {
                let p = e.path();
                if p.is_file() && e.file_name().to_str().is_some_and(is_plot) {
                    std::fs::remove_file(&p).map_err(Error::io(&p))?;
                }
            }
            // Only removed when nothing else is left in it.
            let _ = std::fs::remove_dir(&plots);
        }
        let snapshots = self.path.join(SNAPSHOTS);
        if snapshots.is_dir() {
            std::fs::remove_dir_all(&snapshots).map_err(Error::io(&snapshots))?;
        }
        Ok(())
    }

    /// Bytes the named files of the run take now (missing files count 0).
    pub fn files_bytes(&self, names: &[&str]) -> u64 {
        names
            .iter()
            .filter_map(|n| std::fs::metadata(self.path.join(n)).ok())
            .filter(|m| m.is_file())
            .map(|m| m.len())
            .fold(0, u64::saturating_add)
    }

    /// Read and validate the run's `config.toml` (every value; not the memory limits of a
    /// training step, which an analysis does not take and an imported model may exceed).
    pub fn load_config(&self) -> Result<RunConfig> {
        let path = self.config();
        let text = std::fs::read_to_string(&path).map_err(Error::io(&path))?;
        RunConfig::from_toml_for_data(&text, &[]).map_err(|e| Error::Format {
            path,
            msg: e.to_string(),
        })
    }

    /// Resolve `--run`: the given directory, or the newest run under `runs/`.
    /// The directory must hold a config and a model.
    pub fn find(arg: Option<&Path>) -> Result<RunDir> {
        let run = Self::find_any(arg)?;
        run.require(
            [run.config(), run.model()],
            "trained model",
            "pass the directory `indu train` wrote",
        )?;
        Ok(run)
    }

    /// Resolve `--run` like `find`, for what needs only the training log: the directory
    /// must hold a config and metrics.jsonl (a run before its first checkpoint will do).
    pub fn find_logged(arg: Option<&Path>) -> Result<RunDir> {
        let run = Self::find_any(arg)?;
        run.require(
            [run.config(), run.metrics()],
            "training log",
            "pass the directory `indu train` writes",
        )?;
        Ok(run)
    }

    /// Refuse the run when one of `needed` is not a file: "DIR holds no WHAT (FILE is
    /// missing); HINT".
    fn require(&self, needed: [PathBuf; 2], what: &str, hint: &str) -> Result<()> {
        for p in needed {
            if !p.is_file() {
                return Err(Error::Invalid(format!(
                    "{} holds no {what} ({} is missing); {hint}",
                    self.path.display(),
                    p.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default()
                )));
            }
        }
        Ok(())
    }

    /// The given directory or the newest run, checked to be an existing directory.
    fn find_any(arg: Option<&Path>) -> Result<RunDir> {
        let dir = match arg {
            Some(p) => p.to_path_buf(),
            None if latest_sweep(Path::new(RUNS)).is_some() => {
                let sweep = latest_sweep(Path::new(RUNS)).unwrap_or_default();
                return Err(Self::sweep_not_run(&sweep, "runs/latest is the sweep"));
            }
            None => latest(Path::new(RUNS)).ok_or_else(|| {
                Error::Invalid(
                    "no run found under runs/: train one with `indu train --task induction`, or pass --run DIR".into(),
                )
            })?,
        };
        if !dir.exists() {
            return Err(Error::Invalid(format!(
                "run directory {} does not exist",
                dir.display()
            )));
        }
        if !dir.is_dir() {
            return Err(Error::Invalid(format!(
                "--run {} is a file, expected a run directory",
                dir.display()
            )));
        }
        if crate::sweep::Sweep::is_sweep(&dir) {
            return Err(Self::sweep_not_run(&dir, "--run is the sweep"));
        }
        Ok(RunDir::new(dir))
    }
}

impl RunDir {
    /// The error for a sweep where one run is needed: name one of its runs.
    fn sweep_not_run(sweep: &Path, what: &str) -> Error {
        let example = crate::sweep::Sweep::open(sweep)
            .ok()
            .and_then(|s| s.file.points.first().map(|p| sweep.join(&p.name)))
            .unwrap_or_else(|| sweep.join("<point>"));
        Error::Invalid(format!(
            "{what} {}: pass one of its runs, e.g. --run {} (plot-loss, plot-dynamics, detect-heads and eval take a whole sweep)",
            sweep.display(),
            example.display()
        ))
    }
}

/// A fresh directory name under `runs/` for a task: `<task>-<timestamp>[-n]`.
pub fn fresh_name(runs: &Path, task: &str) -> PathBuf {
    let base = format!("{task}-{}", timestamp());
    let mut p = runs.join(&base);
    let mut i = 2;
    while p.exists() {
        p = runs.join(format!("{base}-{i}"));
        i += 1;
    }
    p
}

/// Short names that tell runs apart in a legend: each run's directory name, or as many of
/// its last path components as it takes to make every name distinct (`lr=1e-3/seed=0` in a
/// sweep).
pub fn labels(runs: &[RunDir]) -> Vec<String> {
    let parts: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            r.path
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect()
        })
        .collect();
    let longest = parts.iter().map(Vec::len).max().unwrap_or(0);
    let suffix = |p: &Vec<String>, k: usize| p[p.len().saturating_sub(k)..].join("/");
    for k in 1..=longest.max(1) {
        let names: Vec<String> = parts.iter().map(|p| suffix(p, k)).collect();
        if names
            .iter()
            .enumerate()
            .all(|(i, n)| !names[..i].contains(n))
        {
            return names;
        }
    }
    runs.iter().map(|r| r.path.display().to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn train_files_are_what_train_writes_and_nothing_else() {
        let mut train = TRAIN_FILES.to_vec();
        train.sort_unstable();
        assert_eq!(
            train,
            [
                "checkpoint.safetensors",
                "config.toml",
                "dynamics.jsonl",
                "metrics.jsonl",
                "model.safetensors",
                "summary.json",
                "tl_config.json",
                "tokenizer.json",
                "tokenizer_config.json",
                "vocab.json",
            ]
        );
        assert!(RUN_FILES.starts_with(TRAIN_FILES));
    }

    #[test]
    fn plots_of_every_command_are_recognised() {
        for name in [
            "loss.png",
            "loss_digits.png",
            "attn_L1_H0.png",
            "circuits_ov.png",
            "circuits_subspace.png",
            "dynamics.png",
            "loss_by_position.png",
            "patch_resid_pre.png",
        ] {
            assert!(is_plot(name), "{name}");
        }
        for name in ["notes.png", "loss.svg", "attn_L1_H0.txt", "mine.png"] {
            assert!(!is_plot(name), "{name}");
        }
    }
}
