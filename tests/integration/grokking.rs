//! The modular-addition task end to end on a tiny modulus: a few full-batch steps give a
//! finite loss, summary.json names the grokking steps, every tracked line holds the
//! progress measures, and `plot-dynamics` draws the grokking figures.
use crate::util::{run_ok, tiny_run};
use serde_json::Value;

#[test]
fn a_tiny_modulus_trains_tracks_and_plots() {
    let d = tempfile::tempdir().unwrap();
    let extra = [
        "--set",
        "task.p=11",
        "--set",
        "train.eval_every=5",
        "--set",
        "train.track_every=5",
        "--set",
        "train.checkpoint_every=5",
        "--set",
        "train.stop_when=\"eval_train_acc >= 2\"",
    ];
    let run = tiny_run(d.path(), "modular_addition", 10, "runs/m", &extra);
    let read = |f: &str| std::fs::read_to_string(run.join(f)).unwrap();
    let summary: Value = serde_json::from_str(&read("summary.json")).unwrap();
    let loss = summary["final_train_loss"].as_f64().unwrap();
    assert!(loss.is_finite() && loss > 0.0, "{summary}");
    for k in ["loss", "acc", "train_loss", "train_acc"] {
        assert!(summary["final_eval"][k].is_number(), "{k}: {summary}");
    }
    let steps = &summary["modular_addition"];
    for k in ["train_acc_1", "train_acc_099", "eval_acc_099"] {
        assert!(steps.get(k).is_some(), "{k}: {summary}");
    }
    // Step 0, 5 and 10, each with the measures over the n_freqs(11) = 5 frequencies.
    let lines: Vec<Value> = read("dynamics.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    for l in &lines {
        let g = &l["grokking"];
        assert_eq!(g["embed_fourier_norm"].as_array().unwrap().len(), 6, "{g}");
        assert_eq!(g["key_freqs"].as_array().unwrap().len(), 5, "{g}");
        for k in ["restricted_loss", "excluded_loss"] {
            assert!(g[k].as_f64().is_some_and(f64::is_finite), "{k}: {g}");
        }
    }
    // With all 5 frequencies key, nothing is left out of the `a + b` part, so the restricted
    // loss at step 0 is near ln(11) (a random model's logits hardly depend on a + b).
    let r0 = lines[0]["grokking"]["restricted_loss"].as_f64().unwrap();
    assert!((r0 - 11f64.ln()).abs() < 0.5, "{r0}");
    let out = run_ok(d.path(), &["plot-dynamics", "--run", "runs/m"]);
    assert!(out.contains("held-out accuracy"), "{out}");
    for f in [
        "grokking_accuracy.png",
        "grokking_loss.png",
        "progress_measures.png",
        "embed_fourier.png",
        "embed_fourier_final.png",
    ] {
        let bytes = std::fs::read(run.join("plots").join(f)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "{f}");
    }
}
