//! Interrupted training: Ctrl-C and SIGKILL then `--resume` end as an uninterrupted run; the
//! run lock refuses a second trainer and is released on every exit.
use super::{resume, train, TINY};
use crate::util::{indu, snapshot};
use std::path::Path;

/// Tracking and snapshots on a cadence that is no multiple of the checkpoints' (every 5),
/// so that a kill leaves lines and snapshots past the last checkpoint for resume to drop.
#[cfg(unix)]
const DYNAMICS: [&str; 4] = [
    "--set",
    "train.track_every=2",
    "--set",
    "train.snapshot_every=7",
];

/// Start `indu train` on `runs/<out>` for `steps` steps (TINY settings) as a child process.
#[cfg(unix)]
fn spawn_train(dir: &Path, out: &str, steps: usize) -> std::process::Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("indu"))
        .current_dir(dir)
        .args(["train", "--task", "induction", "--quiet", "--steps"])
        .arg(steps.to_string())
        .args(["--out", out])
        .args(TINY)
        .args(DYNAMICS)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Wait until `path` holds at least `lines` lines (or 60 s pass).
#[cfg(unix)]
fn wait_for_lines(path: &Path, lines: usize) {
    let t0 = std::time::Instant::now();
    while std::fs::read_to_string(path)
        .map(|t| t.lines().count())
        .unwrap_or(0)
        < lines
        && t0.elapsed().as_secs() < 60
    {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

#[cfg(unix)]
fn signal(child: &std::process::Child, sig: &str) {
    std::process::Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
}

/// Every line of metrics.jsonl (except a torn last one, if allowed) parses; returns the count.
#[cfg(unix)]
fn assert_metrics_parse(path: &Path, allow_torn_last: bool) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        let ok = serde_json::from_str::<serde_json::Value>(l).is_ok();
        let last = i + 1 == lines.len() && !text.ends_with('\n');
        assert!(
            ok || (allow_torn_last && last),
            "line {i} of {}: {l}",
            path.display()
        );
    }
    lines.len()
}

#[cfg(unix)]
const LONG: usize = 300;

/// A run of LONG steps without interruption: what every interrupted run must end as.
#[cfg(unix)]
fn reference(dir: &Path) -> Vec<u8> {
    let out = train(dir, "runs/ref", LONG, &DYNAMICS);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(dir.join("runs/ref/metrics.jsonl")).unwrap()
}

/// `run`'s dynamics.jsonl and snapshots/ are byte for byte the uninterrupted run's.
#[cfg(unix)]
fn assert_dynamics_match_reference(dir: &Path, run: &str) {
    let (want, got) = (dir.join("runs/ref"), dir.join(run));
    let lines = |d: &Path| std::fs::read_to_string(d.join("dynamics.jsonl")).unwrap();
    let (a, b) = (lines(&want), lines(&got));
    assert_eq!(a.lines().count(), LONG / 2 + 1, "step 0 and every 2nd step");
    assert_eq!(a, b, "dynamics.jsonl differs");
    let (a, b) = (
        snapshot(&want.join("snapshots")),
        snapshot(&got.join("snapshots")),
    );
    let names: Vec<_> = a.keys().collect();
    assert_eq!(names.len(), LONG / 7 + 2, "{names:?}");
    let got_names: Vec<_> = b.keys().collect();
    assert_eq!(names, got_names);
    assert!(a == b, "snapshot contents differ");
}

#[cfg(unix)]
#[test]
fn ctrl_c_then_resume_equals_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let reference = reference(d);
    let mut child = spawn_train(d, "runs/i", LONG);
    // Interrupt mid-run, between checkpoints (every 5 steps).
    wait_for_lines(&d.join("runs/i/metrics.jsonl"), 12);
    signal(&child, "-INT");
    let status = child.wait().unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(130), "{err}");
    assert!(
        err.contains("--resume") && err.trim().lines().count() == 1,
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    let n = assert_metrics_parse(&d.join("runs/i/metrics.jsonl"), false);
    assert!(
        n < LONG,
        "the run finished before the interrupt ({n} lines)"
    );
    assert!(!d.join("runs/i/.lock").exists(), "lock left behind");
    // The saved state loads: the model for analysis, the checkpoint for resume.
    indu(d)
        .args(["eval", "--run", "runs/i", "--n", "8"])
        .assert()
        .success();
    let out = resume(d, "runs/i");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = std::fs::read(d.join("runs/i/metrics.jsonl")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&reference),
        String::from_utf8_lossy(&got)
    );
    assert_dynamics_match_reference(d, "runs/i");
}

