//! What a point's process records in `results/<index>.json`: that it started (where, as
//! which Slurm task), then how it ended (exit code, the tail of its stderr, its wall time).
//! Reading a sweep's results needs nothing Slurm-specific.
use super::{Sweep, RESULTS};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Where a point stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Submitted to Slurm, not started yet.
    Pending,
    /// Its process is training.
    Running,
    /// Trained to the end (exit code 0).
    Done,
    /// Its process ended with an error, or was killed before it recorded an end.
    Failed,
    /// Stopped by Ctrl-C (or SIGINT) with a checkpoint saved: `--resume` continues it.
    Interrupted,
    /// Never started (not submitted, or its record is gone).
    Missing,
}

impl State {
    pub const ALL: [State; 6] = [
        State::Done,
        State::Failed,
        State::Running,
        State::Pending,
        State::Missing,
        State::Interrupted,
    ];

    pub fn name(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Running => "running",
            State::Done => "done",
            State::Failed => "failed",
            State::Interrupted => "interrupted",
            State::Missing => "missing",
        }
    }

    /// Whether a resubmission or `--resume` runs this point again.
    pub fn needs_rerun(self) -> bool {
        match self {
            State::Failed | State::Interrupted | State::Missing => true,
            State::Pending | State::Running | State::Done => false,
        }
    }
}

/// The exit code of a training process stopped by Ctrl-C after saving its checkpoint.
pub const INTERRUPTED_EXIT: i32 = 130;

/// One point's record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointResult {
    pub index: usize,
    pub name: String,
    /// `Running` while the process trains; then `Done`, `Failed` or `Interrupted`.
    pub state: State,
    /// The training process's exit code (None while running, or when a signal ended it).
    pub exit_code: Option<i32>,
    /// The signal that ended the training process, if one did.
    pub signal: Option<i32>,
    /// Last lines of the training process's stderr (the error, for a failed run).
    pub stderr_tail: Vec<String>,
    /// Where the point's whole output went.
    pub log: Option<PathBuf>,
    /// Slurm's `<array job>_<task>`, under the Slurm backend.
    pub job: Option<String>,
    /// The host and the process id of the point's runner (to tell a dead one).
    pub host: String,
    pub pid: u32,
    /// Seconds from start to end.
    pub wall_s: Option<f64>,
    /// How many times this point has been started.
    pub attempt: u32,
}

impl PointResult {
    /// A fresh record of a point that is starting now.
    pub fn started(index: usize, name: &str, attempt: u32) -> PointResult {
        PointResult {
            index,
            name: name.to_string(),
            state: State::Running,
            exit_code: None,
            signal: None,
            stderr_tail: Vec::new(),
            log: None,
            job: None,
            host: host_name(),
            pid: std::process::id(),
            wall_s: None,
            attempt,
        }
    }

    /// The last stderr line, or the exit status in words.
    pub fn reason(&self) -> String {
        if let Some(l) = self.stderr_tail.iter().rev().find(|l| !l.trim().is_empty()) {
            return l.trim().to_string();
        }
        match (self.exit_code, self.signal) {
            (Some(c), _) => format!("exit code {c}"),
            (None, Some(s)) => format!("killed by signal {s}"),
            (None, None) => "no exit status recorded".into(),
        }
    }
}

impl Sweep {
    /// The record file of point `index`.
    pub fn result_path(&self, index: usize) -> PathBuf {
        self.dir.join(RESULTS).join(format!("{index}.json"))
    }

    /// Point `index`'s record, if it has one that reads.
    pub fn result(&self, index: usize) -> Option<PointResult> {
        let text = std::fs::read_to_string(self.result_path(index)).ok()?;
        serde_json::from_str(&text).ok()
    }

    /// Write point `r.index`'s record (atomically).
    pub fn record(&self, r: &PointResult) -> Result<()> {
        let dir = self.dir.join(RESULTS);
        std::fs::create_dir_all(&dir).map_err(Error::io(&dir))?;
        let text = serde_json::to_string_pretty(r)
            .map_err(|e| Error::Invalid(format!("cannot write a point's result: {e}")))?;
        crate::report::atomic_write(&self.result_path(r.index), text.as_bytes())
    }
}

/// This machine's host name (empty when it cannot be read).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}
