//! `indu train` through the binary on tiny budgets: run directory contents, determinism,
//! resume, Ctrl-C and SIGKILL against an uninterrupted run, the run lock, divergence, disk
//! space, --force.
use assert_cmd::Command;
use std::path::Path;

fn indu(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("indu").expect("binary built by cargo");
    c.current_dir(dir);
    c
}

const TINY: [&str; 8] = [
    "--set",
    "train.eval_every=5",
    "--set",
    "train.eval_size=32",
    "--set",
    "train.checkpoint_every=5",
    "--set",
    "train.log_every=1",
];

fn train(dir: &Path, out: &str, steps: usize, extra: &[&str]) -> std::process::Output {
    indu(dir)
        .args([
            "train",
            "--task",
            "induction",
            "--quiet",
            "--steps",
            &steps.to_string(),
            "--out",
            out,
        ])
        .args(TINY)
        .args(extra)
        .output()
        .expect("runs")
}

#[test]
fn a_run_directory_holds_everything() {
    let dir = tempfile::tempdir().unwrap();
    let out = train(dir.path(), "runs/a", 10, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = dir.path().join("runs/a");
    for f in [
        "config.toml",
        "model.safetensors",
        "tl_config.json",
        "metrics.jsonl",
        "summary.json",
        "checkpoint.safetensors",
    ] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["steps"], 10);
    assert!(summary["steps_per_s"].as_f64().unwrap() > 0.0);
    assert!(summary["final_eval"]["loss"].as_f64().unwrap() > 0.0);
    let metrics = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    assert_eq!(metrics.lines().count(), 10);
    for l in metrics.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert!(v["loss"].as_f64().unwrap().is_finite());
    }
    // The summary line names the run.
    assert!(String::from_utf8_lossy(&out.stdout).contains("runs/a"));
    // The config re-loads as a config file.
    let again = indu(dir.path())
        .args([
            "train",
            "--config",
            "runs/a/config.toml",
            "--quiet",
            "--out",
            "runs/b",
            "--steps",
            "2",
        ])
        .output()
        .unwrap();
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    // An existing run is not overwritten without --force.
    let clash = train(dir.path(), "runs/a", 2, &[]);
    assert_eq!(clash.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&clash.stderr).contains("--force"));
    assert!(train(dir.path(), "runs/a", 2, &["--force"])
        .status
        .success());
}

#[test]
fn same_seed_gives_byte_identical_metrics_and_resume_matches() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(train(d, "runs/x", 12, &[]).status.success());
    assert!(train(d, "runs/y", 12, &[]).status.success());
    let x = std::fs::read(d.join("runs/x/metrics.jsonl")).unwrap();
    let y = std::fs::read(d.join("runs/y/metrics.jsonl")).unwrap();
    assert_eq!(x, y, "same seed, different metrics");
    assert!(train(d, "runs/s1", 12, &["--seed", "1"]).status.success());
    assert_ne!(x, std::fs::read(d.join("runs/s1/metrics.jsonl")).unwrap());
    // 7 steps (checkpoint at 5, final save at 7), then resume to 12.
    assert!(train(d, "runs/r", 7, &[]).status.success());
    let out = indu(d)
        .args([
            "train", "--resume", "--run", "runs/r", "--steps", "12", "--quiet",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r = std::fs::read(d.join("runs/r/metrics.jsonl")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&x),
        String::from_utf8_lossy(&r),
        "resumed run differs"
    );
}

/// Start `indu train` on `runs/<out>` for `steps` steps (TINY settings) as a child process.
#[cfg(unix)]
fn spawn_train(dir: &Path, out: &str, steps: usize) -> std::process::Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("indu"))
        .current_dir(dir)
        .args(["train", "--task", "induction", "--quiet", "--steps"])
        .arg(steps.to_string())
        .args(["--out", out])
        .args(TINY)
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
fn resume(dir: &Path, run: &str) -> std::process::Output {
    indu(dir)
        .args(["train", "--resume", "--run", run, "--quiet"])
        .output()
        .unwrap()
}

#[cfg(unix)]
const LONG: usize = 300;

