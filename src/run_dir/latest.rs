//! `runs/latest`: the link (or, where links are unavailable, a file holding the name) to
//! the newest run, how it is read, moved and put back.
use super::RunDir;
use std::path::{Path, PathBuf};

/// The link's name, in the directory that holds the runs.
pub const LATEST: &str = "latest";

/// What `<parent>/latest` points at now: the link's target (or the name the file holds).
pub fn latest_target(parent: &Path) -> Option<PathBuf> {
    let link = parent.join(LATEST);
    match std::fs::read_link(&link) {
        Ok(target) => Some(target),
        #[cfg(not(unix))]
        Err(_) => std::fs::read_to_string(&link)
            .ok()
            .map(|name| PathBuf::from(name.trim())),
        #[cfg(unix)]
        Err(_) => None,
    }
}

/// Point `<parent>/latest` at `target` (a name in `parent`), or remove it for `None`.
/// Best effort: the link is replaced atomically or left as it was.
pub fn set_latest(parent: &Path, target: Option<&Path>) {
    let link = parent.join(LATEST);
    let Some(target) = target else {
        let _ = std::fs::remove_file(&link);
        return;
    };
    let tmp = parent.join(".latest.tmp");
    let _ = std::fs::remove_file(&tmp);
    #[cfg(unix)]
    let made = std::os::unix::fs::symlink(target, &tmp).is_ok();
    #[cfg(not(unix))]
    let made = std::fs::write(&tmp, target.to_string_lossy().as_bytes()).is_ok();
    if made {
        let _ = std::fs::rename(&tmp, &link);
    }
}

impl RunDir {
    /// Point `runs/latest` at this run (best effort: a failure here never fails a run).
    pub fn mark_latest(&self) {
        if let (Some(parent), Some(name)) = (self.path.parent(), self.path.file_name()) {
            set_latest(parent, Some(Path::new(name)));
        }
    }
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

/// The sweep `runs/latest` points at, if it points at one (a directory with a sweep.toml).
pub fn latest_sweep(runs: &Path) -> Option<PathBuf> {
    let p = runs.join(latest_target(runs)?);
    p.join(crate::sweep::SWEEP_FILE).is_file().then_some(p)
}
