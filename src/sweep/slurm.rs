//! The Slurm backend: the `[slurm]` options of a sweep file, the array job script whose task
//! i runs the i-th listed point (`indu sweep run-point`), submission with
//! `sbatch --parsable`, the record of every submission, and what `squeue` says of the tasks.
use super::Sweep;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use toml::{Table, Value};

/// The resources of each array task and the array's limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlurmOptions {
    /// `--partition` (none: the cluster's default partition).
    pub partition: Option<String>,
    /// `--cpus-per-task` (default 1: a run trains on one thread).
    pub cpus_per_task: usize,
    /// `--mem`, in Slurm's notation (`2G`, `500M`).
    pub mem: String,
    /// `--time`, in Slurm's notation (`01:00:00`, `30`, `1-00:00:00`).
    pub time: String,
    /// The `%M` of `--array=0-K%M`: at most this many tasks at once (none: no limit).
    pub max_parallel: Option<usize>,
    /// More `#SBATCH` lines, as written after `#SBATCH ` (`--qos=short`, `--account=lab`).
    pub extra: Vec<String>,
}

impl Default for SlurmOptions {
    fn default() -> Self {
        SlurmOptions {
            partition: None,
            cpus_per_task: 1,
            mem: "2G".into(),
            time: "01:00:00".into(),
            max_parallel: None,
            extra: Vec::new(),
        }
    }
}

const KEYS: &[&str] = &[
    "partition",
    "cpus_per_task",
    "mem",
    "time",
    "max_parallel",
    "extra",
];

impl SlurmOptions {
    /// Read `[slurm]` of a sweep file.
    pub fn from_table(t: &Table) -> Result<SlurmOptions> {
        let bad = |m: String| Error::Config(format!("sweep: [slurm] {m}"));
        let mut o = SlurmOptions::default();
        for (k, v) in t {
            match (k.as_str(), v) {
                ("partition", Value::String(s)) => o.partition = Some(s.clone()),
                ("mem", Value::String(s)) => o.mem = s.clone(),
                ("time", Value::String(s)) => o.time = s.clone(),
                ("cpus_per_task", Value::Integer(n)) if (1..=4096).contains(n) => {
                    o.cpus_per_task = *n as usize
                }
                ("max_parallel", Value::Integer(n)) if (1..=100_000).contains(n) => {
                    o.max_parallel = Some(*n as usize)
                }
                ("extra", Value::Array(items)) => {
                    o.extra = items
                        .iter()
                        .map(|x| match x {
                            Value::String(s) => {
                                Ok(s.trim_start_matches("#SBATCH").trim().to_string())
                            }
                            other => Err(bad(format!(
                                "extra: expected strings like \"--qos=short\", found {other}"
                            ))),
                        })
                        .collect::<Result<_>>()?
                }
                ("partition" | "mem" | "time", other) => {
                    return Err(bad(format!("{k} = {other}: expected a string")))
                }
                ("cpus_per_task", other) => {
                    return Err(bad(format!(
                        "{k} = {other}: expected a whole number 1..=4096"
                    )))
                }
                ("max_parallel", other) => {
                    return Err(bad(format!(
                        "{k} = {other}: expected a whole number 1..=100000"
                    )))
                }
                ("extra", other) => {
                    return Err(bad(format!(
                        "extra = {other}: expected an array of strings"
                    )))
                }
                (other, _) => {
                    return Err(bad(format!(
                        "unknown key `{other}`: expected {}",
                        KEYS.join(", ")
                    )))
                }
            }
        }
        for (what, s) in [("mem", &o.mem), ("time", &o.time)] {
            if s.is_empty() || s.chars().any(|c| c.is_whitespace()) {
                return Err(bad(format!(
                    "{what} = {s:?}: expected a value like \"2G\" or \"01:00:00\""
                )));
            }
        }
        Ok(o)
    }
}

/// One submitted array job, as `slurm/submissions.jsonl` records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Submission {
    /// The array job id `sbatch --parsable` printed (None for `--dry-run`).
    pub job: Option<String>,
    pub script: PathBuf,
    /// Task i of the array trains point `points[i]`.
    pub points: Vec<usize>,
}

/// The folder of scripts and submissions in a sweep directory.
pub const SLURM_DIR: &str = "slurm";

impl Sweep {
    /// The Slurm log of task `task` of array job `job`.
    pub fn slurm_log(&self, job: &str, task: usize) -> PathBuf {
        self.dir
            .join(super::LOGS)
            .join(format!("slurm-{job}_{task}.out"))
    }