#[cfg(unix)]
#[test]
fn sigkill_keeps_the_last_checkpoint_and_resume_equals_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let reference = reference(d);
    let mut child = spawn_train(d, "runs/k", LONG);
    wait_for_lines(&d.join("runs/k/metrics.jsonl"), 17);
    signal(&child, "-KILL");
    assert_eq!(child.wait().unwrap().code(), None, "killed by a signal");
    let run = d.join("runs/k");
    let n = assert_metrics_parse(&run.join("metrics.jsonl"), true);
    assert!(n < LONG, "the run finished before the kill");
    // The checkpoint on disk is a whole one (atomic writes) at a multiple of 5.
    let bytes = std::fs::read(run.join("checkpoint.safetensors")).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let step: usize = meta.metadata().as_ref().unwrap()["step"].parse().unwrap();
    assert!(
        step >= 5 && step.is_multiple_of(5),
        "checkpoint at step {step}"
    );
    safetensors::SafeTensors::deserialize(&bytes).unwrap();
    // The dead process's lock file is still there; resume takes it over. A torn last
    // line (a kill mid-write) is dropped on resume.
    assert!(run.join(".lock").exists());
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(run.join("metrics.jsonl"))
        .unwrap();
    std::io::Write::write_all(&mut f, b"{\"step\": 99999, \"lo").unwrap();
    drop(f);
    // A kill mid-snapshot leaves its temp file; one past the checkpoint leaves a whole file.
    let past = run.join(format!("snapshots/step_{:06}.safetensors", step + 1));
    std::fs::write(&past, b"written after the checkpoint").unwrap();
    std::fs::write(run.join("snapshots/.step_000999.safetensors.tmp"), b"torn").unwrap();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(run.join("dynamics.jsonl"))
        .unwrap();
    std::io::Write::write_all(&mut f, b"{\"step\": 99998, \"sco").unwrap();
    drop(f);
    let out = resume(d, "runs/k");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = std::fs::read(run.join("metrics.jsonl")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&reference),
        String::from_utf8_lossy(&got)
    );
    assert_dynamics_match_reference(d, "runs/k");
    assert!(!run.join(".lock").exists());
}

#[cfg(unix)]
#[test]
fn a_second_trainer_is_refused_and_the_lock_is_released_on_every_exit() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut first = spawn_train(d, "runs/l", 100_000);
    wait_for_lines(&d.join("runs/l/metrics.jsonl"), 6);
    let pid = first.id().to_string();
    let lock = std::fs::read_to_string(d.join("runs/l/.lock")).unwrap();
    assert_eq!(lock.trim(), pid);
    for args in [
        vec![
            "train", "--resume", "--run", "runs/l", "--steps", "200000", "--quiet",
        ],
        vec![
            "train",
            "--task",
            "induction",
            "--out",
            "runs/l",
            "--force",
            "--quiet",
        ],
    ] {
        let out = indu(d).args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("in use") && err.contains(&pid), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
    // The refused trainers changed nothing: the first one still trains its own config.
    let cfg = std::fs::read_to_string(d.join("runs/l/config.toml")).unwrap();
    assert!(cfg.contains("steps = 100000"), "{cfg}");
    signal(&first, "-INT");
    assert_eq!(first.wait().unwrap().code(), Some(130));
    assert!(!d.join("runs/l/.lock").exists(), "lock kept after Ctrl-C");
    let done = assert_metrics_parse(&d.join("runs/l/metrics.jsonl"), false);
    // An error after the lock was taken releases it too.
    let out = indu(d)
        .args([
            "train", "--resume", "--run", "runs/l", "--steps", "1", "--quiet",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("beyond train.steps"));
    assert!(!d.join("runs/l/.lock").exists(), "lock kept after an error");
    // A failed resume leaves the config as it was.
    let after = std::fs::read_to_string(d.join("runs/l/config.toml")).unwrap();
    assert_eq!(cfg, after);
    // A stale lock naming a dead process is taken over.
    let mut dead = std::process::Command::new("true").spawn().unwrap();
    dead.wait().unwrap();
    std::fs::write(d.join("runs/l/.lock"), dead.id().to_string()).unwrap();
    let out = indu(d)
        .args(["train", "--resume", "--run", "runs/l", "--quiet", "--steps"])
        .arg((done + 3).to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!d.join("runs/l/.lock").exists());
}
