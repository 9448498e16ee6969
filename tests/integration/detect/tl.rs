//! Parity of `indu::detect::tl` with TransformerLens `detect_head` on the fixtures in
//! tests/fixtures/tl: the expected files hold the full `[B, H, T, T]` hook_pattern; the
//! scores were computed on each row cut to `n_ctx - 1` tokens, whose (causal) pattern is the
//! top-left block of the full one.
use crate::util::fixture;
use indu::detect::tl::{self, ErrorMeasure, TlHead, TlOptions};
use indu::detect::Patterns;
use safetensors::{Dtype, SafeTensors};
use serde_json::Value;

const TOL: f64 = 1e-4;

fn f32s(st: &SafeTensors, name: &str) -> (Vec<usize>, Vec<f32>) {
    let t = st.tensor(name).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(t.dtype(), Dtype::F32, "{name}");
    let data = t
        .data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (t.shape().to_vec(), data)
}

fn tokens(file: &str) -> (Vec<usize>, Vec<u32>) {
    let bytes = std::fs::read(fixture(file)).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let t = st.tensor("tokens").unwrap();
    assert_eq!(t.dtype(), Dtype::I64);
    let data = t
        .data()
        .chunks_exact(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b.copy_from_slice(c);
            u32::try_from(i64::from_le_bytes(b)).unwrap()
        })
        .collect();
    (t.shape().to_vec(), data)
}

/// All layers' hook_pattern as `Patterns` over the full T.
fn load_patterns(model: &str) -> Patterns {
    let bytes = std::fs::read(fixture(&format!("{model}.expected.safetensors"))).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut data = Vec::new();
    let mut shape = Vec::new();
    while let Ok(_t) = st.tensor(&format!("blocks.{}.attn.hook_pattern", data.len())) {
        let (s, d) = f32s(&st, &format!("blocks.{}.attn.hook_pattern", data.len()));
        assert_eq!(s.len(), 4);
        assert!(shape.is_empty() || shape == s);
        shape = s;
        data.push(d);
    }
    assert!(!data.is_empty(), "{model}: no patterns");
    Patterns::new(data.len(), shape[1], shape[0], shape[2], data).unwrap()
}

fn options(kwargs: &Value) -> TlOptions {
    let flag = |k: &str| kwargs.get(k).and_then(Value::as_bool).unwrap_or(false);
    let error_measure = match kwargs.get("error_measure").and_then(Value::as_str) {
        None | Some("mul") => ErrorMeasure::Mul,
        Some("abs") => ErrorMeasure::Abs,
        Some(other) => panic!("unknown error_measure {other}"),
    };
    TlOptions {
        exclude_bos: flag("exclude_bos"),
        exclude_current_token: flag("exclude_current_token"),
        error_measure,
    }
}

/// Returns (max error, number of scores compared).
fn check_model(model: &str, tokens_file: &str, expected_rows: &[usize]) -> (f64, usize) {
    let full = load_patterns(model);
    let (tshape, all_tokens) = tokens(tokens_file);
    assert_eq!(tshape, vec![full.batch, full.pos]);
    let json: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture(&format!("{model}.head_detector.json"))).unwrap(),
    )
    .unwrap();
    let rows = json["rows"].as_array().unwrap();
    let listed: Vec<usize> = rows
        .iter()
        .map(|r| r["row_index"].as_u64().unwrap() as usize)
        .collect();
    assert_eq!(listed, expected_rows, "{model}: rows listed");
    let (mut max_err, mut n) = (0.0f64, 0usize);
    for row in rows {
        let b = row["row_index"].as_u64().unwrap() as usize;
        let toks: Vec<u32> = row["input_tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        let l = toks.len();
        assert_eq!(l, full.pos - 1, "{model}: rows are cut to n_ctx - 1");
        assert_eq!(&toks[..], &all_tokens[b * full.pos..b * full.pos + l]);
        let p = full.prefix(l).unwrap();
        let variants = row["variants"].as_object().unwrap();
        assert_eq!(variants.len(), 4, "{model}: four variants");
        for (vname, v) in variants {
            let opts = options(&v["kwargs"]);
            for head in TlHead::ALL {
                let want = &v["scores"][head.name()];
                let got = tl::detect_head(&p, b, &toks, head, opts).unwrap();
                assert_eq!(got.len(), p.n_layers);
                for (layer, hs) in got.iter().enumerate() {
                    assert_eq!(hs.len(), p.n_heads);
                    for (h, &g) in hs.iter().enumerate() {
                        let w = want[layer][h].as_f64().unwrap();
                        let err = (g - w).abs();
                        assert!(
                            err <= TOL,
                            "{model} row {b} {vname} {} L{layer}H{h}: got {g}, want {w}",
                            head.name()
                        );
                        max_err = max_err.max(err);
                        n += 1;
                    }
                }
            }
        }
    }
    eprintln!("{model}: {n} scores, max |error| {max_err:.3e}");
    (max_err, n)
}

