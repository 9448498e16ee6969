//! Other ways to train: without the `cuda` feature, from a data file, several seeds as
//! parallel processes, and `--bench`.
use super::train;
use crate::util::{fails, indu, run_ok};

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
            .join(format!("runs/sweep/seed={s}/summary.json"))
            .is_file());
    }
    let a = std::fs::read(dir.path().join("runs/sweep/seed=0/metrics.jsonl")).unwrap();
    let b = std::fs::read(dir.path().join("runs/sweep/seed=1/metrics.jsonl")).unwrap();
    assert_ne!(a, b, "different seeds gave the same run");
    // The seeds are a sweep over `seed`: a run set for the other commands.
    assert!(dir.path().join("runs/sweep/sweep.toml").is_file());
    run_ok(dir.path(), &["sweep", "report", "runs/sweep"]);
    let csv = std::fs::read_to_string(dir.path().join("runs/sweep/sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
}

#[test]
fn seeds_train_on_a_data_file() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    run_ok(
        d,
        &["data", "--task", "induction", "--n", "40", "--out", "d.txt"],
    );
    let seeds = ["train", "--task", "induction", "--seeds", "0,1"];
    run_ok(
        d,
        &[
            &seeds[..],
            &["--steps", "2", "--data", "d.txt", "--out", "sw", "--quiet"],
        ]
        .concat(),
    );
    for s in 0..2 {
        let text = std::fs::read_to_string(d.join(format!("sw/seed={s}/config.toml"))).unwrap();
        assert!(text.contains("seed = "), "{text}");
    }
    let sweep = std::fs::read_to_string(d.join("sw/sweep.toml")).unwrap();
    assert!(
        sweep.contains("d.txt"),
        "the data file is not recorded: {sweep}"
    );
    // A missing data file is refused before anything is written.
    let err = fails(
        d,
        &[&seeds[..], &["--data", "nope.txt", "--out", "sw2"]].concat(),
    );
    assert!(err.contains("nope.txt"), "{err}");
    assert!(!d.join("sw2").exists());
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
    // FLOPs per step, GFLOP/s and the share of the measured 1-core gemm peak.
    for part in ["MFLOP/step", "GFLOP/s |", "1-core gemm peak"] {
        assert!(stdout.contains(part), "{part}: {stdout}");
    }
    assert!(!dir.path().join("runs").exists());
}

#[test]
fn peak_needs_no_task_and_prints_gflops() {
    let dir = tempfile::tempdir().unwrap();
    let out = indu(dir.path()).args(["train", "--peak"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("1-core f32 gemm 512x512x512: best ") && stdout.contains("GFLOP/s"),
        "{stdout}"
    );
    assert!(!dir.path().join("runs").exists());
}

/// `train.threads`: 0 (the presets' default) is one worker per core, recorded in
/// summary.json; a fixed count gives the same metrics on every run; 3 workers train the
/// same model as 1 up to float summation order.
#[test]
fn worker_threads_are_recorded_and_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let summary = |run: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(d.join(run).join("summary.json")).unwrap())
            .unwrap()
    };
    let metrics = |run: &str| std::fs::read_to_string(d.join(run).join("metrics.jsonl")).unwrap();
    crate::util::assert_ok(&train(d, "runs/auto", 4, &[]));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(summary("runs/auto")["threads"], cores as u64);
    for run in ["runs/t3a", "runs/t3b"] {
        crate::util::assert_ok(&train(d, run, 6, &["--set", "train.threads=3"]));
    }
    assert_eq!(summary("runs/t3a")["threads"], 3);
    assert_eq!(metrics("runs/t3a"), metrics("runs/t3b"));
    crate::util::assert_ok(&train(d, "runs/t1", 6, &["--set", "train.threads=1"]));
    let losses = |run: &str| -> Vec<f64> {
        metrics(run)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| v["loss"].as_f64())
            .collect()
    };
    let (one, three) = (losses("runs/t1"), losses("runs/t3a"));
    assert_eq!(one.len(), three.len());
    assert!(!one.is_empty());
    for (a, b) in one.iter().zip(&three) {
        assert!((a - b).abs() <= 1e-4 * a.abs(), "{a} vs {b}");
    }
}
