//! Training dynamics through the binary: `dynamics.jsonl` (deterministic, one line per
//! tracked step, shaped like the model), snapshots and `--step`, `ablate_heads` during
//! training, and the bad values of the new keys.
use crate::util::{fails, indu, run_ok, tiny_run};
use indu::dynamics::read_lines;
use std::path::Path;

const SMALL: [&str; 6] = [
    "--set",
    "train.eval_every=5",
    "--set",
    "train.eval_size=32",
    "--set",
    "train.checkpoint_every=10",
];

fn lines(run: &Path) -> Vec<indu::dynamics::DynamicsLine> {
    read_lines(&run.join("dynamics.jsonl")).unwrap()
}

#[test]
fn tracked_lines_are_deterministic_and_shaped_like_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let a = tiny_run(d, "induction", 12, "runs/a", &SMALL);
    let b = tiny_run(d, "induction", 12, "runs/b", &SMALL);
    let text = std::fs::read_to_string(a.join("dynamics.jsonl")).unwrap();
    assert_eq!(
        text,
        std::fs::read_to_string(b.join("dynamics.jsonl")).unwrap(),
        "same seed, same dynamics"
    );
    let got = lines(&a);
    // Tracked at step 0, every eval_every (the default cadence) and the last step.
    let steps: Vec<usize> = got.iter().map(|l| l.step).collect();
    assert_eq!(steps, [0, 5, 10, 12]);
    for l in &got {
        for variants in l.scores.values() {
            assert_eq!(variants.len(), 2, "with and without BOS");
            for s in variants.values() {
                assert_eq!((s.len(), s[0].len()), (2, 1), "[layer][head]");
            }
        }
        assert_eq!(l.scores.len(), 5, "every detector");
        assert_eq!(l.tl_detect_head.len(), 3, "TL's three head kinds");
        assert_eq!(l.loss_by_pos.len(), 32, "n_ctx positions");
        assert_eq!(l.copying.len(), 2);
        assert_eq!(l.composition.len(), 1, "one earlier -> later pair");
        let pair = &l.composition[0];
        assert_eq!((pair.earlier.as_str(), pair.later.as_str()), ("0.0", "1.0"));
        for c in [pair.q, pair.k, pair.v] {
            assert!((0.0..=1.0).contains(&c), "{c}");
        }
        let parts: Vec<&str> = l.param_norm.keys().map(String::as_str).collect();
        assert_eq!(parts, ["blocks.0", "blocks.1", "embed", "unembed"]);
        for k in ["loss", "acc", "det_acc"] {
            assert!(l.metrics[k].is_some(), "{k}");
        }
        assert!(l.icl.is_some());
    }
    // The line's loss and metrics at an eval step are metrics.jsonl's.
    let metrics = std::fs::read_to_string(a.join("metrics.jsonl")).unwrap();
    let at10: serde_json::Value = metrics
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["step"] == 10)
        .unwrap();
    let line10 = got.iter().find(|l| l.step == 10).unwrap();
    assert_eq!(
        at10["eval_loss"].as_f64(),
        line10.metrics["loss"],
        "the tracked metrics are the step's evaluation"
    );
    // Training changes the weights: the step-0 line differs from the last.
    assert_ne!(got[0].param_norm, got[3].param_norm);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(a.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["tracking"]["track_every"], 5);
    assert_eq!(
        summary["tracking"]["icl_positions"],
        serde_json::json!([3, 30])
    );
}

#[test]
fn tracking_off_writes_no_dynamics_and_a_custom_cadence_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut off = SMALL.to_vec();
    off.extend(["--set", "train.track_every=0"]);
    let run = tiny_run(d, "induction", 6, "runs/off", &off);
    assert!(!run.join("dynamics.jsonl").exists());
    let mut three = SMALL.to_vec();
    three.extend(["--set", "train.track_every=3"]);
    let run = tiny_run(d, "skip_trigrams", 7, "runs/three", &three);
    let steps: Vec<usize> = lines(&run).iter().map(|l| l.step).collect();
    assert_eq!(steps, [0, 3, 6, 7]);
}

