//! The binary's contract: help and version, `indu data` for every task, and bad input
//! (exit 2, one line on stderr, no panic, no partial file).
use crate::util::{fails, indu};

const TASKS: [&str; 5] = [
    "induction",
    "permutations",
    "addition",
    "skip_trigrams",
    "repeated",
];

#[test]
fn help_lists_every_command_with_examples() {
    let dir = tempfile::tempdir().unwrap();
    let out = indu(dir.path()).arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for c in [
        "train",
        "detect-heads",
        "plot-attn",
        "plot-loss",
        "eval",
        "sample",
        "data",
        "cache",
        "circuits",
        "ablate",
        "attribute",
    ] {
        // Listed as a command: the name at the start of a line of the command table.
        assert!(
            text.lines()
                .any(|l| l.trim_start().starts_with(&format!("{c} "))),
            "--help lacks {c}"
        );
        let sub = indu(dir.path()).args([c, "--help"]).output().unwrap();
        assert!(sub.status.success(), "{c} --help failed");
        assert!(
            String::from_utf8_lossy(&sub.stdout).contains("Examples"),
            "{c} --help has no examples"
        );
    }
}

#[test]
fn version_prints_the_crate_version() {
    let dir = tempfile::tempdir().unwrap();
    let out = indu(dir.path()).arg("--version").output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn data_writes_every_task_in_both_formats() {
    let dir = tempfile::tempdir().unwrap();
    for t in TASKS {
        indu(dir.path())
            .args(["data", "--task", t, "--n", "7"])
            .assert()
            .success();
        let text = std::fs::read_to_string(dir.path().join(format!("data/{t}.txt"))).unwrap();
        assert_eq!(text.lines().count(), 7, "{t}");
        let out = indu(dir.path())
            .args([
                "data", "--task", t, "--n", "3", "--format", "jsonl", "--out", "-",
            ])
            .output()
            .unwrap();
        assert!(out.status.success());
        let s = String::from_utf8_lossy(&out.stdout);
        assert_eq!(s.lines().count(), 3);
        for line in s.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(
                v["tokens"].as_array().unwrap().len(),
                v["mask"].as_array().unwrap().len()
            );
            assert!(v["text"].is_string());
        }
    }
}

#[test]
fn induction_data_is_makemore_format() {
    let dir = tempfile::tempdir().unwrap();
    let out = indu(dir.path())
        .args(["data", "--task", "induction", "--n", "50", "--out", "-"])
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    for line in s.lines() {
        assert_eq!(line.len(), 31, "{line}");
        assert!(line.chars().all(|c| c.is_ascii_lowercase()), "{line}");
    }
    // Same seed -> same file; another seed -> another file.
    let again = indu(dir.path())
        .args(["data", "--task", "induction", "--n", "50", "--out", "-"])
        .output()
        .unwrap();
    assert_eq!(out.stdout, again.stdout);
    let other = indu(dir.path())
        .args([
            "data",
            "--task",
            "induction",
            "--n",
            "50",
            "--seed",
            "1",
            "--out",
            "-",
        ])
        .output()
        .unwrap();
    assert_ne!(out.stdout, other.stdout);
}

#[test]
fn bad_input_exits_2_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let e = fails(d, &["data", "--task", "inductoin"]);
    assert!(
        e.contains("induction") && e.contains("skip_trigrams"),
        "{e}"
    );
    let e = fails(d, &["data", "--task", "induction", "--n", "0"]);
    assert!(e.contains("--n"), "{e}");
    let e = fails(
        d,
        &[
            "data",
            "--task",
            "permutations",
            "--set",
            "task.n_symbols=9",
        ],
    );
    assert!(e.contains("n_symbols") && e.contains('9'), "{e}");
    let e = fails(
        d,
        &["train", "--task", "induction", "--set", "train.lrr=1e-3"],
    );
    assert!(e.contains("lrr") && e.contains("`lr`"), "{e}");
    let e = fails(
        d,
        &["train", "--task", "induction", "--set", "model.n_heads=0"],
    );
    assert!(e.contains("model.n_heads"), "{e}");
    let e = fails(d, &["train", "--task", "induction", "--set", "train.lr=-1"]);
    assert!(e.contains("train.lr"), "{e}");
    let e = fails(
        d,
        &["train", "--task", "induction", "--set", "model.n_ctx=8"],
    );
    assert!(e.contains("n_ctx") && e.contains("32"), "{e}");
    let e = fails(
        d,
        &["train", "--task", "induction", "--set", "model.d_vocab=5"],
    );
    assert!(e.contains("d_vocab"), "{e}");
    fails(
        d,
        &[
            "train",
            "--task",
            "induction",
            "--set",
            "train.batch_size=0",
        ],
    );
    fails(d, &["train", "--task", "induction", "--steps", "-5"]);
    fails(
        d,
        &[
            "train",
            "--task",
            "induction",
            "--steps",
            "99999999999999999999999",
        ],
    );
    fails(d, &["train", "--task", "induction", "--device", "tpu"]);
    for e in [
        fails(d, &["detect-heads"]),
        fails(d, &["plot-attn"]),
        fails(d, &["eval"]),
    ] {
        assert!(e.contains("no run found"), "{e}");
    }
    std::fs::write(d.join("afile"), "x").unwrap();
    let e = fails(d, &["detect-heads", "--run", "afile"]);
    assert!(e.contains("afile"), "{e}");
    let e = fails(d, &["detect-heads", "--run", "nowhere"]);
    assert!(e.contains("nowhere"), "{e}");
    std::fs::write(d.join("bad.toml"), "[task\nname=").unwrap();
    let e = fails(d, &["train", "--config", "bad.toml"]);
    assert!(e.contains("bad.toml"), "{e}");
}

#[cfg(unix)]
#[test]
fn unwritable_out_leaves_no_partial_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    // Root ignores permissions; only check when the directory really is read-only.
    if std::fs::write(ro.join("probe"), "x").is_ok() {
        return;
    }
    let e = fails(
        dir.path(),
        &[
            "data", "--task", "addition", "--n", "5", "--out", "ro/x.txt",
        ],
    );
    assert!(e.contains("ro/x.txt"), "{e}");
    assert_eq!(std::fs::read_dir(&ro).unwrap().count(), 0);
}

/// An error that comes after the run was opened names the run, even when the user did not
/// (the newest run, `runs/latest`), and exactly once when the message already does.
#[test]
fn errors_after_opening_a_run_name_it() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    crate::util::tiny_run(d, "induction", 2, "runs/first", &[]);
    let err = crate::util::fails(d, &["plot-attn", "--layer", "9"]);
    assert!(
        err.contains("--layer 9") && err.contains("runs/first"),
        "{err}"
    );
    let err = crate::util::fails(d, &["plot-attn", "--run", "runs/first", "--text", "ab%"]);
    assert!(
        err.contains("'%'") && err.contains("(run runs/first)"),
        "{err}"
    );
    assert_eq!(err.matches("runs/first").count(), 1, "{err}");
}