/// A run of LONG steps without interruption: what every interrupted run must end as.
#[cfg(unix)]
fn reference(dir: &Path) -> Vec<u8> {
    let out = train(dir, "runs/ref", LONG, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(dir.join("runs/ref/metrics.jsonl")).unwrap()
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

#[test]
fn divergence_keeps_the_last_good_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // A real config that diverges after a few steps: a learning rate so large that decoupled
    // weight decay (p -= lr * wd * p) flips and doubles the matrices every step until the
    // activations overflow. A checkpoint every step, so the update that made the state
    // non-finite is always followed by a save that must be refused.
    let out = train(
        d,
        "runs/n",
        100,
        &[
            "--set",
            "train.lr=2.5",
            "--set",
            "train.weight_decay=1",
            "--set",
            "train.checkpoint_every=1",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let num = |after: &str| -> usize {
        let i = err.find(after).unwrap_or_else(|| panic!("{err}")) + after.len();
        err[i..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap()
    };
    let (at, kept) = (num("at step "), num("the checkpoint of step "));
    assert!(kept < at && at > 1, "{err}");
    let run = d.join("runs/n");
    let bytes = std::fs::read(run.join("checkpoint.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    assert_eq!(meta.metadata().as_ref().unwrap()["step"], kept.to_string());
    for (name, view) in st.tensors() {
        let finite = view
            .data()
            .chunks_exact(4)
            .all(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]).is_finite());
        assert!(finite, "{name} is not finite in the kept checkpoint");
    }
    // The kept model loads and evaluates.
    indu(d)
        .args(["eval", "--run", "runs/n", "--n", "8"])
        .assert()
        .success();
}

#[test]
fn divergence_at_the_first_step_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // Weights of size 1e20 overflow the attention scores at once.
    let out = train(
        dir.path(),
        "runs/n",
        50,
        &["--set", "model.init_range=1e20"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("at step 0") && err.contains("no checkpoint"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(!dir.path().join("runs/n").exists(), "an empty run was left");
    assert!(!dir.path().join("runs/latest").exists());
}

/// A file system too small for the checkpoint is refused before training. Needs a tmpfs
/// mount (root in a container); skipped where mounting is not allowed.
#[cfg(target_os = "linux")]
#[test]
fn too_little_disk_space_is_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mnt = d.join("small");
    std::fs::create_dir(&mnt).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(&mnt)
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !mounted {
        eprintln!("cannot mount a tmpfs here: skipping");
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _guard = Unmount(mnt.clone());
    let out = train(d, "small/run", 5, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("disk space") && err.contains("small/run") && err.contains("MiB"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert_eq!(
        std::fs::read_dir(&mnt).unwrap().count(),
        0,
        "files left on the small disk"
    );
}

/// Mount a tmpfs of `size` at `mnt` (None where mounting is not allowed); unmounted on drop.
#[cfg(target_os = "linux")]
fn small_disk(mnt: &Path, size: &str) -> Option<impl Drop> {
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    std::fs::create_dir_all(mnt).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(mnt)
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    mounted.then(|| Unmount(mnt.to_path_buf()))
}

/// Every file under `dir` with its bytes.
fn files(dir: &Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_path_buf();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// The disk check counts the peak of atomic checkpoint writes (old + new checkpoint and the
/// model at once): a disk that holds one checkpoint and the model but not that peak is
/// refused up front instead of failing mid-run, and a refused `--force` keeps the old run.
#[cfg(target_os = "linux")]
#[test]
fn the_disk_check_counts_the_peak_and_a_refused_force_keeps_the_old_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let Some(_guard) = small_disk(&d.join("mnt"), "60m") else {
        eprintln!("cannot mount a tmpfs here: skipping");
        return;
    };
    // addition: a 38 MB checkpoint and a 13 MB model; 51 MB fit in 60 MB, the peak does not.
    let addition = |out: &str, extra: &[&str]| {
        indu(d)
            .args(["train", "--task", "addition", "--steps", "4", "--quiet"])
            .args(["--set", "train.checkpoint_every=1", "--set"])
            .args(["train.batch_size=4", "--set", "train.eval_every=2"])
            .args(["--set", "train.eval_size=16", "--out", out])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = addition("mnt/run", &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("disk space") && err.contains("mnt/run"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(files(&d.join("mnt")).is_empty(), "files left behind");
    assert!(!d.join("mnt/run").exists());
    // A small run fits; forcing the big one over it is refused and changes nothing.
    assert!(train(d, "mnt/old", 5, &[]).status.success());
    indu(d)
        .args(["eval", "--run", "mnt/old", "--n", "8"])
        .assert()
        .success();
    let before = files(&d.join("mnt/old"));
    let out = addition("mnt/old", &["--force"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("disk space"), "{err}");
    assert_eq!(files(&d.join("mnt/old")), before, "the old run was changed");
}

/// `runs/latest` only moves once training starts: a resume that cannot start leaves it.
#[cfg(unix)]
#[test]
fn a_failed_resume_leaves_latest_alone() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(train(d, "runs/a", 3, &[]).status.success());
    let latest = || std::fs::read_link(d.join("runs/latest")).unwrap();
    assert_eq!(latest(), Path::new("a"));
    // A run directory with a config but no checkpoint.
    std::fs::create_dir(d.join("runs/b")).unwrap();
    std::fs::copy(d.join("runs/a/config.toml"), d.join("runs/b/config.toml")).unwrap();
    let out = indu(d)
        .args(["train", "--resume", "--run", "runs/b", "--quiet"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("no checkpoint"), "{err}");
    assert_eq!(
        latest(),
        Path::new("a"),
        "latest moved to a run that never started"
    );
    // A resume that starts does move it.
    assert!(train(d, "runs/c", 3, &[]).status.success());
    assert_eq!(latest(), Path::new("c"));
    let out = indu(d)
        .args([
            "train", "--resume", "--run", "runs/a", "--steps", "5", "--quiet",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(latest(), Path::new("a"));
}

/// A fresh run that diverges after writing metrics but before its first checkpoint holds no
/// model: it is removed and `runs/latest` keeps pointing at the previous run.
#[cfg(unix)]
#[test]
fn divergence_before_the_first_checkpoint_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(train(d, "runs/a", 3, &[]).status.success());
    let out = train(
        d,
        "runs/n",
        100,
        &[
            "--set",
            "train.lr=2.5",
            "--set",
            "train.weight_decay=1",
            "--set",
            "train.checkpoint_every=10",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let at = err.find("at step ").unwrap_or_else(|| panic!("{err}"));
    let step: usize = err[at + 8..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap();
    // It got past the first metrics lines (so this is not the step-0 case) and no further
    // than the first checkpoint.
    assert!((1..=10).contains(&step), "{err}");
    assert!(err.contains("no checkpoint"), "{err}");
    assert!(!d.join("runs/n").exists(), "a run without a model was left");
    assert_eq!(
        std::fs::read_link(d.join("runs/latest")).unwrap(),
        Path::new("a")
    );
}

/// `--force` clears every file indu writes into a run (analysis outputs and figures too),
/// and only those.
#[test]
fn force_clears_every_file_indu_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(train(d, "runs/f", 6, &[]).status.success());
    assert!(train(d, "runs/fresh", 6, &[]).status.success());
    let commands: [&[&str]; 10] = [
        &["eval", "--n", "16"],
        &["sample", "-n", "2"],
        &["detect-heads", "--batch", "4"],
        &["plot-attn"],
        &["plot-attn", "--layer", "1"],
        &["plot-loss"],
        &["cache", "--hooks", "*", "--probe"],
        &["circuits"],
        &["ablate", "--heads", "1.0", "--batch", "4"],
        &["attribute", "--batch", "4"],
    ];
    for args in commands {
        let out = indu(d)
            .args(args)
            .args(["--run", "runs/f"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::write(d.join("runs/f/notes.txt"), "mine").unwrap();
    std::fs::write(d.join("runs/f/plots/mine.png"), "mine").unwrap();
    let names = |p: &str| -> Vec<std::path::PathBuf> { files(&d.join(p)).into_keys().collect() };
    let written = names("runs/f");
    assert!(written.len() > names("runs/fresh").len() + 8, "{written:?}");
    assert!(train(d, "runs/f", 6, &["--force"]).status.success());
    let mut expected = names("runs/fresh");
    expected.push("notes.txt".into());
    expected.push("plots/mine.png".into());
    expected.sort();
    assert_eq!(names("runs/f"), expected);
}

#[cfg(not(feature = "cuda"))]
#[test]
fn cuda_without_the_feature_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = train(dir.path(), "runs/c", 2, &["--device", "cuda"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--features cuda"), "{err}");
    assert!(
        !dir.path().join("runs/c").exists(),
        "a run dir was left behind"
    );
}

#[test]
fn trains_from_a_data_file_and_holds_out_its_tail() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = indu(d)
        .args([
            "data",
            "--task",
            "induction",
            "--n",
            "200",
            "--out",
            "strings.txt",
        ])
        .output()
        .unwrap();
    assert!(data.status.success());
    let out = train(d, "runs/f", 4, &["--data", "strings.txt"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(d.join("broken.txt"), "abc\n").unwrap();
    let bad = train(d, "runs/g", 4, &["--data", "broken.txt"]);
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{err}");
    assert!(
        err.contains("broken.txt") && err.contains("line 1"),
        "{err}"
    );
}

#[test]
fn seeds_run_as_parallel_processes() {
    let dir = tempfile::tempdir().unwrap();
    let out = indu(dir.path())
        .args([
            "train",
            "--task",
            "skip_trigrams",
            "--seeds",
            "0..3",
            "--steps",
            "3",
            "--out",
            "runs/sweep",
        ])
        .args(["--set", "train.eval_size=16", "--set", "train.eval_every=3"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("runs/minute"), "{stdout}");
    for s in 0..3 {
        assert!(dir
            .path()
            .join(format!("runs/sweep/seed{s}/summary.json"))
            .is_file());
    }
    let a = std::fs::read(dir.path().join("runs/sweep/seed0/metrics.jsonl")).unwrap();
    let b = std::fs::read(dir.path().join("runs/sweep/seed1/metrics.jsonl")).unwrap();
    assert_ne!(a, b, "different seeds gave the same run");
}

#[test]
fn bench_prints_a_median_and_writes_no_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = indu(dir.path())
        .args(["train", "--task", "skip_trigrams", "--bench", "3"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("median") && stdout.contains("ms/step"),
        "{stdout}"
    );
    assert!(!dir.path().join("runs").exists());
}
