//! `indu sweep` end to end on the local backend: a grid of tiny runs, a failing point that
//! is recorded while the rest finish, Ctrl-C and `--resume`, the run-set commands, the
//! report, and bad sweep files.
use crate::util::{fails, indu, run_ok};
use std::path::Path;

/// Tiny runs: few steps, small eval.
const TINY: &[&str] = &[
    "--set",
    "train.eval_every=10",
    "--set",
    "train.eval_size=16",
    "--set",
    "train.batch_size=4",
];

fn status(dir: &Path, sweep: &str) -> serde_json::Value {
    let out = run_ok(dir, &["sweep", "status", sweep, "--json"]);
    serde_json::from_str(&out).unwrap()
}

#[test]
fn a_grid_runs_every_point_and_the_sweep_is_a_run_set() {
    let t = tempfile::tempdir().unwrap();
    let mut args = vec![
        "sweep",
        "--task",
        "induction",
        "--grid",
        "train.lr=1e-3,2e-3",
        "--grid",
        "seed=0..3",
        "--steps",
        "20",
        "--out",
        "sw",
        "--jobs",
        "2",
    ];
    args.extend_from_slice(TINY);
    let out = run_ok(t.path(), &args);
    assert!(out.contains("6 done, 0 failed"), "{out}");
    let sw = t.path().join("sw");
    let text = std::fs::read_to_string(sw.join("sweep.toml")).unwrap();
    for lr in ["1e-3", "2e-3"] {
        for seed in 0..3 {
            let run = sw.join(format!("lr={lr}/seed={seed}"));
            assert!(run.join("summary.json").is_file(), "{}", run.display());
            assert!(text.contains(&format!("lr={lr}/seed={seed}")));
            let cfg = std::fs::read_to_string(run.join("config.toml")).unwrap();
            assert!(cfg.contains(&format!("seed = {seed}")), "{cfg}");
            // Points run side by side as processes, one worker thread each.
            assert!(cfg.contains("threads = 1"), "{cfg}");
            let lr_v = if lr == "1e-3" {
                "lr = 0.001"
            } else {
                "lr = 0.002"
            };
            assert!(cfg.contains(lr_v), "{cfg}");
        }
    }
    // Runs leave `latest` alone inside the sweep; the sweep is the latest.
    assert!(!sw.join("lr=1e-3/latest").exists());
    let st = status(t.path(), "sw");
    assert_eq!(st["counts"]["done"], 6);
    assert_eq!(st["points"].as_array().unwrap().len(), 6);
    // The report: one CSV line per run.
    run_ok(t.path(), &["sweep", "report", "sw"]);
    let csv = std::fs::read_to_string(sw.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 7, "{csv}");
    assert!(csv.lines().next().unwrap().contains("train.lr,seed"));
    // Run-set commands act on every run (or those --where keeps).
    run_ok(t.path(), &["plot-loss", "--run", "sw"]);
    assert!(sw.join("plots/loss.png").is_file());
    let out = run_ok(
        t.path(),
        &[
            "eval",
            "--run",
            "sw",
            "--where",
            "train.lr=2e-3",
            "--n",
            "16",
            "--json",
        ],
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let runs: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["run"].as_str().unwrap())
        .collect();
    assert_eq!(runs.len(), 3, "{runs:?}");
    assert!(runs.iter().all(|r| r.contains("lr=2e-3")), "{runs:?}");
    let e = fails(
        t.path(),
        &["eval", "--run", "sw", "--where", "train.lr=5e-3"],
    );
    assert!(e.contains("takes the values"), "{e}");
    let e = fails(t.path(), &["plot-attn", "--run", "sw"]);
    assert!(e.contains("pass one of its runs"), "{e}");
}

#[test]
fn a_failing_point_is_recorded_the_rest_finish_and_resume_reruns_only_it() {
    let t = tempfile::tempdir().unwrap();
    let sw = t.path().join("sw");
    std::fs::create_dir_all(&sw).unwrap();
    // A file where seed=1's run directory goes: that run cannot start.
    std::fs::write(sw.join("seed=1"), "in the way").unwrap();
    let mut args = vec![
        "sweep",
        "--task",
        "induction",
        "--grid",
        "seed=0..3",
        "--steps",
        "10",
        "--out",
        "sw",
    ];
    args.extend_from_slice(TINY);
    let out = indu(t.path()).args(&args).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("failed seed=1"), "{err}");
    assert!(err.contains("1 of 3 runs failed"), "{err}");
    let st = status(t.path(), "sw");
    assert_eq!(
        (
            st["counts"]["done"].as_u64(),
            st["counts"]["failed"].as_u64()
        ),
        (Some(2), Some(1))
    );
    let p = &st["points"][1];
    assert_eq!(p["state"], "failed");
    assert_eq!(p["exit_code"], 2);
    assert!(p["reason"].as_str().unwrap().contains("is a file"), "{p}");
    let human = run_ok(t.path(), &["sweep", "status", "sw"]);
    assert!(
        human.contains("failed") && human.contains("seed=1"),
        "{human}"
    );
    let before = std::fs::metadata(sw.join("seed=0/summary.json"))
        .unwrap()
        .modified()
        .unwrap();
    std::fs::remove_file(sw.join("seed=1")).unwrap();
    let out = run_ok(t.path(), &["sweep", "--resume", "sw"]);
    assert!(
        out.contains("1 runs in") && out.contains("3 done, 0 failed"),
        "{out}"
    );
    let after = std::fs::metadata(sw.join("seed=0/summary.json"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after, "a finished run was trained again");
    assert_eq!(status(t.path(), "sw")["counts"]["done"], 3);
}

