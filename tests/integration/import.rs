//! `indu import` on the TransformerLens-made checkpoints of tests/fixtures/tl-import: from
//! `.pth` and from `.safetensors`, the imported run gives TransformerLens's logits,
//! patterns, residual stream and `detect_head` scores within 1e-4; bad inputs exit 2 with
//! one line and leave nothing behind.
use crate::util::{fails, run_ok, snapshot};
use candle_core::{DType, Device, Tensor};
use indu::analysis::LoadedRun;
use indu::detect::tl::{self, ErrorMeasure, TlHead, TlOptions};
use indu::hooks::HookPoint;
use indu::tasks::Rows;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const TOL: f32 = 1e-4;
const MODELS: [&str; 2] = ["arena_like_2l", "ln_mlp_2l"];

/// `tests/fixtures/tl-import/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tl-import")
        .join(name)
}

pub fn expected(model: &str) -> HashMap<String, Tensor> {
    candle_core::safetensors::load(
        fixture(&format!("{model}.expected.safetensors")),
        &Device::Cpu,
    )
    .unwrap()
}

/// Token rows of an I64 tensor `[batch, pos]`.
fn rows_of(t: &Tensor) -> Rows {
    let (_, n) = t.dims2().unwrap();
    let mut rows = Rows::new(n);
    for r in t.to_dtype(DType::U32).unwrap().to_vec2::<u32>().unwrap() {
        rows.push_row(&r, &r, &vec![0.0; n]);
    }
    rows
}

fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

pub fn import(dir: &Path, model: &str, ext: &str) -> PathBuf {
    let out = dir.join(format!("runs/{model}-{ext}"));
    let w = fixture(&format!("{model}.{ext}"));
    let c = fixture(&format!("{model}.config.json"));
    let args = [
        "import",
        w.to_str().unwrap(),
        "--tl-config",
        c.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    let stdout = run_ok(dir, &args);
    assert!(stdout.starts_with("imported "), "{stdout}");
    out
}

#[test]
fn imports_match_transformer_lens_from_pth_and_safetensors() {
    let dir = tempfile::tempdir().unwrap();
    for model in MODELS {
        let exp = expected(model);
        for ext in ["pth", "safetensors"] {
            let run = import(dir.path(), model, ext);
            let lr = LoadedRun::open(Some(&run), Device::Cpu).unwrap();
            let rows = rows_of(&exp["tokens"]);
            let (logits, cache) = lr
                .run_with_cache(
                    &rows,
                    &["blocks.*.attn.hook_pattern", "blocks.*.hook_resid_post"],
                )
                .unwrap();
            let d = max_diff(&logits, &exp["logits"]);
            assert!(d <= TOL, "{model}.{ext} logits differ by {d}");
            for l in 0..lr.cfg.model.n_layers {
                for hp in [HookPoint::Pattern(l), HookPoint::ResidPost(l)] {
                    let d = max_diff(&cache[&hp], &exp[&hp.to_string()]);
                    assert!(d <= TOL, "{model}.{ext} {hp} differs by {d}");
                }
            }
            // detect_head on rep_tokens, as the fixture's head_detector.json holds it.
            let rep = rows_of(&exp["rep_tokens"]);
            let (patterns, _) = lr.patterns(&rep).unwrap();
            let want: serde_json::Value = serde_json::from_str(
                &std::fs::read_to_string(fixture(&format!("{model}.head_detector.json"))).unwrap(),
            )
            .unwrap();
            let mut compared = 0;
            for head in TlHead::ALL {
                for exclude_bos in [false, true] {
                    let key = format!(
                        "{}|exclude_bos={}|mul",
                        head.name(),
                        if exclude_bos { "True" } else { "False" }
                    );
                    let opts = TlOptions {
                        exclude_bos,
                        exclude_current_token: false,
                        error_measure: ErrorMeasure::Mul,
                    };
                    let got = tl::detect_head(&patterns, 0, rep.row(0), head, opts).unwrap();
                    for (layer, hs) in got.iter().enumerate() {
                        for (h, g) in hs.iter().enumerate() {
                            let w = want[&key][layer][h].as_f64().unwrap();
                            assert!(
                                (g - w).abs() <= 1e-4,
                                "{model}.{ext} {key} L{layer}H{h}: {g} vs {w}"
                            );
                            compared += 1;
                        }
                    }
                }
            }
            assert_eq!(compared, 6 * lr.cfg.model.n_layers * lr.cfg.model.n_heads);
        }
    }
}

#[test]
fn analysis_commands_open_an_imported_run() {
    let dir = tempfile::tempdir().unwrap();
    let run = import(dir.path(), "arena_like_2l", "pth");
    let r = run.to_str().unwrap();
    let out = run_ok(dir.path(), &["detect-heads", "--run", r, "--batch", "4"]);
    assert!(out.contains("mean log-prob"), "{out}");
    run_ok(
        dir.path(),
        &[
            "plot-attn",
            "--run",
            r,
            "--tokens",
            "0,5,17,5,17",
            "--layer",
            "1",
        ],
    );
    run_ok(dir.path(), &["eval", "--run", r, "--n", "8"]);
    // runs/latest points at the import, so a bare command finds it.
    let out = run_ok(dir.path(), &["circuits"]);
    assert!(!out.is_empty());
    // An existing run is kept unless --force.
    let w = fixture("arena_like_2l.pth");
    let c = fixture("arena_like_2l.config.json");
    let args = [
        "import",
        w.to_str().unwrap(),
        "--tl-config",
        c.to_str().unwrap(),
        "--out",
        r,
    ];
    let e = fails(dir.path(), &args);
    assert!(e.contains("already exists"), "{e}");
    let mut forced = args.to_vec();
    forced.push("--force");
    run_ok(dir.path(), &forced);
}

#[test]
fn bad_checkpoints_and_configs_exit_2_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cfg_text = std::fs::read_to_string(fixture("arena_like_2l.config.json")).unwrap();
    let mut cfg: serde_json::Value = serde_json::from_str(&cfg_text).unwrap();
    let write_cfg = |name: &str, v: &serde_json::Value| {
        let p = d.join(name);
        std::fs::write(&p, v.to_string()).unwrap();
        p
    };
    let no_head = {
        let mut c = cfg.clone();
        c.as_object_mut().unwrap().remove("d_head");
        write_cfg("no_head.json", &c)
    };
    cfg["positional_embedding_type"] = serde_json::json!("alibi");
    let alibi = write_cfg("alibi.json", &cfg);
    let good_cfg = fixture("arena_like_2l.config.json");
    let other_cfg = fixture("ln_mlp_2l.config.json");
    let pth = std::fs::read(fixture("arena_like_2l.pth")).unwrap();
    let truncated = d.join("truncated.pth");
    std::fs::write(&truncated, &pth[..pth.len() / 2]).unwrap();
    let garbage = d.join("garbage.pth");
    std::fs::write(&garbage, b"not a zip at all").unwrap();
    let pth_path = fixture("arena_like_2l.pth");
    let st_path = fixture("arena_like_2l.safetensors");
    let cases: [(&Path, &Path, &str); 7] = [
        (&pth_path, &no_head, "field d_head is missing"),
        (&pth_path, &alibi, "positional_embedding_type = \"alibi\""),
        (&pth_path, &other_cfg, "has shape"),
        (&st_path, &other_cfg, "has shape"),
        (&truncated, &good_cfg, "not a readable PyTorch checkpoint"),
        (&garbage, &good_cfg, "not a readable PyTorch checkpoint"),
        (&good_cfg, &good_cfg, "expected a .safetensors or .pth"),
    ];
    let before = snapshot(d);
    for (w, c, want) in cases {
        let out = d.join("runs/bad");
        let e = fails(
            d,
            &[
                "import",
                w.to_str().unwrap(),
                "--tl-config",
                c.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
            ],
        );
        assert!(e.contains(want), "{w:?} {c:?}: {e}");
        assert_eq!(snapshot(d), before, "{w:?} {c:?} left files behind: {e}");
    }
}

