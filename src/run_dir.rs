//! The on-disk layout of a run (`runs/<name>/...`), finding the newest run, and the lock
//! that keeps two trainers out of one directory.
use crate::config::RunConfig;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// The directory every run goes under by default.
pub const RUNS: &str = "runs";
/// The link (or, where links are unavailable, a file holding the name) to the newest run.
pub const LATEST: &str = "latest";

/// How many of `RUN_FILES` (its first entries) `indu train` itself writes.
const N_TRAIN_FILES: usize = 6;

/// The files `indu train` itself writes (what a resumed run replaces).
pub const TRAIN_FILES: &[&str] = RUN_FILES.split_at(N_TRAIN_FILES).0;

/// Every file indu writes at the top of a run directory, `indu train`'s first: `train
/// --force` clears these (and the figures of `is_plot` under `plots/`), and nothing else.
pub const RUN_FILES: [&str; 13] = [
    "config.toml",
    "model.safetensors",
    "checkpoint.safetensors",
    "tl_config.json",
    "metrics.jsonl",
    "summary.json",
    "heads.json",
    "eval.json",
    "samples.txt",
    "circuits.json",
    "ablate.json",
    "attribute.json",
    "cache.safetensors",
];

/// Whether `name` is a figure that an indu command draws into a run's `plots/`.
pub fn is_plot(name: &str) -> bool {
    const FIXED: [&str; 4] = ["loss.png", "head_scores.png", "ablate.png", "attribute.png"];
    let png = |prefix: &str| name.starts_with(prefix) && name.ends_with(".png");
    // attn_grid.png and its filtered attn_grid_L1.png / attn_grid_H0.png; every
    // circuits_*.png of `indu circuits`.
    FIXED.contains(&name)
        || ["attn_grid", "attn_L", "loss_", "circuits_"]
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
    pub fn optimizer(&self) -> PathBuf {
        self.path.join("optimizer.safetensors")
    }
    pub fn state(&self) -> PathBuf {
        self.path.join("state.json")
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

    /// Read and validate the run's `config.toml`.
    pub fn load_config(&self) -> Result<RunConfig> {
        let path = self.config();
        let text = std::fs::read_to_string(&path).map_err(Error::io(&path))?;
        RunConfig::from_toml(&text, &[]).map_err(|e| Error::Format {
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
        Ok(RunDir::new(dir))
    }

    /// Take the run's lock (fails if another live process holds it). On Unix this is an
    /// `flock` on `.lock`, so a lock file left by a killed process is simply taken over and
    /// two trainers started at the same instant cannot both win; the file holds the pid
    /// for the error message.
    #[cfg(unix)]
    pub fn lock_exclusive(&self) -> Result<RunLock> {
        use std::os::unix::io::AsRawFd;
        let path = self.lock();
        for _ in 0..16 {
            let mut file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(Error::io(&path))?;
            // SAFETY: flock on a file descriptor we own; no memory is passed.
            let got = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
            if !got {
                let pid = std::fs::read_to_string(&path).unwrap_or_default();
                return Err(self.in_use(pid.trim()));
            }
            // The previous holder may have removed the file between our open and flock:
            // then we locked an orphan and must try again on the new file.
            if same_file(&file, &path) {
                use std::io::Write;
                let pid = std::process::id().to_string();
                file.set_len(0)
                    .and_then(|()| file.write_all(pid.as_bytes()))
                    .map_err(Error::io(&path))?;
                return Ok(RunLock { path, _file: file });
            }
        }
        Err(self.in_use("unknown"))
    }

    /// Take the run's lock (fails if another live process holds it).
    #[cfg(not(unix))]
    pub fn lock_exclusive(&self) -> Result<RunLock> {
        let path = self.lock();
        if let Ok(text) = std::fs::read_to_string(&path) {
            let pid: u32 = text.trim().parse().unwrap_or(0);
            if pid != 0 && pid != std::process::id() {
                return Err(self.in_use(&pid.to_string()));
            }
        }
        let tmp = crate::report::temp_path(&path);
        std::fs::write(&tmp, std::process::id().to_string()).map_err(Error::io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(Error::io(&path))?;
        Ok(RunLock { path })
    }

    fn in_use(&self, pid: &str) -> Error {
        Error::Invalid(format!(
            "{} is in use by another indu process (pid {pid}); wait for it to finish",
            self.path.display()
        ))
    }

    /// Point `runs/latest` at this run (best effort: a failure here never fails a run).
    pub fn mark_latest(&self) {
        let Some(parent) = self.path.parent() else {
            return;
        };
        let Some(name) = self.path.file_name() else {
            return;
        };
        let link = parent.join(LATEST);
        let tmp = parent.join(".latest.tmp");
        let _ = std::fs::remove_file(&tmp);
        #[cfg(unix)]
        let made = std::os::unix::fs::symlink(name, &tmp).is_ok();
        #[cfg(not(unix))]
        let made = std::fs::write(&tmp, name.to_string_lossy().as_bytes()).is_ok();
        if made {
            let _ = std::fs::rename(&tmp, &link);
        }
    }
}

/// A held run lock; removed on drop (and released by the OS if the process dies).
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
    #[cfg(unix)]
    _file: std::fs::File,
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether the open `file` is still the file at `path` (same device and inode).
#[cfg(unix)]
fn same_file(file: &std::fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Bytes available to this user on the file system holding `path` (None where unknown).
#[cfg(unix)]
pub fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: `c` is a NUL-terminated path and `st` is writable memory of the type statvfs
    // fills; nothing is read from it unless the call succeeded.
    if unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it initialised `st`.
    let st = unsafe { st.assume_init() };
    // The field types differ between platforms (u32 on some, u64 on Linux).
    #[allow(clippy::useless_conversion)]
    let (avail, frsize) = (u64::from(st.f_bavail), u64::from(st.f_frsize));
    Some(avail.saturating_mul(frsize))
}

/// Bytes available on the file system holding `path` (unknown on this platform).
#[cfg(not(unix))]
pub fn free_bytes(_path: &Path) -> Option<u64> {
    None
}

/// The newest run under `runs`: the `latest` link if it resolves to a run, else the
/// most recently modified directory holding a config.
pub fn latest(runs: &Path) -> Option<PathBuf> {
    let link = runs.join(LATEST);
    if let Ok(target) = std::fs::read_link(&link) {
        let p = runs.join(target);
        if p.join("config.toml").is_file() {
            return Some(p);
        }
    } else if let Ok(name) = std::fs::read_to_string(&link) {
        let p = runs.join(name.trim());
        if p.join("config.toml").is_file() {
            return Some(p);
        }
    }
    let mut best: Option<(std::time::SystemTime, PathBuf)> = None;
    for entry in std::fs::read_dir(runs).ok()?.flatten() {
        let p = entry.path();
        if p.file_name().is_some_and(|n| n == LATEST) || !p.join("config.toml").is_file() {
            continue;
        }
        let t = entry.metadata().and_then(|m| m.modified()).ok()?;
        if best.as_ref().is_none_or(|(bt, _)| t > *bt) {
            best = Some((t, p));
        }
    }
    best.map(|(_, p)| p)
}

/// `YYYYMMDD-HHMMSS` in UTC, for default run names.
pub fn timestamp() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86400) as i64;
    let rem = secs % 86400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 -> (year, month, day), proleptic Gregorian.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
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
                "metrics.jsonl",
                "model.safetensors",
                "summary.json",
                "tl_config.json",
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
        ] {
            assert!(is_plot(name), "{name}");
        }
        for name in ["notes.png", "loss.svg", "attn_L1_H0.txt", "mine.png"] {
            assert!(!is_plot(name), "{name}");
        }
    }

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(20_513), (2026, 3, 1));
    }
}
