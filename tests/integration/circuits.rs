//! `indu circuits`, `indu ablate` and `indu attribute` through the binary on a tiny 2-layer,
//! 4-head induction model: JSON shapes, PNGs, and bad heads exiting 2.
use crate::util::{assert_ok as ok, indu, tiny_run};
use serde_json::Value;
use std::path::Path;

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("valid JSON")
}

#[test]
fn circuits_ablate_attribute_on_a_tiny_model() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sets = [
        "--set",
        "train.eval_size=32",
        "--set",
        "model.n_heads=4",
        "--set",
        "model.d_head=16",
    ];
    let run = tiny_run(d, "induction", 30, "runs/t", &sets);

    let out = indu(d)
        .args(["circuits", "--run", "runs/t"])
        .output()
        .unwrap();
    ok(&out);
    let c = json(&run.join("circuits.json"));
    assert_eq!(c["heads"].as_array().unwrap().len(), 8);
    let comp = &c["composition"];
    // 4 layer-0 heads x 4 layer-1 heads.
    assert_eq!(comp["pairs"].as_array().unwrap().len(), 16);
    let base = comp["baseline"]["mean"].as_f64().unwrap();
    assert!(base > 0.0 && base < 1.0, "{base}");
    for p in comp["pairs"].as_array().unwrap() {
        for k in ["q", "k", "v"] {
            let v = p[k].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&v), "{p}");
        }
    }
    assert_eq!(c["diagonal_pairs"].as_array().unwrap().len(), 16);
    assert_eq!(c["roles"].as_array().unwrap().len(), 8);
    let ranks = c["subspaces"]["ranks"].as_array().unwrap().len();
    assert_eq!(
        c["subspaces"]["pathways"].as_array().unwrap().len(),
        16 * ranks
    );
    // The subspace analysis is summarised on stdout too, one line per rank.
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("subspace overlap"), "{stdout}");
    for r in c["subspaces"]["ranks"].as_array().unwrap() {
        assert!(
            stdout.contains(&format!("r = {r:<3}")),
            "rank {r}: {stdout}"
        );
    }
    assert!(!c["notes"].to_string().contains("notebook"));
    for f in ["qk", "ov", "pos_qk", "kcomp", "composition", "subspace"] {
        assert!(run.join(format!("plots/circuits_{f}.png")).is_file(), "{f}");
    }

    let out = indu(d)
        .args([
            "ablate", "--run", "runs/t", "--heads", "1.0,0.3", "--batch", "8",
        ])
        .output()
        .unwrap();
    ok(&out);
    let a = json(&run.join("ablate.json"));
    let rows = a["ablations"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "two heads alone and the set");
    // Each set's line ends with its signed loss increase, e.g. "(+0.120)" or "(-0.044)".
    let stdout = String::from_utf8_lossy(&out.stdout);
    for r in rows {
        let inc = r["loss_increase"].as_f64().unwrap();
        let name = r["heads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap())
            .collect::<Vec<_>>()
            .join("+");
        let line = stdout
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no line for {name}: {stdout}"));
        assert!(line.ends_with(&format!("({inc:+.3})")), "{line} vs {inc}");
        assert!(!line.contains("+-"), "{line}");
    }
    assert_eq!(rows[2]["heads"], serde_json::json!(["1.0", "0.3"]));
    assert!(a["clean"]["first_copy_loss"].as_f64().is_some());
    assert!(a["clean"]["later_copies_loss"].as_f64().is_some());
    assert!(run.join("plots/ablate.png").is_file());
    for mode in ["mean", "resample", "shuffle", "project-out", "project-keep"] {
        let out = indu(d)
            .args([
                "ablate", "--run", "runs/t", "--heads", "1.2", "--batch", "4", "--mode", mode,
                "--on", "task",
            ])
            .output()
            .unwrap();
        ok(&out);
        let a = json(&run.join("ablate.json"));
        assert!(
            a["ablations"][0]["metrics"]["loss"]
                .as_f64()
                .unwrap()
                .is_finite(),
            "{mode}"
        );
    }

    let out = indu(d)
        .args(["attribute", "--run", "runs/t", "--batch", "8", "--json"])
        .output()
        .unwrap();
    ok(&out);
    let t: Value = serde_json::from_slice(&out.stdout).expect("--json prints JSON");
    // embed, pos_embed, 8 heads, bias.
    assert_eq!(t["components"].as_array().unwrap().len(), 11);
    let per = t["per_position"].as_array().unwrap();
    assert_eq!(per.len(), 11);
    assert_eq!(
        per[0].as_array().unwrap().len(),
        t["logit"].as_array().unwrap().len()
    );
    assert!(t["max_abs_error"].as_f64().unwrap() < 1e-3);
    assert!(run.join("attribute.json").is_file() && run.join("plots/attribute.png").is_file());

    // Bad input exits 2 with a message naming the valid range.
    for (heads, want) in [("3.9", "layers 0..=1"), ("1.x", "layer.head")] {
        let out = indu(d)
            .args(["ablate", "--run", "runs/t", "--heads", heads])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{heads}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want) && err.contains("heads 0..=3"), "{err}");
    }
    let out = indu(d)
        .args([
            "ablate",
            "--run",
            "runs/t",
            "--heads",
            "0.1",
            "--mode",
            "project-out",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("layer 0"));
}

