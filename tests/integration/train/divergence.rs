//! Divergence: a non-finite loss stops training, keeps the last good checkpoint, and leaves
//! nothing when it happens before the first one.
use super::train;
use crate::util::indu;
use std::path::Path;

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
