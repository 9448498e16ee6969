//! Ablation numerics on a tiny trained induction model (2 layers x 2 heads): zero ablation
//! through `indu ablate` equals a hand-made edit of `hook_attn_out`, the shuffle ablation is
//! causal, and mean / resample on a one-row batch are refused.
use crate::util::{indu, max_diff, tiny_run};
use candle_core::{Device, Tensor};
use indu::analysis::LoadedRun;
use indu::circuits::ablate::{ablated_logits, Ablation};
use indu::circuits::qk_ov::ModelW;
use indu::circuits::HeadRef;
use indu::hooks::{HookPoint, Hooks};
use indu::tasks::Rows;
use serde_json::Value;
use std::path::Path;

/// Train a 2-layer, 2-head induction model for a few steps in `dir/runs/t`.
fn tiny_model(dir: &Path) -> LoadedRun {
    let sets = [
        "--set",
        "train.eval_size=32",
        "--set",
        "model.n_heads=2",
        "--set",
        "model.d_head=32",
    ];
    let run = tiny_run(dir, "induction", 25, "runs/t", &sets);
    LoadedRun::open(Some(&run), Device::Cpu).unwrap()
}

fn tokens(lr: &LoadedRun, rows: &Rows) -> Tensor {
    indu::data::tokens_tensor(&rows.tokens, rows.len(), rows.n_ctx, &lr.device).unwrap()
}

/// Logits with head `h` of layer `l` removed by hand: `hook_attn_out` of layer `l` replaced
/// by its clean value minus the head's clean `hook_result` (everything before layer `l` is
/// unchanged by the ablation, so the clean values are the ablated run's too).
fn manual_zero(lr: &LoadedRun, rows: &Rows, l: usize, h: usize) -> Tensor {
    let t = tokens(lr, rows);
    let mut cap = Hooks::capture(&[
        HookPoint::AttnOut(l).to_string(),
        HookPoint::AttnResult(l).to_string(),
    ]);
    lr.model.forward(&t, Some(&mut cap)).unwrap();
    let c = cap.take_captured();
    let out = &c[&HookPoint::AttnOut(l)];
    let result = c[&HookPoint::AttnResult(l)]
        .narrow(2, h, 1)
        .unwrap()
        .squeeze(2)
        .unwrap();
    let mut edit = Hooks::new();
    edit.patch(HookPoint::AttnOut(l), (out - result).unwrap());
    lr.model.forward(&t, Some(&mut edit)).unwrap()
}

#[test]
fn ablation_numerics() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let lr = tiny_model(d);
    let m = ModelW::of(&lr.weights, &lr.cfg.model).unwrap();
    let rows = lr.task_rows(6, 11);
    let clean = lr.model.forward(&tokens(&lr, &rows), None).unwrap();

    // Zero ablation (library) == the hand edit, for a head of each layer.
    for (l, h) in [(0, 1), (1, 0)] {
        let head = HeadRef { layer: l, head: h };
        let lib = ablated_logits(&lr, &m, &rows, &[head], Ablation::Zero, 0).unwrap();
        let hand = manual_zero(&lr, &rows, l, h);
        assert!(
            max_diff(&lib, &hand).unwrap() < 1e-4,
            "{head}: {}",
            max_diff(&lib, &hand).unwrap()
        );
        assert!(
            max_diff(&lib, &clean).unwrap() > 1e-3,
            "{head}: the ablation changes the logits"
        );
    }

    // Zero ablation through the binary: its loss is the masked mean loss of the hand edit.
    let out = indu(d)
        .args([
            "ablate", "--run", "runs/t", "--heads", "1.0", "--on", "task",
        ])
        .args(["--batch", "6", "--seed", "11", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let a: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cli_loss = a["ablations"][0]["metrics"]["loss"].as_f64().unwrap();
    let hand = manual_zero(&lr, &rows, 1, 0);
    let lp = lr.target_logprobs(&hand, &rows).unwrap();
    let (num, den) = rows
        .mask
        .iter()
        .zip(&lp)
        .fold((0f64, 0f64), |(n, dd), (&w, &v)| {
            (n - f64::from(w) * f64::from(v), dd + f64::from(w))
        });
    assert!(
        (cli_loss - num / den).abs() < 1e-4,
        "indu ablate {cli_loss} vs hand {}",
        num / den
    );

    // Shuffle is causal: two rows equal up to position p and different after it get the
    // same ablated logits at positions 0..=p.
    let n_ctx = rows.n_ctx;
    let p = n_ctx / 2;
    let a_row = rows.row(0).to_vec();
    let mut b_row = a_row.clone();
    for (i, t) in b_row.iter_mut().enumerate().skip(p + 1) {
        *t = 1 + ((*t as usize + i) % 26) as u32; // another letter after p
    }
    assert_ne!(a_row[p + 1..], b_row[p + 1..]);
    let mut pair = Rows::new(n_ctx);
    let zeros = vec![0u32; n_ctx];
    let ones = vec![1f32; n_ctx];
    pair.push_row(&a_row, &zeros, &ones);
    pair.push_row(&b_row, &zeros, &ones);
    let heads = [HeadRef { layer: 0, head: 0 }, HeadRef { layer: 1, head: 1 }];
    let shuffled = ablated_logits(&lr, &m, &pair, &heads, Ablation::Shuffle, 5).unwrap();
    let prefix = |r: usize| shuffled.get(r).unwrap().narrow(0, 0, p + 1).unwrap();
    let diff = max_diff(&prefix(0), &prefix(1)).unwrap();
    assert!(diff < 1e-5, "shuffle ablation leaks later tokens: {diff}");
    // ... and it is not a no-op.
    let clean_pair = lr.model.forward(&tokens(&lr, &pair), None).unwrap();
    assert!(max_diff(&shuffled, &clean_pair).unwrap() > 1e-3);

    // Mean / resample on one row would change nothing: refused with one line, exit 2.
    for mode in ["mean", "resample"] {
        let out = indu(d)
            .args([
                "ablate", "--run", "runs/t", "--heads", "1.0", "--batch", "1",
            ])
            .args(["--mode", mode])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{mode}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains("--batch 2") && err.lines().count() == 1,
            "{err}"
        );
    }
}