#[test]
fn one_layer_model_says_composition_does_not_apply() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = indu(d)
        .args([
            "train",
            "--task",
            "induction",
            "--steps",
            "5",
            "--quiet",
            "--out",
            "runs/one",
        ])
        .args(["--set", "train.eval_size=32", "--set", "model.n_layers=1"])
        .output()
        .unwrap();
    ok(&out);
    let out = indu(d)
        .args(["circuits", "--run", "runs/one"])
        .output()
        .unwrap();
    ok(&out);
    let c = json(&d.join("runs/one/circuits.json"));
    assert!(c["composition"].is_null());
    let notes = c["notes"].to_string();
    assert!(notes.contains("1 layer"), "{notes}");
    assert_eq!(c["heads"].as_array().unwrap().len(), 1);
}

#[test]
fn attribution_is_exact_with_the_notebook_residual() {
    // The doubled residual weights each component by 2^(layers after it); with LayerNorm and
    // MLPs too, the components must still sum to the logit.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = indu(d)
        .args([
            "train",
            "--task",
            "induction",
            "--steps",
            "20",
            "--quiet",
            "--out",
            "runs/nb",
        ])
        .args([
            "--set",
            "train.eval_size=32",
            "--set",
            "model.n_layers=3",
            "--set",
            "model.residual=notebook",
            "--set",
            "model.normalization=LN",
            "--set",
            "model.attn_only=false",
            "--set",
            "model.d_mlp=32",
        ])
        .output()
        .unwrap();
    ok(&out);
    // circuits notes that its scores ignore the stream's gains, and why that is harmless.
    let out = indu(d)
        .args(["circuits", "--run", "runs/nb"])
        .output()
        .unwrap();
    ok(&out);
    let notes = json(&d.join("runs/nb/circuits.json"))["notes"].to_string();
    assert!(
        notes.contains("model.residual = notebook") && notes.contains("positive number"),
        "{notes}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("note: model.residual = notebook"));
    let out = indu(d)
        .args(["attribute", "--run", "runs/nb", "--batch", "8", "--json"])
        .output()
        .unwrap();
    ok(&out);
    let t: Value = serde_json::from_slice(&out.stdout).expect("--json prints JSON");
    // embed, pos_embed, 3 heads, 3 MLPs, bias.
    assert_eq!(t["components"].as_array().unwrap().len(), 9);
    let err = t["max_abs_error"].as_f64().unwrap();
    assert!(err < 1e-3, "components do not sum to the logit: {err}");
}
