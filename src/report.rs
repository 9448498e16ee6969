//! Output helpers shared by every command: atomic writes (temp file + rename) and JSON.
use crate::error::{Error, Result};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Write `bytes` to `path` atomically: a temp file in the same directory, fsync, rename.
/// A crash leaves either the old file or the new one, never a half-written one.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(path);
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::Io {
            path: path.to_path_buf(),
            err: e,
        });
    }
    Ok(())
}

/// The temp name used by `atomic_write` for `path` (`.name.tmp` beside it).
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp"))
}

/// Serialise `value` as pretty JSON and write it atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| Error::Format {
        path: path.to_path_buf(),
        msg: e.to_string(),
    })?;
    text.push('\n');
    atomic_write(path, text.as_bytes())
}

/// The files and directories one command creates. Unless `keep()` is called, dropping it
/// removes them again (files first, then the directories it created, innermost first), so
/// a command that fails halfway leaves nothing behind. Files that existed before are
/// replaced atomically and are not tracked.
#[derive(Debug, Default)]
pub struct Outputs {
    created: Vec<PathBuf>,
    kept: bool,
}

impl Outputs {
    pub fn new() -> Outputs {
        Outputs::default()
    }

    /// Create `dir` and its missing parents, remembering which were new.
    pub fn dir(&mut self, dir: &Path) -> Result<PathBuf> {
        let mut missing = Vec::new();
        let mut p = Some(dir);
        while let Some(d) = p.filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
            missing.push(d.to_path_buf());
            p = d.parent();
        }
        if dir.exists() && !dir.is_dir() {
            return Err(Error::Invalid(format!(
                "{} is a file, expected a directory for the outputs",
                dir.display()
            )));
        }
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        self.created.extend(missing.into_iter().rev());
        Ok(dir.to_path_buf())
    }

    /// Note that `path` is about to be written (tracked only when it does not exist yet).
    pub fn file(&mut self, path: &Path) -> PathBuf {
        if !path.exists() {
            self.created.push(path.to_path_buf());
        }
        path.to_path_buf()
    }

    /// The command succeeded: keep everything.
    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for Outputs {
    fn drop(&mut self) {
        if self.kept {
            return;
        }
        for p in self.created.iter().rev() {
            if p.is_dir() {
                let _ = std::fs::remove_dir(p);
            } else {
                let _ = std::fs::remove_file(p);
            }
        }
    }
}

/// A typed report an experiment returns: it serialises to the file its command writes (and
/// to `--json`), carries its schema version, and words its own human summary.
pub trait Report: Serialize {
    /// The `schema_version` the report's file carries.
    const SCHEMA_VERSION: u32;
    /// The summary printed on stdout without `--json`, one line each (the "wrote" lines
    /// are the caller's).
    fn human(&self) -> Vec<String>;
    /// A note for stderr, printed once every output is written.
    fn note(&self) -> Option<&str> {
        None
    }
}

/// `r`, with a failure worded as "drawing PATH: why".
pub fn drawing<T>(path: &Path, r: Result<T>) -> Result<T> {
    r.map_err(|e| Error::Invalid(format!("drawing {}: {e}", path.display())))
}