#[test]
fn parity_attn2l4h_nonorm() {
    let (_, n) = check_model("attn2l4h_nonorm", "tokens.safetensors", &[0]);
    assert_eq!(n, 4 * 3 * 2 * 4);
}

#[test]
fn parity_attn2l2h_ln() {
    let (_, n) = check_model("attn2l2h_ln", "tokens.safetensors", &[0]);
    assert_eq!(n, 4 * 3 * 2 * 2);
}

#[test]
fn parity_trained_induction_2l1h() {
    let (_, n) = check_model(
        "trained_induction_2l1h",
        "induction_tokens.safetensors",
        &[0, 1, 2],
    );
    assert_eq!(n, 3 * 4 * 3 * 2);
}

#[test]
fn trained_layer1_is_an_induction_head() {
    // README: layer-1 head scores about 0.93-0.96 with exclude_bos on induction strings.
    let full = load_patterns("trained_induction_2l1h");
    let (_, toks) = tokens("induction_tokens.safetensors");
    let l = full.pos - 1;
    let p = full.prefix(l).unwrap();
    let opts = TlOptions {
        exclude_bos: true,
        ..TlOptions::default()
    };
    for b in 0..full.batch {
        let row = &toks[b * full.pos..b * full.pos + l];
        let s = tl::detect_head(&p, b, row, TlHead::Induction, opts).unwrap();
        assert!(s[1][0] > 0.9, "row {b}: {}", s[1][0]);
        assert!(s[0][0] < 0.5, "row {b}: {}", s[0][0]);
    }
}

#[test]
fn detection_patterns_match_the_documented_shapes() {
    // tokens: a b a a -> duplicates (2,0), (3,0), (3,2); induction shifts them right:
    // (2,1), (3,1), (3,3) (the diagonal survives the tril).
    let toks = [1u32, 2, 1, 1];
    let dup = tl::detection_pattern(TlHead::DuplicateToken, &toks);
    let ind = tl::detection_pattern(TlHead::Induction, &toks);
    let prev = tl::detection_pattern(TlHead::PreviousToken, &toks);
    let ones = |d: &[f32]| -> Vec<(usize, usize)> {
        (0..16)
            .filter(|&i| d[i] == 1.0)
            .map(|i| (i / 4, i % 4))
            .collect()
    };
    assert_eq!(ones(&dup), vec![(2, 0), (3, 0), (3, 2)]);
    assert_eq!(ones(&ind), vec![(2, 1), (3, 1), (3, 3)]);
    assert_eq!(ones(&prev), vec![(1, 0), (2, 1), (3, 2)]);
}