    /// Every submission so far, oldest first.
    pub fn submissions(&self) -> Vec<Submission> {
        let path = self.dir.join(SLURM_DIR).join("submissions.jsonl");
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// The latest submission of each point: (array job id, task index, log path).
    pub fn latest_tasks(&self) -> BTreeMap<usize, (String, usize, PathBuf)> {
        let mut out = BTreeMap::new();
        for s in self.submissions() {
            let Some(job) = &s.job else { continue };
            for (task, &point) in s.points.iter().enumerate() {
                out.insert(point, (job.clone(), task, self.slurm_log(job, task)));
            }
        }
        out
    }

    /// The array job script that trains `points` (task i trains `points[i]`) with `exe`.
    pub fn slurm_script(&self, points: &[usize], exe: &Path) -> Result<String> {
        let o = &self.file.slurm;
        let dir = std::path::absolute(&self.dir).map_err(Error::io(&self.dir))?;
        let logs = dir.join(super::LOGS);
        let mut s = String::from("#!/bin/bash\n");
        let name: String = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "sweep".into());
        let mut sb = |line: String| {
            s.push_str("#SBATCH ");
            s.push_str(&line);
            s.push('\n');
        };
        sb(format!("--job-name=indu-{}", shell_safe_name(&name)));
        let array = format!("--array=0-{}", points.len().saturating_sub(1));
        sb(match o.max_parallel {
            Some(m) => format!("{array}%{m}"),
            None => array,
        });
        sb(format!("--cpus-per-task={}", o.cpus_per_task));
        sb(format!("--mem={}", o.mem));
        sb(format!("--time={}", o.time));
        if let Some(p) = &o.partition {
            sb(format!("--partition={p}"));
        }
        sb(format!(
            "--output={}",
            logs.join("slurm-%A_%a.out").display()
        ));
        for e in &o.extra {
            sb(e.clone());
        }
        s.push_str(
            "# Written by `indu sweep --backend slurm`: array task i trains the i-th point below\n",
        );
        s.push_str("# (indices into the sweep's sweep.toml). Resubmit failed points with `indu sweep resubmit`.\n");
        s.push_str("set -u\n");
        let list: Vec<String> = points.iter().map(|p| p.to_string()).collect();
        s.push_str(&format!("POINTS=({})\n", list.join(" ")));
        s.push_str(&format!(
            "exec {} sweep run-point {} \"${{POINTS[$SLURM_ARRAY_TASK_ID]}}\"\n",
            quote(&exe.to_string_lossy()),
            quote(&dir.to_string_lossy())
        ));
        Ok(s)
    }

    /// Write the array job script for `points` and, unless `dry_run`, submit it with
    /// `sbatch --parsable`; record the submission either way.
    pub fn submit(&self, points: &[usize], exe: &Path, dry_run: bool) -> Result<Submission> {
        if points.is_empty() {
            return Err(Error::Invalid("no points to submit".into()));
        }
        let sdir = self.dir.join(SLURM_DIR);
        let logs = self.dir.join(super::LOGS);
        for d in [&sdir, &logs] {
            std::fs::create_dir_all(d).map_err(Error::io(d))?;
        }
        let n = self.submissions().len();
        let script = sdir.join(format!("array-{n}.sh"));
        crate::report::atomic_write(&script, self.slurm_script(points, exe)?.as_bytes())?;
        let job = if dry_run {
            None
        } else {
            let out = Command::new("sbatch")
                .arg("--parsable")
                .arg(&script)
                .output()
                .map_err(|e| {
                    Error::Invalid(format!(
                        "cannot run sbatch ({e}): is Slurm installed and on PATH?"
                    ))
                })?;
            if !out.status.success() {
                return Err(Error::Invalid(format!(
                    "sbatch refused {}: {}",
                    script.display(),
                    crate::wording::one_line(&String::from_utf8_lossy(&out.stderr))
                )));
            }
            let text = String::from_utf8_lossy(&out.stdout);
            // `--parsable` prints `<job id>` or `<job id>;<cluster>`.
            let id = text.trim().split(';').next().unwrap_or("").to_string();
            if id.is_empty() || !id.chars().all(|c| c.is_ascii_digit()) {
                return Err(Error::Invalid(format!(
                    "sbatch printed {:?}, expected a job id",
                    text.trim()
                )));
            }
            Some(id)
        };
        let sub = Submission {
            job,
            script,
            points: points.to_vec(),
        };
        let path = sdir.join("submissions.jsonl");
        let mut text = std::fs::read_to_string(&path).unwrap_or_default();
        text.push_str(&serde_json::to_string(&sub).map_err(|e| Error::Invalid(e.to_string()))?);
        text.push('\n');
        crate::report::atomic_write(&path, text.as_bytes())?;
        Ok(sub)
    }
}

