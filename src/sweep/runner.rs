//! Running one point: `indu train` as a child process with the point's config (or `--resume`
//! from its checkpoint), its stderr passed through and its tail kept, and the point's record
//! written before and after. Both backends run a point this way (`indu sweep run-point`).
use super::result::{PointResult, State, INTERRUPTED_EXIT};
use super::Sweep;
use crate::error::{Error, Result};
use std::ffi::OsString;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Lines of stderr a record keeps.
pub const TAIL_LINES: usize = 20;

/// The `indu train` arguments that run point `index`: resume from its checkpoint when it
/// has one, else a fresh run from the base config with the base's and the point's overrides
/// (`--force` over what an earlier attempt left).
pub fn train_args(sweep: &Sweep, index: usize) -> Result<Vec<OsString>> {
    let p = sweep.point(index)?;
    let run = sweep.run(p);
    let mut args: Vec<OsString> = vec!["train".into(), "--quiet".into(), "--no-latest".into()];
    if crate::train::checkpoint::path(&run).is_file() && run.config().is_file() {
        args.extend([
            "--resume".into(),
            "--run".into(),
            run.path.clone().into_os_string(),
        ]);
        return Ok(args);
    }
    args.extend(["--config".into(), sweep.base_file().into_os_string()]);
    // Points run side by side as processes: one worker thread each, unless the sweep says.
    args.extend(["--set".into(), "train.threads=1".into()]);
    for s in sweep.file.set.iter().chain(&p.set) {
        args.extend(["--set".into(), s.into()]);
    }
    if let Some(d) = &sweep.file.data {
        args.extend(["--data".into(), d.clone().into_os_string()]);
    }
    args.extend(["--out".into(), run.path.clone().into_os_string()]);
    if run.path.is_dir() {
        args.push("--force".into());
    }
    Ok(args)
}

/// Where the point runs: the Slurm task (`<array job>_<task>`) and the log file, if known.
#[derive(Debug, Clone, Default)]
pub struct Placement {
    pub job: Option<String>,
    pub log: Option<PathBuf>,
}

/// Train point `index` of `sweep` with the indu executable `exe`, recording its start and
/// its end. Returns the end record; an error only when the record or the process could not
/// be made at all.
pub fn run_point(sweep: &Sweep, index: usize, exe: &Path, at: Placement) -> Result<PointResult> {
    let p = sweep.point(index)?;
    let attempt = sweep.result(index).map_or(0, |r| r.attempt) + 1;
    let mut rec = PointResult::started(index, &p.name, attempt);
    rec.job = at.job;
    rec.log = at.log;
    sweep.record(&rec)?;
    let t0 = Instant::now();
    let args = train_args(sweep, index)?;
    let mut child = Command::new(exe)
        .args(&args)
        .stdin(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::Invalid(format!("cannot start {}: {e}", exe.display())))?;
    let mut tail: Vec<String> = Vec::new();
    if let Some(err) = child.stderr.take() {
        let mut out = std::io::stderr().lock();
        for line in std::io::BufReader::new(err).lines() {
            let Ok(line) = line else { break };
            let _ = writeln!(out, "{line}");
            tail.push(line);
            if tail.len() > TAIL_LINES {
                tail.remove(0);
            }
        }
    }
    let status = child
        .wait()
        .map_err(|e| Error::Invalid(format!("waiting for point {index}'s training: {e}")))?;
    rec.exit_code = status.code();
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        rec.signal = status.signal();
    }
    rec.state = match rec.exit_code {
        Some(0) => State::Done,
        Some(INTERRUPTED_EXIT) => State::Interrupted,
        _ => State::Failed,
    };
    rec.stderr_tail = tail;
    rec.wall_s = Some(t0.elapsed().as_secs_f64());
    sweep.record(&rec)?;
    Ok(rec)
}