#[test]
fn tl_edge_cases() {
    // L = 2, everything excluded: 0 / 0 = NaN, as in torch.
    let a = [1.0f32, 0.0, 0.5, 0.5];
    let d = tl::detection_pattern(TlHead::PreviousToken, &[3, 4]);
    let both = TlOptions {
        exclude_bos: true,
        exclude_current_token: true,
        error_measure: ErrorMeasure::Mul,
    };
    assert!(tl::similarity_score(&a, &d, 2, both).unwrap().is_nan());
    // mul divides by the whole mass (L = 2 rows), not by the rows with a target: 0.5 / 2.
    let mul = tl::similarity_score(&a, &d, 2, TlOptions::default()).unwrap();
    assert!((mul - 0.25).abs() < 1e-12);
    // abs: |A - D| = [[1, 0], [0.5, 0.5]] sums to 2; mean * L = 2 / 4 * 2 = 1; score 0.
    // With exclude_bos column 0 is dropped: sum 0.5, mean * L = 0.25, score 0.75.
    let abs = TlOptions {
        error_measure: ErrorMeasure::Abs,
        ..TlOptions::default()
    };
    assert!(tl::similarity_score(&a, &d, 2, abs).unwrap().abs() < 1e-12);
    let abs_bos = TlOptions {
        exclude_bos: true,
        ..abs
    };
    assert!((tl::similarity_score(&a, &d, 2, abs_bos).unwrap() - 0.75).abs() < 1e-12);
    // abs rejects mass above the diagonal (TransformerLens asserts).
    assert!(tl::similarity_score(&[0.5, 0.5, 0.5, 0.5], &d, 2, abs).is_err());
    // Python rounding: ties to even on the exact value.
    assert_eq!(tl::python_round3(0.0625), 0.062);
    assert_eq!(tl::python_round3(0.1875), 0.188);
    assert_eq!(tl::python_round3(0.0025), 0.003);
    // Shape errors, not panics.
    assert!(tl::similarity_score(&a, &d, 3, abs).is_err());
}

#[test]
fn batch_scores_are_the_mean_of_the_per_row_fixture_scores() {
    // score_batch (what detect-heads writes as tl_detect_head) on the three fixture rows
    // must equal the mean of TransformerLens's own per-row scores in head_detector.json.
    let model = "trained_induction_2l1h";
    let full = load_patterns(model);
    let (_, all_tokens) = tokens("induction_tokens.safetensors");
    let l = full.pos - 1;
    let p = full.prefix(l).unwrap();
    let toks: Vec<u32> = (0..full.batch)
        .flat_map(|b| all_tokens[b * full.pos..b * full.pos + l].to_vec())
        .collect();
    let report = tl::score_batch(&p, &toks).unwrap();
    let json: Value = serde_json::from_str(
        &std::fs::read_to_string(fixture(&format!("{model}.head_detector.json"))).unwrap(),
    )
    .unwrap();
    let rows = json["rows"].as_array().unwrap();
    assert_eq!(rows.len(), full.batch);
    assert_eq!(report.variants.len(), 4);
    let mut n = 0;
    for (vname, opts) in TlOptions::REPORTED {
        assert_eq!(report.variants[vname], opts);
        assert_eq!(
            options(&rows[0]["variants"][vname]["kwargs"]),
            opts,
            "{vname}"
        );
        for head in TlHead::ALL {
            let got = &report.scores[head.name()][vname];
            for layer in 0..p.n_layers {
                for h in 0..p.n_heads {
                    let want = rows
                        .iter()
                        .map(|r| {
                            r["variants"][vname]["scores"][head.name()][layer][h]
                                .as_f64()
                                .unwrap()
                        })
                        .sum::<f64>()
                        / rows.len() as f64;
                    let g = got[layer][h];
                    assert!(
                        (g - want).abs() <= TOL,
                        "{vname} {} L{layer}H{h}: got {g}, want {want}",
                        head.name()
                    );
                    n += 1;
                }
            }
        }
    }
    assert_eq!(n, 4 * 3 * 2);
    // The report survives a JSON round trip (NaN as null).
    let back: tl::TlReport =
        serde_json::from_str(&serde_json::to_string(&report).unwrap()).unwrap();
    assert_eq!(back.variants, report.variants);
    // Wrong token count: an error, not a panic.
    assert!(tl::score_batch(&p, &toks[1..]).is_err());
}
