//! The analysis commands through the binary on a real model: the TransformerLens-trained
//! induction fixture (2 layers x 1 head, the induction preset's shape) placed in a run
//! directory, plus a tiny freshly trained run.
use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn indu(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("indu").expect("binary built by cargo");
    c.current_dir(dir);
    c
}

/// A run directory holding the trained TL fixture weights and the induction preset config.
fn fixture_run(dir: &Path) -> PathBuf {
    let run = dir.join("runs/fixture");
    std::fs::create_dir_all(&run).unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tl");
    std::fs::copy(
        fixtures.join("trained_induction_2l1h.weights.safetensors"),
        run.join("model.safetensors"),
    )
    .unwrap();
    let cfg = indu::config::RunConfig::preset(indu::tasks::Task::Induction, &[]).unwrap();
    std::fs::write(run.join("config.toml"), cfg.to_toml().unwrap()).unwrap();
    run
}

fn png_ok(path: &Path, min_w: u32) {
    let img = image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8();
    assert!(
        img.width() >= min_w,
        "{}: width {}",
        path.display(),
        img.width()
    );
    let mut colours: Vec<[u8; 3]> = img.pixels().map(|p| p.0).collect();
    colours.sort_unstable();
    colours.dedup();
    assert!(
        colours.len() > 20,
        "{} looks blank ({} colours)",
        path.display(),
        colours.len()
    );
}

#[test]
fn detect_heads_flags_the_trained_induction_head() {
    let dir = tempfile::tempdir().unwrap();
    let run = fixture_run(dir.path());
    let out = indu(dir.path())
        .args(["detect-heads", "--run", "runs/fixture"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // The probe of 50 x 2 does not fit n_ctx 32: a note says what was used.
    assert!(
        stderr.contains("n_ctx = 32") && stderr.contains("T = 15"),
        "{stderr}"
    );
    let file: indu::analysis::HeadsFile =
        serde_json::from_str(&std::fs::read_to_string(run.join("heads.json")).unwrap()).unwrap();
    assert_eq!(file.schema_version, 1);
    let ind = file
        .report
        .scores
        .get(
            indu::detect::Detector::Induction,
            indu::detect::Variant::WithBos,
        )
        .unwrap();
    assert!(ind[1][0] > 0.5, "layer-1 induction score {}", ind[1][0]);
    assert!(ind[0][0] < 0.2, "layer-0 induction score {}", ind[0][0]);
    assert!(file.report.flagged["induction"]["with_bos"].contains(&"1.0".to_string()));
    let lp = file.logprobs.unwrap();
    assert!(lp.later_copies > lp.first_copy + 1.0, "{lp:?}");
    assert!(stdout.contains("induction heads"), "{stdout}");
    png_ok(&run.join("plots/head_scores.png"), 600);
    // --json prints the same report.
    let j = indu(dir.path())
        .args([
            "detect-heads",
            "--run",
            "runs/fixture",
            "--json",
            "--batch",
            "8",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&j.stdout).unwrap();
    assert_eq!(v["batch"], 8);
    // --on task scores on induction strings with token-based targets.
    let t = indu(dir.path())
        .args([
            "detect-heads",
            "--run",
            "runs/fixture",
            "--on",
            "task",
            "--json",
        ])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&t.stdout).unwrap();
    assert_eq!(v["source"], "task");
    assert!(
        v["scores"]["scores"]["induction"]["with_bos"][1][0]
            .as_f64()
            .unwrap()
            > 0.5,
        "{v}"
    );
}

#[test]
fn plot_attn_draws_every_head_with_labels() {
    let dir = tempfile::tempdir().unwrap();
    let run = fixture_run(dir.path());
    let out = indu(dir.path())
        .args(["plot-attn", "--run", "runs/fixture"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for f in ["attn_L0_H0.png", "attn_L1_H0.png", "attn_grid.png"] {
        png_ok(&run.join("plots").join(f), 400);
    }
    let out = indu(dir.path())
        .args([
            "plot-attn",
            "--run",
            "runs/fixture",
            "--text",
            "abcdefabcdef",
            "--layer",
            "1",
            "--head",
            "0",
            "--out",
            "one.png",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    png_ok(&dir.path().join("one.png"), 400);
    assert!(indu(dir.path())
        .args(["plot-attn", "--run", "runs/fixture", "--probe"])
        .output()
        .unwrap()
        .status
        .success());
    for (args, needle) in [
        (vec!["--layer", "2"], "--layer 2"),
        (vec!["--head", "1"], "--head 1"),
        (vec!["--text", "abc!"], "!"),
        (vec!["--text", &"a".repeat(40)], "n_ctx"),
    ] {
        let out = indu(dir.path())
            .args(["plot-attn", "--run", "runs/fixture"])
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}

#[test]
fn eval_sample_cache_and_plot_loss_on_a_tiny_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ok = |args: &[&str]| {
        let out = indu(d).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    ok(&[
        "train",
        "--task",
        "addition",
        "--steps",
        "4",
        "--quiet",
        "--set",
        "train.eval_every=2",
        "--set",
        "train.eval_size=16",
        "--set",
        "model.d_model=32",
        "--set",
        "model.d_head=8",
        "--set",
        "model.d_mlp=32",
    ]);
    // With no --run, the newest run is used.
    let e = ok(&["eval", "--n", "32"]);
    assert!(e.contains("exact_acc"), "{e}");
    let run = indu::run_dir::latest(&d.join("runs")).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("eval.json")).unwrap()).unwrap();
    assert!(v["metrics"]["digit_loss_0"].as_f64().is_some(), "{v}");
    let s = ok(&["sample", "-n", "4"]);
    assert!(s.contains("of 4 correct"), "{s}");
    assert!(s.contains('+') && s.contains('='), "{s}");
    ok(&["plot-loss"]);
    png_ok(&run.join("plots/loss.png"), 600);
    png_ok(&run.join("plots/loss_digits.png"), 600);
    ok(&[
        "cache",
        "--hooks",
        "blocks.*.attn.hook_pattern,blocks.0.mlp.hook_post",
        "--text",
        "12345+67890=",
        "--out",
        "c.safetensors",
    ]);
    let (tensors, _) =
        indu::st_io::read(&d.join("c.safetensors"), &candle_core::Device::Cpu).unwrap();
    assert_eq!(
        tensors["blocks.0.attn.hook_pattern"].dims(),
        &[1, 4, 12, 12]
    );
    assert_eq!(tensors["blocks.0.mlp.hook_post"].dims(), &[1, 12, 32]);
    let out = indu(d)
        .args(["cache", "--hooks", "nothing.here", "--text", "1+1="])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}