#[test]
fn ctrl_c_leaves_every_run_resumable_and_resume_completes_without_duplicate_lines() {
    let t = tempfile::tempdir().unwrap();
    let bin = assert_cmd::cargo::cargo_bin("indu");
    let child = std::process::Command::new(&bin)
        .current_dir(t.path())
        .args([
            "sweep",
            "--task",
            "induction",
            "--grid",
            "seed=0..4",
            "--steps",
            "3000",
            "--out",
            "sw",
            "--jobs",
            "2",
            "--quiet",
            "--set",
            "train.checkpoint_every=20",
            "--set",
            "train.eval_every=20",
            "--set",
            "train.eval_size=16",
            "--set",
            "train.batch_size=4",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until both first runs have a checkpoint, then interrupt the sweep.
    let sw = t.path().join("sw");
    let t0 = std::time::Instant::now();
    while !(sw.join("seed=0/checkpoint.safetensors").is_file()
        && sw.join("seed=1/checkpoint.safetensors").is_file())
    {
        assert!(t0.elapsed().as_secs() < 120, "no checkpoints appeared");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("indu sweep --resume"), "{err}");
    let st = status(t.path(), "sw");
    assert!(st["counts"]["interrupted"].as_u64().unwrap() >= 1, "{st}");
    assert_eq!(st["counts"]["failed"], 0, "{st}");
    // Finish with fewer steps (the runs' own config keeps 3000): resume each to its end.
    let out = run_ok(t.path(), &["sweep", "--resume", "sw", "--quiet"]);
    assert!(out.contains("4 done, 0 failed"), "{out}");
    for seed in 0..4 {
        let text = std::fs::read_to_string(sw.join(format!("seed={seed}/metrics.jsonl"))).unwrap();
        let mut steps: Vec<(u64, bool)> = text
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (v["step"].as_u64().unwrap(), v.get("loss").is_some())
            })
            .collect();
        let n = steps.len();
        steps.sort();
        steps.dedup();
        assert_eq!(steps.len(), n, "seed={seed}: duplicated metrics lines");
        assert!(sw.join(format!("seed={seed}/summary.json")).is_file());
    }
}

#[test]
fn bad_sweep_files_exit_2_with_one_line() {
    let t = tempfile::tempdir().unwrap();
    let cases = [
        (
            "unknown.toml",
            "task = \"induction\"\n[axes]\n\"train.lrr\" = [1e-3]\n",
            "train.lrr",
        ),
        (
            "empty.toml",
            "task = \"induction\"\n[axes]\nseed = []\n",
            "has no values",
        ),
        (
            "backwards.toml",
            "task = \"induction\"\n[axes]\nseed = \"5..2\"\n",
            "is empty",
        ),
        (
            "type.toml",
            "task = \"induction\"\n[axes]\n\"train.steps\" = [\"many\"]\n",
            "train.steps",
        ),
        (
            "huge.toml",
            "task = \"induction\"\n[axes]\nseed = \"0..100001\"\n",
            "at most 100000",
        ),
        (
            "product.toml",
            "task = \"induction\"\n[axes]\nseed = \"0..50001\"\n\"train.lr\" = [1e-3, 2e-3]\n",
            "100002 points",
        ),
    ];
    for (name, text, want) in cases {
        std::fs::write(t.path().join(name), text).unwrap();
        let e = fails(t.path(), &["sweep", name]);
        assert!(e.contains(want), "{name}: {e}");
        assert!(
            !t.path().join("runs").exists(),
            "{name}: a refused sweep wrote a directory"
        );
    }
    let e = fails(
        t.path(),
        &["sweep", "--task", "induction", "--grid", "train.lr"],
    );
    assert!(e.contains("KEY=V1,V2"), "{e}");
    let e = fails(t.path(), &["sweep", "status", "nowhere"]);
    assert!(e.contains("holds no sweep"), "{e}");
}
