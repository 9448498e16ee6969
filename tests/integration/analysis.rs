//! The analysis commands through the binary on a real model: the TransformerLens-trained
//! induction fixture (2 layers x 1 head, the induction preset's shape) placed in a run
//! directory, plus a tiny freshly trained run.
use crate::util::{fails, fixture, indu, run_ok, tiny_run};
use std::path::{Path, PathBuf};

/// A run directory holding the trained TL fixture weights and the induction preset config.
fn fixture_run(dir: &Path) -> PathBuf {
    let run = dir.join("runs/fixture");
    std::fs::create_dir_all(&run).unwrap();
    std::fs::copy(
        fixture("trained_induction_2l1h.weights.safetensors"),
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
    let file: indu::experiments::detect::HeadsFile =
        serde_json::from_str(&std::fs::read_to_string(run.join("heads.json")).unwrap()).unwrap();
    assert_eq!(
        file.schema_version,
        indu::experiments::detect::SCHEMA_VERSION
    );
    // TransformerLens detect_head semantics on the same probe: the layer-1 head is an
    // induction head under every mul variant, the layer-0 head is not.
    let tl = file
        .tl_detect_head
        .as_ref()
        .expect("tl_detect_head in heads.json");
    assert_eq!(tl.variants.len(), 4);
    for v in ["mul", "mul_exclude_bos", "mul_exclude_bos_and_current"] {
        let m = &tl.scores["induction_head"][v];
        assert!(m[1][0] > 0.4 && m[0][0] < 0.2, "{v}: {m:?}");
    }
    assert!(tl.scores["previous_token_head"]["abs"][0][0].is_finite());
    // first_token without the begin token counts no query: not applicable, not 0.
    let first = file
        .report
        .scores
        .get(
            indu::detect::Detector::FirstToken,
            indu::detect::Variant::ExcludeBos,
        )
        .unwrap();
    assert!(first[0][0].is_nan() && first[1][0].is_nan(), "{first:?}");
    let raw: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("heads.json")).unwrap()).unwrap();
    assert!(raw["scores"]["scores"]["first_token"]["exclude_bos"][0][0].is_null());
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("first_token") && l.contains("exclude_bos") && l.contains(" -")),
        "{stdout}"
    );
    assert!(stdout.contains("tl induction"), "{stdout}");
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
    // A filtered grid (--head 0: both layers) gets its own name; the full grid is kept.
    let full = std::fs::read(run.join("plots/attn_grid.png")).unwrap();
    let out = indu(dir.path())
        .args([
            "plot-attn",
            "--run",
            "runs/fixture",
            "--head",
            "0",
            "--seed",
            "3",
        ])
        .args(["--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    png_ok(&run.join("plots/attn_grid_H0.png"), 400);
    assert_eq!(
        std::fs::read(run.join("plots/attn_grid.png")).unwrap(),
        full
    );
    // --json: a summary of what was drawn.
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let n = v["tokens"].as_array().unwrap().len();
    assert_eq!(v["pattern_shape"], serde_json::json!([n, n]));
    assert_eq!(v["input"].as_array().unwrap().len(), n);
    assert_eq!(v["heads"], serde_json::json!(["0.0", "1.0"]));
    assert_eq!(v["files"].as_array().unwrap().len(), 3, "{v}");
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
    let ok = |args: &[&str]| run_ok(d, args);
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
    // The vocabulary for other tools: vocab.json and a HuggingFace tokenizer.
    let vocab: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("vocab.json")).unwrap()).unwrap();
    assert_eq!(vocab["tokens"].as_array().unwrap().len(), 12, "{vocab}");
    assert_eq!(vocab["tokens"][10], "+");
    assert!(run.join("tokenizer.json").is_file() && run.join("tokenizer_config.json").is_file());
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
    // No input flag: a fresh task sample (a whole addition row); --json summarises.
    let j = ok(&["cache", "--hooks", "blocks.0.attn.hook_pattern", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&j).unwrap();
    assert_eq!(v["source"], "a fresh addition sample");
    assert_eq!(v["tokens"].as_array().unwrap().len(), 18);
    assert_eq!(
        v["tensors"]["blocks.0.attn.hook_pattern"],
        serde_json::json!([1, 4, 18, 18])
    );
    assert_eq!(v["tensors"]["logits"], serde_json::json!([1, 18, 10]));
    let (tensors, _) = indu::st_io::read(
        &d.join(v["out"].as_str().unwrap()),
        &candle_core::Device::Cpu,
    )
    .unwrap();
    assert_eq!(tensors["tokens"].dims(), &[1, 18]);
}

