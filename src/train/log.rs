//! `metrics.jsonl`'s writer, which the training loop appends to (a resumed run first drops
//! the lines past its checkpoint); its keys and the reader of its curves are
//! `run_dir::metrics`'s (re-exported here).
use crate::error::{Error, Result};
use crate::run_dir::RunDir;
use std::io::Write;

pub use crate::run_dir::metrics::{
    curves, eval_key, phase_change, phase_change_after_plateau, Curves, EVAL_PREFIX, LOSS, LR, STEP,
};

/// An append-only JSON-lines file (`metrics.jsonl`, `dynamics.jsonl`): one complete line
/// per write. Opened for a resumed run, it first keeps only the lines `keep` accepts (and
/// drops a torn last line), so the file matches an uninterrupted run.
pub(crate) struct JsonLines {
    file: std::fs::File,
    path: std::path::PathBuf,
}

/// What to do with an existing line of a resumed run's log, given its step and object.
pub(crate) enum Keep {
    /// Keep the line as written (re-serialising could change a float's digits).
    AsIs,
    /// Keep this rewritten object instead.
    Rewritten(serde_json::Map<String, serde_json::Value>),
    Drop,
}

impl JsonLines {
    /// Open `path` (created empty for a fresh run); on resume filter its lines by `keep`.
    pub(crate) fn open(
        path: std::path::PathBuf,
        resume: bool,
        keep: impl Fn(usize, serde_json::Map<String, serde_json::Value>) -> Keep,
    ) -> Result<JsonLines> {
        let mut kept = String::new();
        if resume {
            if let Ok(text) = std::fs::read_to_string(&path) {
                for line in text.lines() {
                    let Ok(serde_json::Value::Object(v)) = serde_json::from_str(line) else {
                        continue;
                    };
                    let Some(step) = v.get(STEP).and_then(|s| s.as_u64()).map(|s| s as usize)
                    else {
                        continue;
                    };
                    match keep(step, v) {
                        Keep::AsIs => kept.push_str(line),
                        Keep::Rewritten(v) => {
                            kept.push_str(&serde_json::Value::Object(v).to_string())
                        }
                        Keep::Drop => continue,
                    }
                    kept.push('\n');
                }
            }
        }
        crate::report::atomic_write(&path, kept.as_bytes())?;
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(Error::io(&path))?;
        Ok(JsonLines { file, path })
    }

    /// Append `value` as one line.
    pub(crate) fn append<T: serde::Serialize>(&mut self, value: &T) -> Result<()> {
        let mut text = serde_json::to_string(value).map_err(|e| Error::Format {
            path: self.path.clone(),
            msg: format!("cannot write a line: {e}"),
        })?;
        text.push('\n');
        self.file
            .write_all(text.as_bytes())
            .map_err(Error::io(&self.path))
    }
}

/// `metrics.jsonl` of a run resumed (or started) after `start` steps: lines past the
/// checkpoint are dropped. A run that stopped early evaluated at its last step; an
/// uninterrupted run only evaluates on the cadence, so that off-cadence eval is dropped.
pub(crate) fn open_metrics(
    run: &RunDir,
    start: usize,
    resume: bool,
    eval_every: usize,
) -> Result<JsonLines> {
    JsonLines::open(run.metrics(), resume, |step, mut v| {
        if step > start {
            Keep::Drop
        } else if step == start && step % eval_every != 0 {
            v.retain(|k, _| !k.starts_with(EVAL_PREFIX));
            Keep::Rewritten(v)
        } else {
            Keep::AsIs
        }
    })
}
