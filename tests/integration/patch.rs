//! `indu patch` against TransformerLens's `get_act_patch_resid_pre` and
//! `get_act_patch_attn_head_out_all_pos` on the tl-import fixtures (values within 1e-4),
//! the files it writes, and its refusals.
use crate::import::{expected, import};
use crate::util::{fails, run_ok};
use candle_core::{DType, Tensor};
use serde_json::Value;

fn ids(t: &Tensor) -> String {
    let v = t
        .to_dtype(DType::U32)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<u32>()
        .unwrap();
    v.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

#[test]
fn patching_matches_transformer_lens() {
    let dir = tempfile::tempdir().unwrap();
    for model in ["arena_like_2l", "ln_mlp_2l"] {
        let exp = expected(model);
        let run = import(dir.path(), model, "safetensors");
        let (clean, corrupt) = (ids(&exp["rep_tokens"]), ids(&exp["corrupt_tokens"]));
        let out = run_ok(
            dir.path(),
            &[
                "patch",
                "--run",
                run.to_str().unwrap(),
                "--clean-tokens",
                &clean,
                "--corrupt-tokens",
                &corrupt,
                "--kind",
                "resid_pre",
                "--kind",
                "head_out",
                "--json",
            ],
        );
        let r: Value = serde_json::from_str(&out).unwrap();
        let scalar = |k: &str| exp[k].flatten_all().unwrap().to_vec1::<f32>().unwrap()[0] as f64;
        for (ours, theirs) in [
            ("clean_metric", "patch_metric_clean"),
            ("corrupt_metric", "patch_metric_corrupt"),
        ] {
            let (a, b) = (r[ours].as_f64().unwrap(), scalar(theirs));
            assert!((a - b).abs() <= 1e-4, "{model} {ours}: {a} vs {b}");
        }
        let results = r["results"].as_array().unwrap();
        assert_eq!(results.len(), 2);
        for (res, key) in results
            .iter()
            .zip(["patch_resid_pre", "patch_head_out_all_pos"])
        {
            let want = exp[key].to_vec2::<f32>().unwrap();
            let got = res["values"].as_array().unwrap();
            assert_eq!(got.len(), want.len(), "{model} {key} layers");
            for (l, (g, w)) in got.iter().zip(&want).enumerate() {
                let g = g.as_array().unwrap();
                assert_eq!(g.len(), w.len(), "{model} {key} L{l}");
                for (c, (g, w)) in g.iter().zip(w).enumerate() {
                    let g = g.as_f64().unwrap();
                    assert!(
                        (g - *w as f64).abs() <= 1e-4,
                        "{model} {key} [{l}][{c}]: {g} vs {w}"
                    );
                }
            }
            // Before the first position where the inputs differ, the clean and corrupted
            // activations are the same (causal), so patching there changes nothing.
            if key == "patch_resid_pre" {
                let c: Vec<&Value> = r["clean"].as_array().unwrap().iter().collect();
                let k: Vec<&Value> = r["corrupt"].as_array().unwrap().iter().collect();
                let first = c.iter().zip(&k).position(|(a, b)| a != b).unwrap();
                assert!(first > 0);
                for row in res["recovered"].as_array().unwrap() {
                    let row = row.as_array().unwrap();
                    assert!(
                        row[..first].iter().all(|v| v.as_f64().unwrap() == 0.0),
                        "{model}: {row:?}"
                    );
                    assert!(
                        row[first..].iter().any(|v| v.as_f64().unwrap() != 0.0),
                        "{model}: {row:?}"
                    );
                }
            }
        }
        assert!(run.join("patch.json").is_file());
        for kind in ["resid_pre", "head_out"] {
            assert!(
                run.join(format!("plots/patch_{kind}.png")).is_file(),
                "{kind}"
            );
        }
    }
}

#[test]
fn patch_defaults_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = import(d, "arena_like_2l", "pth");
    let r = run.to_str().unwrap();
    // Default: the probe and every kind an attention-only model has.
    let out = run_ok(d, &["patch", "--run", r, "--probe-len", "10", "--json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    let kinds: Vec<&str> = v["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["resid_pre", "head_out", "head_pattern"]);
    assert_eq!(v["clean"].as_array().unwrap().len(), 21);
    let loss = run_ok(
        d,
        &[
            "patch",
            "--run",
            r,
            "--probe-len",
            "10",
            "--metric",
            "loss",
            "--kind",
            "resid_pre",
            "--json",
        ],
    );
    let v: Value = serde_json::from_str(&loss).unwrap();
    assert_eq!(v["metric"], "loss");
    // Loss is a mean cross-entropy over a 1000-token vocabulary: near ln 1000 for this model.
    for k in ["clean_metric", "corrupt_metric"] {
        let x = v[k].as_f64().unwrap();
        assert!(x.is_finite() && x > 1.0, "{k} = {x}");
    }
    for (args, want) in [
        (
            vec!["--clean-tokens", "0,1,2", "--corrupt-tokens", "0,1,2,3"],
            "same length",
        ),
        (vec!["--clean-tokens", "0,1,2"], "needs a corrupted input"),
        (
            vec!["--clean-tokens", "0,1,2", "--corrupt-tokens", "0,1,2"],
            "same token",
        ),
        (vec!["--kind", "mlp_out"], "attention-only"),
        (vec!["--kind", "resid"], "unknown patch kind"),
        (
            vec!["--clean-tokens", "0,1,5000", "--corrupt-tokens", "0,1,2"],
            "5000",
        ),
        (
            vec![
                "--clean-tokens",
                "0,1,2",
                "--corrupt-tokens",
                "0,1,3",
                "--pos",
                "9",
            ],
            "--pos 9",
        ),
    ] {
        let mut a = vec!["patch", "--run", r];
        a.extend(args);
        let e = fails(d, &a);
        assert!(e.contains(want), "{a:?}: {e}");
    }
}