#[test]
fn token_ids_are_an_input_like_text() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    fixture_run(d);
    let ok = |args: &[&str]| run_ok(d, args);
    let hooks = [
        "cache",
        "--run",
        "runs/fixture",
        "--hooks",
        "blocks.1.attn.hook_pattern",
    ];
    let read = |name: &str| {
        indu::st_io::read(&d.join(name), &candle_core::Device::Cpu)
            .unwrap()
            .0
    };
    ok(&[&hooks[..], &["--text", ".abcabc", "--out", "text.st"]].concat());
    // ".abcabc" is ids 0,1,2,3,1,2,3 in the induction vocabulary.
    let j = ok(&[
        &hooks[..],
        &["--tokens", "0,1,2,3,1,2,3", "--out", "ids.st", "--json"],
    ]
    .concat());
    let v: serde_json::Value = serde_json::from_str(&j).unwrap();
    assert_eq!(v["source"], "tokens [0,1,2,3,1,2,3]");
    let (a, b) = (read("text.st"), read("ids.st"));
    for k in ["logits", "blocks.1.attn.hook_pattern", "tokens"] {
        let diff = (a[k].to_dtype(candle_core::DType::F32).unwrap()
            - b[k].to_dtype(candle_core::DType::F32).unwrap())
        .unwrap()
        .abs()
        .unwrap()
        .max_all()
        .unwrap()
        .to_scalar::<f32>()
        .unwrap();
        assert_eq!(diff, 0.0, "{k}");
    }
    // A file: one row per line, commas or spaces; every row goes through the model.
    std::fs::write(d.join("rows.txt"), "0 1 2 3 1\n0,4,5,4,5\n").unwrap();
    ok(&[&hooks[..], &["--tokens", "@rows.txt", "--out", "rows.st"]].concat());
    let r = read("rows.st");
    assert_eq!(r["tokens"].dims(), &[2, 5]);
    assert_eq!(r["logits"].dims(), &[2, 5, 27]);
    assert_eq!(r["blocks.1.attn.hook_pattern"].dims(), &[2, 1, 5, 5]);
    ok(&[
        "plot-attn",
        "--run",
        "runs/fixture",
        "--tokens",
        "@rows.txt",
        "--out",
        "a.png",
    ]);
    assert!(d.join("a.png").is_file());
    // Bad ids: one line each, nothing written.
    for (ids, want) in [
        ("0,27", "id 27"),
        ("0,x", "\"x\""),
        ("@missing.txt", "no such file"),
        ("0,1\n2", "same length"),
    ] {
        let err = fails(
            d,
            &[&hooks[..], &["--tokens", ids, "--out", "bad.st"]].concat(),
        );
        assert!(err.contains(want), "{ids}: {err}");
    }
    let long: Vec<String> = (0..40).map(|i| (i % 27).to_string()).collect();
    let err = fails(d, &[&hooks[..], &["--tokens", &long.join(",")]].concat());
    assert!(err.contains("n_ctx = 32"), "{err}");
    assert!(!d.join("bad.st").exists());
    let err = fails(
        d,
        &[&hooks[..], &["--tokens", "0,1", "--text", ".ab"]].concat(),
    );
    assert!(err.contains("--tokens") || err.contains("--text"), "{err}");
}

/// A 6-step run of `task` in `runs/<name>`, evaluating every 2 steps.
fn short_run(d: &Path, task: &str, name: &str, extra: &[&str]) -> PathBuf {
    let mut args = vec!["--set", "train.eval_every=2", "--set", "train.eval_size=32"];
    args.extend(["--set", "train.batch_size=16"]);
    args.extend(extra);
    tiny_run(d, task, 6, &format!("runs/{name}"), &args)
}

#[test]
fn probe_commands_work_when_the_output_vocabulary_is_smaller() {
    // addition: d_vocab 12, d_vocab_out 10; skip_trigrams: 22 vs 10. The probe must draw
    // tokens that are valid targets too (once: "index-select invalid index 10").
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let small = [
        "--set",
        "model.d_model=32",
        "--set",
        "model.d_head=8",
        "--set",
        "model.d_mlp=32",
    ];
    let add = short_run(d, "addition", "add", &small);
    let skip = short_run(d, "skip_trigrams", "skip", &[]);
    for run in [&add, &skip] {
        let r = run.to_str().unwrap();
        for args in [
            vec!["detect-heads", "--run", r, "--batch", "4", "--json"],
            vec!["attribute", "--run", r, "--batch", "4", "--json"],
            vec![
                "ablate", "--run", r, "--heads", "0.0", "--on", "probe", "--batch", "4",
            ],
            vec!["plot-attn", "--run", r, "--probe"],
            vec!["cache", "--run", r, "--hooks", "*", "--probe"],
        ] {
            let out = indu(d).args(&args).output().unwrap();
            assert!(
                out.status.success(),
                "{args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let file: indu::experiments::detect::HeadsFile =
            serde_json::from_str(&std::fs::read_to_string(run.join("heads.json")).unwrap())
                .unwrap();
        assert!(
            file.description.contains("uniform in 1..10"),
            "{}",
            file.description
        );
    }
}

#[test]
fn plot_loss_overlays_runs_marks_phase_changes_and_needs_no_model() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let skip = short_run(d, "skip_trigrams", "skip", &[]);
    // Per-class curves (seed 003's per-trigram phase changes).
    let out = indu(d)
        .args(["plot-loss", "--run", "runs/skip"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    png_ok(&skip.join("plots/loss.png"), 600);
    png_ok(&skip.join("plots/loss_classes.png"), 600);
    // Two hand-written runs with a clear drop at different steps, and no model file: a run
    // before its first checkpoint can be plotted.
    for (name, drop_at) in [("a", 300), ("b", 500)] {
        let run = d.join("runs").join(name);
        std::fs::create_dir_all(&run).unwrap();
        std::fs::copy(skip.join("config.toml"), run.join("config.toml")).unwrap();
        let lines: String = (1..=8)
            .map(|i| {
                let step = i * 100;
                let loss: f64 = if step < drop_at { 2.3 } else { 0.05 };
                format!(
                    "{{\"step\":{step},\"loss\":{loss},\"eval_loss\":{}}}\n",
                    loss * 1.1
                )
            })
            .collect();
        std::fs::write(run.join("metrics.jsonl"), lines).unwrap();
        assert!(!run.join("model.safetensors").exists());
    }
    let out = indu(d)
        .args([
            "plot-loss",
            "--run",
            "runs/a",
            "--run",
            "runs/b",
            "--run",
            "runs/skip",
        ])
        .args(["--out", "overlay.png"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The steepest drop lies between the last high and the first low evaluation.
    assert!(
        stdout.contains("phase change (steepest eval-loss drop) at step 250"),
        "{stdout}"
    );
    assert!(stdout.contains("at step 450"), "{stdout}");
    png_ok(&d.join("overlay.png"), 600);
}
