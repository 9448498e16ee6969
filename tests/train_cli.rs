//! `indu train` through the binary on tiny budgets: run directory contents, determinism,
//! resume, the run lock, Ctrl-C, divergence, --force.
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

#[cfg(unix)]
#[test]
fn ctrl_c_saves_a_checkpoint_that_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bin = assert_cmd::cargo::cargo_bin("indu");
    let child = std::process::Command::new(&bin)
        .current_dir(d)
        .args([
            "train",
            "--task",
            "induction",
            "--quiet",
            "--steps",
            "100000",
            "--out",
            "runs/i",
        ])
        .args(TINY)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the first checkpoint, then interrupt.
    let ckpt = d.join("runs/i/checkpoint.safetensors");
    let t0 = std::time::Instant::now();
    while !ckpt.exists() && t0.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("--resume"));
    let metrics = std::fs::read_to_string(d.join("runs/i/metrics.jsonl")).unwrap();
    for l in metrics.lines() {
        serde_json::from_str::<serde_json::Value>(l).unwrap();
    }
    assert!(!d.join("runs/i/.lock").exists(), "lock left behind");
    let st = indu(d)
        .args([
            "train", "--resume", "--run", "runs/i", "--steps", "20", "--quiet",
        ])
        .output()
        .unwrap();
    // A checkpoint past step 20 is refused clearly; otherwise it finishes.
    assert!(
        matches!(st.status.code(), Some(0) | Some(2)),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
}

#[test]
fn a_locked_run_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert!(train(d, "runs/l", 2, &[]).status.success());
    // Our own test process is alive: pretend it holds the lock.
    std::fs::write(d.join("runs/l/.lock"), std::process::id().to_string()).unwrap();
    let out = indu(d)
        .args([
            "train", "--resume", "--run", "runs/l", "--steps", "4", "--quiet",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("in use"));
}

#[test]
fn divergence_stops_with_the_step() {
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
    assert!(!dir.path().join("runs/n/model.safetensors").exists());
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