/// `ablate`, `attribute` and `cache` on the user's own text and token rows.
#[test]
fn text_and_token_inputs() {
    use crate::util::{fails, run_ok};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let lr = tiny_model(d);
    let r = lr.run.path.to_str().unwrap();
    // ablate --text: the clean loss is the model's next-token loss on that row.
    let out = run_ok(
        d,
        &[
            "ablate", "--run", r, "--heads", "1.0", "--text", ".abcabc", "--json",
        ],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    let rows = lr
        .given_rows(&indu::given::Given::Text(".abcabc".into()))
        .unwrap()
        .0;
    let logits = lr.model.forward(&tokens(&lr, &rows), None).unwrap();
    let lp = lr.target_logprobs(&logits, &rows).unwrap();
    let want = -lp[..6].iter().map(|&x| f64::from(x)).sum::<f64>() / 6.0;
    let got = v["clean"]["loss"].as_f64().unwrap();
    assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    assert!(
        v["clean"].get("task").is_none(),
        "no task metrics on a text: {v}"
    );
    // Mean ablation over two token rows runs; over one row it is refused.
    let rows_file = d.join("rows.txt");
    std::fs::write(&rows_file, "0 1 2 3 1 2\n0 4 5 6 4 5\n").unwrap();
    let at = format!("@{}", rows_file.display());
    run_ok(
        d,
        &[
            "ablate", "--run", r, "--heads", "1.0", "--mode", "mean", "--tokens", &at,
        ],
    );
    fails(
        d,
        &[
            "ablate",
            "--run",
            r,
            "--heads",
            "1.0",
            "--mode",
            "mean",
            "--tokens",
            "0,1,2,1,2",
        ],
    );
    // attribute --tokens: "later copies" are the predictions of a repeated pair.
    let out = run_ok(
        d,
        &[
            "attribute",
            "--run",
            r,
            "--tokens",
            "0,1,2,3,1,2,3",
            "--json",
        ],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(
        v["description"]
            .as_str()
            .unwrap()
            .contains("later copies = the 2 predictions"),
        "{v}"
    );
    let e = fails(d, &["attribute", "--run", r, "--tokens", &at]);
    assert!(e.contains("takes one row"), "{e}");
    // cache: several texts make one batch; --batch for the probe.
    let out = run_ok(
        d,
        &[
            "cache",
            "--run",
            r,
            "--hooks",
            "blocks.0.hook_resid_post",
            "--text",
            ".ab",
            "--text",
            ".cd",
            "--json",
        ],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["tensors"]["blocks.0.hook_resid_post"][0], 2);
    let out = run_ok(
        d,
        &[
            "cache",
            "--run",
            r,
            "--hooks",
            "blocks.0.hook_resid_post",
            "--probe",
            "--batch",
            "3",
            "--json",
        ],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["tensors"]["tokens"][0], 3);
    let e = fails(
        d,
        &[
            "cache", "--run", r, "--hooks", "*", "--text", ".ab", "--text", ".abc",
        ],
    );
    assert!(e.contains("same length"), "{e}");
}
