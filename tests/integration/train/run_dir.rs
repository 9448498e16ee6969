//! What a run directory holds, determinism and resume, `runs/latest`, and `--force`.
use super::train;
use crate::util::{fails, indu, run_ok, snapshot, tiny_run, Entry};
use std::path::Path;

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
    let names = |p: &str| -> Vec<std::path::PathBuf> {
        let all = snapshot(&d.join(p)).into_iter();
        all.filter(|(_, e)| *e != Entry::Dir)
            .map(|(p, _)| p)
            .collect()
    };
    let written = names("runs/f");
    assert!(written.len() > names("runs/fresh").len() + 8, "{written:?}");
    assert!(train(d, "runs/f", 6, &["--force"]).status.success());
    let mut expected = names("runs/fresh");
    expected.push("notes.txt".into());
    expected.push("plots/mine.png".into());
    expected.sort();
    assert_eq!(names("runs/f"), expected);
}

#[test]
fn nothing_to_train_is_said_and_resume_takes_the_runs_own_task() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let err = fails(
        d,
        &["train", "--task", "induction", "--steps", "0", "--out", "z"],
    );
    assert!(err.contains("nothing to train"), "{err}");
    assert!(!d.join("z").exists());
    tiny_run(d, "induction", 3, "r", &["--set", "train.eval_every=3"]);
    let err = fails(d, &["train", "--resume", "--run", "r"]);
    assert!(
        err.contains("nothing to resume") && err.contains("--steps"),
        "{err}"
    );
    // The run's own task is accepted, another is refused by name.
    let err = fails(
        d,
        &["train", "--resume", "--run", "r", "--task", "addition"],
    );
    assert!(err.contains("induction run"), "{err}");
    let out = run_ok(
        d,
        &[
            "train",
            "--resume",
            "--run",
            "r",
            "--task",
            "induction",
            "--steps",
            "5",
            "--quiet",
        ],
    );
    assert!(out.contains("5 steps"), "{out}");
    // A config file: the one the run wrote is accepted, a changed one is not.
    std::fs::copy(d.join("r/config.toml"), d.join("same.toml")).unwrap();
    let out = run_ok(
        d,
        &[
            "train",
            "--resume",
            "--run",
            "r",
            "--config",
            "same.toml",
            "--steps",
            "6",
            "--quiet",
        ],
    );
    assert!(out.contains("6 steps"), "{out}");
    let changed = std::fs::read_to_string(d.join("same.toml"))
        .unwrap()
        .replace("lr = 0.0005", "lr = 0.002");
    std::fs::write(d.join("other.toml"), changed).unwrap();
    let err = fails(
        d,
        &[
            "train",
            "--resume",
            "--run",
            "r",
            "--config",
            "other.toml",
            "--steps",
            "7",
        ],
    );
    assert!(err.contains("another config"), "{err}");
}
