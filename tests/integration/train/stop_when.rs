//! `[train] stop_when`: a run stops at the first evaluation where the condition holds (its
//! metrics.jsonl ends there, summary.json says so), runs to the end when it never holds,
//! and a bad condition is a one-line config error.
use super::train;
use crate::util::{assert_ok, fails};

fn summary(run: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(run.join("summary.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn last_step(run: &std::path::Path) -> u64 {
    let text = std::fs::read_to_string(run.join("metrics.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(text.lines().last().unwrap()).unwrap();
    assert!(last.get("eval_loss").is_some(), "not an eval line: {last}");
    last["step"].as_u64().unwrap()
}

#[test]
fn a_condition_that_holds_stops_the_run_at_that_evaluation() {
    let dir = tempfile::tempdir().unwrap();
    // Any loss is below 1e6: the condition holds at the first evaluation (step 5 of 20).
    let out = train(
        dir.path(),
        "runs/s",
        20,
        &["--set", "train.stop_when=eval_loss <= 1e6"],
    );
    assert_ok(&out);
    let run = dir.path().join("runs/s");
    assert_eq!(last_step(&run), 5);
    let s = summary(&run);
    assert_eq!(s["stopped_at"], 5);
    assert_eq!(s["steps"], 5);
    assert_eq!(s["stop_when"], "eval_loss <= 1000000");
    assert!(s["flops_per_step"].as_f64().unwrap() > 0.0, "{s}");
    assert!(s["gflops_per_s"].as_f64().unwrap() > 0.0, "{s}");
    // The run saved where it stopped: the model and the checkpoint are there.
    assert!(run.join("model.safetensors").is_file());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("(stopped: eval_loss <= 1000000)"),
        "{stdout}"
    );
}

#[test]
fn a_condition_that_never_holds_runs_to_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let out = train(
        dir.path(),
        "runs/n",
        10,
        &["--set", "train.stop_when=eval_acc >= 2"],
    );
    assert_ok(&out);
    let run = dir.path().join("runs/n");
    assert_eq!(last_step(&run), 10);
    let s = summary(&run);
    assert_eq!(s["stopped_at"], serde_json::Value::Null);
    assert_eq!(s["stop_when"], "eval_acc >= 2");
    assert_eq!(s["steps"], 10);
}

#[test]
fn bad_conditions_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let base = ["train", "--task", "induction", "--steps", "5", "--quiet"];
    let cases = [
        (
            "train.stop_when=eval_det_acc > 0.99",
            "operator `>` is not supported",
        ),
        (
            "train.stop_when=eval_det_acc >= lots",
            "`lots` is not a finite number",
        ),
        ("train.stop_when=det_acc >= 0.99", "not a held-out metric"),
        (
            "train.stop_when=eval_exact_acc >= 0.99",
            "did you mean `eval_det_acc`",
        ),
        ("train.stop_when=0.99", "expected a condition string"),
    ];
    for (set, want) in cases {
        let mut args = base.to_vec();
        args.extend(["--set", set]);
        let err = fails(d, &args);
        assert!(err.contains("train.stop_when"), "{set}: {err}");
        assert!(err.contains(want), "{set}: {err}");
    }
    assert!(
        !d.join("runs").exists(),
        "a failed config left a run behind"
    );
}
