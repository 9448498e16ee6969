//! Every point's state (`indu sweep status`): its own record first, then, for what the
//! record cannot tell (not started, or started and gone), the scheduler's queue and, on the
//! same host, whether the recorded process still lives.
use super::result::{PointResult, State};
use super::Sweep;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// How Slurm says a task it no longer queues ended: (JobState, exit code), if it knows.
pub type TaskEnd = dyn Fn(&str) -> Option<(String, Option<i32>)>;

/// One point's state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PointStatus {
    pub index: usize,
    pub name: String,
    pub state: State,
    pub exit_code: Option<i32>,
    /// Where the point's output is.
    pub log: Option<PathBuf>,
    /// Slurm's `<array job>_<task>` of its latest submission.
    pub job: Option<String>,
    /// Why a failed point failed (its last stderr line, or what Slurm said).
    pub reason: Option<String>,
    pub wall_s: Option<f64>,
}

/// Every point's state and the count of each state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepStatus {
    pub schema_version: u32,
    pub sweep: PathBuf,
    pub points: Vec<PointStatus>,
    /// Points per state, every state named.
    pub counts: BTreeMap<&'static str, usize>,
}

impl SweepStatus {
    /// The points in `state`.
    pub fn in_state(&self, state: State) -> Vec<usize> {
        self.points
            .iter()
            .filter(|p| p.state == state)
            .map(|p| p.index)
            .collect()
    }
}

impl crate::report::Report for SweepStatus {
    const SCHEMA_VERSION: u32 = 1;
    fn human(&self) -> Vec<String> {
        let mut out = vec![format!(
            "{}: {} points: {}",
            self.sweep.display(),
            self.points.len(),
            State::ALL
                .iter()
                .filter(|s| self.counts[s.name()] > 0)
                .map(|s| format!("{} {}", self.counts[s.name()], s.name()))
                .collect::<Vec<_>>()
                .join(", ")
        )];
        for p in &self.points {
            if matches!(p.state, State::Done) {
                continue;
            }
            let mut line = format!("  {:<11} {}", p.state.name(), p.name);
            if let Some(c) = p.exit_code {
                line.push_str(&format!("  exit code {c}"));
            }
            if let Some(j) = &p.job {
                line.push_str(&format!("  job {j}"));
            }
            if let Some(r) = &p.reason {
                line.push_str(&format!("  {r}"));
            }
            if let Some(l) = &p.log {
                line.push_str(&format!("  log {}", l.display()));
            }
            out.push(line);
        }
        out
    }
}

/// The state of every point of `sweep`, given the scheduler's queue (`slurm::queue()`, or
/// empty for a local sweep) and a way to ask the scheduler how a task it no longer queues
/// ended (`slurm::task_end`).
pub fn status(sweep: &Sweep, queue: &BTreeMap<String, String>, ended: &TaskEnd) -> SweepStatus {
    let tasks = sweep.latest_tasks();
    let host = super::result::host_name();
    let points: Vec<PointStatus> = sweep
        .file
        .points
        .iter()
        .map(|p| {
            let rec = sweep.result(p.index);
            let task = tasks.get(&p.index);
            let job = task.map(|(j, t, _)| format!("{j}_{t}"));
            let queued = job
                .as_ref()
                .and_then(|j| queue.get(j))
                .map(|s| queue_state(s));
            let mut st = PointStatus {
                index: p.index,
                name: p.name.clone(),
                state: State::Missing,
                exit_code: None,
                log: task.map(|(_, _, l)| l.clone()),
                job: job.clone(),
                reason: None,
                wall_s: None,
            };
            // A record of the latest submission (or of a local run) tells the most.
            let current = rec.filter(|r| job.is_none() || r.job == job);
            match (current, queued) {
                (Some(r), q) => from_record(&mut st, r, q, &host, ended),
                (None, Some(q)) => st.state = q,
                (None, None) if job.is_some() => {
                    st.state = State::Failed;
                    let end = job.as_deref().and_then(ended);
                    st.exit_code = end.as_ref().and_then(|e| e.1);
                    st.reason = Some(match end {
                        Some((s, _)) => {
                            format!("ended before it started training (Slurm: {s}); see its log")
                        }
                        None => "ended before it started training; see its log".into(),
                    });
                }
                (None, None) => {}
            }
            st
        })
        .collect();
    let mut counts: BTreeMap<&'static str, usize> =
        State::ALL.iter().map(|s| (s.name(), 0)).collect();
    for p in &points {
        *counts.entry(p.state.name()).or_default() += 1;
    }
    SweepStatus {
        schema_version: 1,
        sweep: sweep.dir.clone(),
        points,
        counts,
    }
}

/// A point's state from its record: final states as recorded; a running record is believed
/// while Slurm queues its task or its process lives, and is a failure otherwise.
fn from_record(
    st: &mut PointStatus,
    r: PointResult,
    queued: Option<State>,
    host: &str,
    ended: &TaskEnd,
) {
    st.exit_code = r.exit_code;
    st.wall_s = r.wall_s;
    if r.log.is_some() {
        st.log = r.log.clone();
    }
    st.state = r.state;
    match r.state {
        State::Failed => st.reason = Some(r.reason()),
        State::Interrupted => st.reason = Some("interrupted; checkpoint saved".into()),
        State::Running => {
            let alive = match (&r.job, queued) {
                (Some(_), Some(_)) => true,
                (Some(_), None) => false,
                (None, _) => r.host != host || pid_alive(r.pid),
            };
            if !alive {
                st.state = State::Failed;
                let end = r.job.as_deref().and_then(ended);
                st.exit_code = end.as_ref().and_then(|e| e.1);
                st.reason = Some(match end {
                    Some((s, _)) => format!("killed before it recorded an end (Slurm: {s})"),
                    None => "its process ended before it recorded an end (killed?)".into(),
                });
            }
        }
        State::Done | State::Pending | State::Missing => {}
    }
}

/// A queue state of squeue as a point state.
fn queue_state(s: &str) -> State {
    match s {
        "RUNNING" | "COMPLETING" | "CONFIGURING" | "STAGE_OUT" | "SIGNALING" => State::Running,
        _ => State::Pending,
    }
}

/// Whether a process with this id exists on this host (and is not a zombie).
fn pid_alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z"),
        Err(_) => false,
    }
}
