//! The local backend: each point is its own `indu sweep run-point` process (one training
//! thread each), `--jobs` at a time, with a progress bar over runs. A failed point is
//! recorded and the sweep goes on; Ctrl-C sends one SIGINT to every running point (each
//! saves its checkpoint) and leaves the sweep resumable with `indu sweep --resume DIR`.
use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use indu::sweep::result::State;
use indu::sweep::Sweep;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Point `index`'s output file under the local backend.
pub fn log_path(sweep: &Sweep, index: usize) -> PathBuf {
    sweep
        .dir
        .join(indu::sweep::LOGS)
        .join(format!("{index}.log"))
}

/// Run every point that is not done, `jobs` at a time (default: the number of cores).
pub fn run(sweep: &Sweep, jobs: Option<usize>, quiet: bool) -> Result<()> {
    let jobs = jobs
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
        .max(1);
    let n = sweep.file.points.len();
    let done: Vec<bool> = (0..n)
        .map(|i| sweep.result(i).is_some_and(|r| r.state == State::Done))
        .collect();
    let done_before = done.iter().filter(|&&d| d).count();
    let mut pending: Vec<usize> = (0..n).rev().filter(|&i| !done[i]).collect();
    let todo = pending.len();
    let exe = super::exe()?;
    let logs = sweep.dir.join(indu::sweep::LOGS);
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    eprintln!(
        "sweep of {n} runs ({} done before), {jobs} at a time, into {}",
        done_before,
        sweep.dir.display()
    );
    let interrupt = Arc::new(AtomicBool::new(false));
    {
        let flag = interrupt.clone();
        let _ = ctrlc::set_handler(move || {
            if flag.swap(true, Ordering::SeqCst) {
                std::process::exit(130);
            }
        });
    }
    let bar = if quiet || !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(todo as u64)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} runs  {elapsed} elapsed, ETA {eta}  {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let say = |line: String| {
        if bar.is_hidden() {
            if !quiet {
                eprintln!("{line}");
            }
        } else {
            bar.println(line);
        }
    };
    let t0 = Instant::now();
    let mut running: Vec<(usize, Child)> = Vec::new();
    let (mut finished, mut failed, mut interrupted) = (0usize, Vec::new(), Vec::new());
    let mut signalled = false;
    while !running.is_empty() || (!pending.is_empty() && !interrupt.load(Ordering::SeqCst)) {
        while running.len() < jobs && !interrupt.load(Ordering::SeqCst) {
            let Some(i) = pending.pop() else { break };
            running.push((i, spawn(sweep, i, &exe)?));
        }
        if interrupt.load(Ordering::SeqCst) && !signalled {
            signalled = true;
            say(format!(
                "interrupted: stopping {} running point(s); each saves its checkpoint",
                running.len()
            ));
            for (_, c) in &running {
                sigint_group(c);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
        let mut still = Vec::new();
        for (i, mut child) in running {
            let Some(status) = child.try_wait()? else {
                still.push((i, child));
                continue;
            };
            let name = &sweep.file.points[i].name;
            let rec = sweep.result(i);
            match rec.as_ref().map(|r| r.state) {
                Some(State::Done) => {
                    finished += 1;
                    let wall = rec.and_then(|r| r.wall_s).unwrap_or(0.0);
                    say(format!("done {name} ({wall:.1} s)"));
                }
                Some(State::Interrupted) => interrupted.push(i),
                _ if interrupt.load(Ordering::SeqCst) => interrupted.push(i),
                _ => {
                    let why = rec
                        .map(|r| r.reason())
                        .unwrap_or_else(|| format!("{status}"));
                    say(format!(
                        "failed {name}: {why} (log {})",
                        log_path(sweep, i).display()
                    ));
                    failed.push(i);
                }
            }
            bar.inc(1);
            bar.set_message(if failed.is_empty() {
                String::new()
            } else {
                format!("{} failed", failed.len())
            });
        }
        running = still;
    }
    bar.finish_and_clear();
    let secs = t0.elapsed().as_secs_f64();
    let ran = finished + failed.len();
    println!(
        "{ran} runs in {secs:.1}s with {jobs} parallel processes: {:.2} runs/minute; {} done, {} failed{} -> {}",
        indu::train::seeds::runs_per_minute(ran.max(1), secs),
        finished + done_before,
        failed.len(),
        if interrupted.is_empty() { String::new() } else { format!(", {} interrupted", interrupted.len()) },
        sweep.dir.display()
    );
    if interrupt.load(Ordering::SeqCst) {
        eprintln!(
            "interrupted; continue with: indu sweep --resume {}",
            sweep.dir.display()
        );
        std::process::exit(130);
    }
    if !failed.is_empty() {
        bail!(
            "{} of {n} runs failed; see `indu sweep status {}`",
            failed.len(),
            sweep.dir.display()
        );
    }
    Ok(())
}

/// Start point `i`'s process in its own process group (so a Ctrl-C at the terminal reaches
/// only this process, which then signals each point once), output to its log.
fn spawn(sweep: &Sweep, i: usize, exe: &std::path::Path) -> Result<Child> {
    let path = log_path(sweep, i);
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    let err = log
        .try_clone()
        .with_context(|| format!("opening {}", path.display()))?;
    let mut cmd = Command::new(exe);
    cmd.arg("sweep")
        .arg("run-point")
        .arg(&sweep.dir)
        .arg(i.to_string())
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(err);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    cmd.spawn().context("starting a point's process")
}

/// Send SIGINT to the process group a point runs in (its runner and its training process).
fn sigint_group(c: &Child) {
    #[cfg(unix)]
    // SAFETY: kill(2) with a negative pid signals that process group; no memory is touched.
    unsafe {
        libc::kill(-(c.id() as i32), libc::SIGINT);
    }
    #[cfg(not(unix))]
    let _ = c;
}