#[test]
fn an_imported_tokenizer_encodes_text_as_huggingface_does() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let w = fixture("arena_like_2l.safetensors");
    let c = fixture("arena_like_2l.config.json");
    let t = fixture("bpe400.tokenizer.json");
    let (w, c, t) = (
        w.to_str().unwrap(),
        c.to_str().unwrap(),
        t.to_str().unwrap(),
    );
    run_ok(
        d,
        &[
            "import",
            w,
            "--tl-config",
            c,
            "--tokenizer",
            t,
            "--out",
            "runs/bpe",
        ],
    );
    assert!(d.join("runs/bpe/tokenizer.json").is_file());
    let exp: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("bpe400.expected.json")).unwrap())
            .unwrap();
    let bos = exp["bos"].as_u64().unwrap();
    for case in exp["texts"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let out = run_ok(
            d,
            &[
                "cache",
                "--hooks",
                "blocks.0.attn.hook_pattern",
                "--text",
                text,
                "--json",
            ],
        );
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        // TransformerLens's default_prepend_bos (true in this config) puts the begin token first.
        let mut want: Vec<u64> = vec![bos];
        want.extend(
            case["ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap()),
        );
        let got: Vec<u64> = v["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap())
            .collect();
        assert_eq!(got, want, "{text}");
        let labels: Vec<&str> = v["input"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect();
        let tokens: Vec<&str> = case["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap())
            .collect();
        assert_eq!(&labels[1..], tokens.as_slice(), "{text}");
    }
    // A tokenizer with more tokens than the model reads is refused; so is a file that is not one.
    let small = fixture("ln_mlp_2l.safetensors");
    let small_cfg = fixture("ln_mlp_2l.config.json");
    let e = fails(
        d,
        &[
            "import",
            small.to_str().unwrap(),
            "--tl-config",
            small_cfg.to_str().unwrap(),
            "--tokenizer",
            t,
            "--out",
            "runs/x",
        ],
    );
    assert!(
        e.contains("has 400 tokens but the model's d_vocab is 50"),
        "{e}"
    );
    let e = fails(
        d,
        &[
            "import",
            w,
            "--tl-config",
            c,
            "--tokenizer",
            c,
            "--out",
            "runs/y",
        ],
    );
    assert!(e.contains("not a HuggingFace tokenizer.json"), "{e}");
    assert!(!d.join("runs/x").exists() && !d.join("runs/y").exists());
    // Without a tokenizer, --text says what is missing.
    run_ok(d, &["import", w, "--tl-config", c, "--out", "runs/plain"]);
    let e = fails(d, &["plot-attn", "--run", "runs/plain", "--text", "hello"]);
    assert!(e.contains("imported without a tokenizer"), "{e}");
}
