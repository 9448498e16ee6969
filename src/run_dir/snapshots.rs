//! Weight snapshots kept during training: `snapshots/step_000500.safetensors` (the same
//! TransformerLens-format file as `model.safetensors`) with the run's `tl_config.json`
//! beside them, and finding the one an analysis at `--step N` means.
use super::RunDir;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

pub use super::SNAPSHOTS as DIR;

/// `snapshots/` of `run`.
pub fn dir(run: &RunDir) -> PathBuf {
    run.path.join(DIR)
}

/// The file of the snapshot after `step` steps.
pub fn path(run: &RunDir, step: usize) -> PathBuf {
    dir(run).join(format!("step_{step:06}.safetensors"))
}

/// Where analyses of the snapshot after `step` steps write their outputs (a run-like
/// folder beside the snapshot file: `snapshots/step_000500/heads.json`, `.../plots/`).
pub fn outputs(run: &RunDir, step: usize) -> PathBuf {
    dir(run).join(format!("step_{step:06}"))
}

/// The step of a snapshot file name (`step_000500.safetensors` -> 500).
fn step_of(name: &str) -> Option<usize> {
    let digits = name.strip_prefix("step_")?.strip_suffix(".safetensors")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Every snapshot of `run`, by step.
pub fn list(run: &RunDir) -> Vec<(usize, PathBuf)> {
    let mut out: Vec<(usize, PathBuf)> = std::fs::read_dir(dir(run))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let step = step_of(e.file_name().to_str()?)?;
            e.path().is_file().then(|| (step, e.path()))
        })
        .collect();
    out.sort();
    out
}

/// The snapshot `--step step` means: the latest one at or before it. `steps` is the run's
/// length (`--step` beyond it is refused).
pub fn nearest(run: &RunDir, step: usize, steps: usize) -> Result<(usize, PathBuf)> {
    if step > steps {
        return Err(Error::Invalid(format!(
            "--step {step} is beyond the run: {} trained {steps} steps",
            run.path.display()
        )));
    }
    let all = list(run);
    if all.is_empty() {
        return Err(Error::Invalid(format!(
            "--step {step}: {} kept no snapshots; train with `[train] snapshot_every = N` (or --set train.snapshot_every=N) to keep them",
            run.path.display()
        )));
    }
    all.into_iter()
        .rev()
        .find(|(s, _)| *s <= step)
        .ok_or_else(|| {
            Error::Invalid(format!(
                "--step {step}: {} has no snapshot at or before it",
                run.path.display()
            ))
        })
}

/// A resumed run after `start` steps: remove the snapshots past it (a killed run may have
/// written some after its last checkpoint) and any half-written temp file, so that the
/// folder ends as an uninterrupted run leaves it.
pub fn prune_after(run: &RunDir, start: usize) -> Result<()> {
    for (step, p) in list(run) {
        if step > start {
            remove(&p)?;
        }
    }
    for e in std::fs::read_dir(dir(run)).into_iter().flatten().flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(".step_") && name.ends_with(".tmp") {
            remove(&e.path())?;
        }
    }
    Ok(())
}

fn remove(p: &Path) -> Result<()> {
    std::fs::remove_file(p).map_err(Error::io(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_names_round_trip() {
        let run = RunDir::new("r");
        let p = path(&run, 500);
        assert!(p.ends_with("snapshots/step_000500.safetensors"));
        let name = p.file_name().unwrap().to_str().unwrap();
        assert_eq!(step_of(name), Some(500));
        assert_eq!(step_of("step_1234567.safetensors"), Some(1234567));
        assert_eq!(step_of("step_.safetensors"), None);
        assert_eq!(step_of("step_00x1.safetensors"), None);
        assert_eq!(step_of(".step_000500.safetensors.tmp"), None);
    }

    #[test]
    fn nearest_is_the_latest_at_or_before() {
        let tmp = tempfile::tempdir().unwrap();
        let run = RunDir::new(tmp.path());
        assert!(nearest(&run, 0, 10)
            .unwrap_err()
            .to_string()
            .contains("snapshot_every"));
        std::fs::create_dir_all(dir(&run)).unwrap();
        for s in [0, 5, 10] {
            std::fs::write(path(&run, s), b"x").unwrap();
        }
        std::fs::write(dir(&run).join(".step_000015.safetensors.tmp"), b"x").unwrap();
        assert_eq!(nearest(&run, 7, 20).unwrap().0, 5);
        assert_eq!(nearest(&run, 10, 20).unwrap().0, 10);
        assert_eq!(nearest(&run, 0, 20).unwrap().0, 0);
        let e = nearest(&run, 21, 20).unwrap_err().to_string();
        assert!(e.contains("--step 21 is beyond the run"), "{e}");
        prune_after(&run, 5).unwrap();
        let left: Vec<usize> = list(&run).into_iter().map(|(s, _)| s).collect();
        assert_eq!(left, [0, 5]);
        assert_eq!(std::fs::read_dir(dir(&run)).unwrap().count(), 2);
    }
}