/// The state Slurm gives each array task it still knows (`<job>_<task>` -> `PENDING`,
/// `RUNNING`, ...), from `squeue -h -r -o "%i %T"`; empty when squeue cannot be run.
pub fn queue() -> BTreeMap<String, String> {
    match Command::new("squeue")
        .args(["-h", "-r", "-o", "%i %T"])
        .output()
    {
        Ok(out) if out.status.success() => parse_queue(&String::from_utf8_lossy(&out.stdout)),
        _ => BTreeMap::new(),
    }
}

/// `squeue -h -r -o "%i %T"` lines as a map. A pending array that squeue still prints as
/// one line (`123_[2-5%2]`) is expanded to its tasks.
pub fn parse_queue(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let mut it = line.split_whitespace();
        let (Some(id), Some(state)) = (it.next(), it.next()) else {
            continue;
        };
        match id.split_once("_[") {
            Some((job, rest)) => {
                let ranges = rest.trim_end_matches(']').split('%').next().unwrap_or("");
                for r in ranges.split(',') {
                    let (a, b) = r.split_once('-').unwrap_or((r, r));
                    if let (Ok(a), Ok(b)) = (a.parse::<usize>(), b.parse::<usize>()) {
                        for t in a..=b.min(a + 100_000) {
                            out.insert(format!("{job}_{t}"), state.to_string());
                        }
                    }
                }
            }
            None => {
                out.insert(id.to_string(), state.to_string());
            }
        }
    }
    out
}

/// What `scontrol -o show job <job>_<task>` says of a task Slurm still remembers:
/// (JobState, exit code). None when scontrol has forgotten it or cannot be run.
pub fn task_end(job_task: &str) -> Option<(String, Option<i32>)> {
    let out = Command::new("scontrol")
        .args(["-o", "show", "job", job_task])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    parse_scontrol(&String::from_utf8_lossy(&out.stdout))
}

/// `JobState=FAILED ... ExitCode=3:0` from one line of `scontrol -o show job`.
pub fn parse_scontrol(line: &str) -> Option<(String, Option<i32>)> {
    let field = |k: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(k).map(str::to_string))
    };
    let state = field("JobState=")?;
    let code = field("ExitCode=").and_then(|c| c.split(':').next().and_then(|x| x.parse().ok()));
    Some((state, code))
}

/// Single-quote a string for bash.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn shell_safe_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_lines_and_scontrol_fields_parse() {
        let q = parse_queue("12_3 RUNNING\n12_[4-6%2] PENDING\n13_0 PENDING\n\n");
        assert_eq!(q["12_3"], "RUNNING");
        assert_eq!(q["12_5"], "PENDING");
        assert_eq!(q.len(), 5);
        let line = "JobId=14 ArrayJobId=12 ArrayTaskId=3 JobName=x JobState=FAILED Reason=NonZeroExitCode Dependency=(null) ExitCode=3:0";
        assert_eq!(parse_scontrol(line), Some(("FAILED".into(), Some(3))));
        assert_eq!(parse_scontrol("garbage"), None);
    }

    #[test]
    fn slurm_options_read_and_refuse() {
        let t: Table = "partition = \"main\"\ncpus_per_task = 2\nmax_parallel = 4\nextra = [\"#SBATCH --qos=short\"]\n".parse().unwrap();
        let o = SlurmOptions::from_table(&t).unwrap();
        assert_eq!(o.partition.as_deref(), Some("main"));
        assert_eq!((o.cpus_per_task, o.max_parallel), (2, Some(4)));
        assert_eq!(o.extra, ["--qos=short"]);
        for bad in [
            "cpus_per_task = 0",
            "mem = 3",
            "nodes = 2",
            "time = \"1 h\"",
            "extra = \"x\"",
        ] {
            let t: Table = bad.parse().unwrap();
            let e = SlurmOptions::from_table(&t).unwrap_err().to_string();
            assert!(e.starts_with("sweep: [slurm] "), "{bad}: {e}");
        }
    }
}