#[test]
fn step_opens_the_latest_snapshot_at_or_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut args = SMALL.to_vec();
    args.extend(["--set", "train.snapshot_every=10"]);
    let run = tiny_run(d, "induction", 25, "runs/s", &args);
    let names: Vec<String> = std::fs::read_dir(run.join("snapshots"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(
        names,
        [
            "step_000000.safetensors",
            "step_000010.safetensors",
            "step_000020.safetensors",
            "tl_config.json"
        ]
    );
    // --step 17 means the snapshot of step 10; the stderr line names it and the outputs go
    // beside it.
    let out = indu(d)
        .args([
            "eval", "--run", "runs/s", "--step", "17", "--n", "64", "--json",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("at step 10") && err.contains("--step 17"),
        "{err}"
    );
    assert!(run.join("snapshots/step_000010/eval.json").is_file());
    let at = |step: &str| -> f64 {
        let out = run_ok(
            d,
            &[
                "eval", "--run", "runs/s", "--step", step, "--n", "64", "--json",
            ],
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        v["metrics"]["loss"].as_f64().unwrap()
    };
    // The snapshot is the model of that step: step 0's loss is the untrained model's
    // (about ln 27), later snapshots lower; --step 25 (the end) is the final model.
    let (l0, l10, l25) = (at("0"), at("10"), at("25"));
    assert!((l0 - 27f64.ln()).abs() < 0.2, "{l0}");
    assert!(l10 < l0, "{l10} vs {l0}");
    let final_loss: serde_json::Value = serde_json::from_str(&run_ok(
        d,
        &["eval", "--run", "runs/s", "--n", "64", "--json"],
    ))
    .unwrap();
    assert_eq!(final_loss["metrics"]["loss"].as_f64().unwrap(), l25);
    assert_eq!(at("19"), l10);
    // A model TransformerLens cannot load (the repeated preset's doubled residual) keeps
    // snapshots too, without a tl_config.json.
    let mut rep = SMALL.to_vec();
    rep.extend(["--set", "train.snapshot_every=2"]);
    let r = tiny_run(d, "repeated", 3, "runs/rep", &rep);
    assert!(r.join("snapshots/step_000002.safetensors").is_file());
    assert!(!r.join("snapshots/tl_config.json").exists());
    // Past the run, and a run without snapshots: one clear line each.
    let e = fails(d, &["detect-heads", "--run", "runs/s", "--step", "26"]);
    assert!(e.contains("beyond the run"), "{e}");
    tiny_run(d, "induction", 3, "runs/none", &SMALL);
    let e = fails(d, &["plot-attn", "--run", "runs/none", "--step", "1"]);
    assert!(e.contains("snapshot_every"), "{e}");
}

#[test]
fn ablated_heads_are_recorded_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut args = SMALL.to_vec();
    args.extend(["--set", "train.ablate_heads=[\"0.0\"]"]);
    let run = tiny_run(d, "induction", 10, "runs/ab", &args);
    let cfg = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(cfg.contains("ablate_heads = [\"0.0\"]"), "{cfg}");
    let summary = std::fs::read_to_string(run.join("summary.json")).unwrap();
    assert!(summary.contains("\"ablate_heads\""), "{summary}");
    // The saved model computes what was trained: the ablated head's W_O is zero, the other
    // heads' is not.
    let bytes = std::fs::read(run.join("model.safetensors")).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let norm = |name: &str| -> f32 {
        st.tensor(name)
            .unwrap()
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]).powi(2))
            .sum()
    };
    assert_eq!(norm("blocks.0.attn.W_O"), 0.0);
    assert!(norm("blocks.1.attn.W_O") > 0.0);
    // An unablated run of the same seed trains a different model.
    let plain = tiny_run(d, "induction", 10, "runs/plain", &SMALL);
    assert_ne!(
        std::fs::read(plain.join("metrics.jsonl")).unwrap(),
        std::fs::read(run.join("metrics.jsonl")).unwrap()
    );
}

#[test]
fn bad_tracking_values_exit_2_with_one_line_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (set, want) in [
        ("train.track_every=-1", "whole number"),
        ("train.snapshot_every=-5", "whole number"),
        ("train.ablate_heads=[\"2.0\"]", "unknown head 2.0"),
        ("train.ablate_heads=[\"x\"]", "is not a head"),
        ("train.ablate_heads=\"0.0\"", "an array of strings"),
        ("train.ablate_heads=[1]", "an array of strings"),
    ] {
        let e = fails(
            d,
            &[
                "train",
                "--task",
                "induction",
                "--out",
                "runs/bad",
                "--set",
                set,
            ],
        );
        assert!(e.contains(want), "{set}: {e}");
        assert!(!d.join("runs/bad").exists(), "{set}: left a run behind");
    }
}
