//! Property: every detector and variant gives scores in [0, 1] for any causal,
//! row-stochastic pattern (rows may put all their mass on the begin token), with the
//! repeat-probe targets and with token-based targets; `mul` TransformerLens scores too
//! (`abs` is at most 1, and below -1 only with several detection targets per row).
use crate::util::proptest_cases;
use indu::detect::tl::{self, ErrorMeasure, TlHead, TlOptions};
use indu::detect::{score_heads, Detector, Patterns, Probe, Variant};
use proptest::prelude::*;

/// (pos, probe, n_heads, batch, weights, tokens): pos = 1 + t*k.
fn case() -> impl Strategy<Value = (usize, Probe, usize, usize, Vec<f32>, Vec<u32>)> {
    (1usize..5, 1usize..4, 1usize..3, 1usize..3).prop_flat_map(|(t, k, n_heads, batch)| {
        let pos = 1 + t * k;
        let n = batch * n_heads * pos * pos;
        (
            Just(pos),
            Just(Probe { t, k }),
            Just(n_heads),
            Just(batch),
            // About a third of the weights are exactly zero.
            prop::collection::vec(prop_oneof![Just(0.0f32), 0.0f32..1.0, 0.0f32..1.0], n),
            prop::collection::vec(0u32..3, batch * pos),
        )
    })
}

/// Make every `[pos, pos]` block causal and row-stochastic (a row with no weight on keys
/// <= q attends to the begin token).
fn stochastic(mut w: Vec<f32>, pos: usize) -> Vec<f32> {
    for (i, row) in w.chunks_mut(pos).enumerate() {
        let q = i % pos;
        for x in &mut row[q + 1..] {
            *x = 0.0;
        }
        let s: f32 = row.iter().sum();
        if s > 0.0 {
            for x in row.iter_mut() {
                *x /= s;
            }
        } else {
            row[0] = 1.0;
        }
    }
    w
}

proptest! {
    #![proptest_config(proptest_cases(200))]
    #[test]
    fn scores_are_in_unit_interval((pos, probe, n_heads, batch, w, tokens) in case()) {
        let data = stochastic(w, pos);
        let p = Patterns::new(1, n_heads, batch, pos, vec![data]).unwrap();
        for d in Detector::ALL {
            for v in Variant::ALL {
                for pr in [Some(probe), None] {
                    let s = score_heads(&p, &tokens, pr, d, v).unwrap();
                    for &x in s.iter().flatten() {
                        // NaN: no query counted (first_token without BOS, no repeats).
                        prop_assert!(
                            x.is_nan() || (-1e-6..=1.0 + 1e-6).contains(&x),
                            "{d} {v} {pr:?}: {x}"
                        );
                        let na = d == Detector::FirstToken && v == Variant::ExcludeBos;
                        prop_assert!(!na || x.is_nan(), "{d} {v}: {x}");
                    }
                }
            }
        }
        // TransformerLens mul without exclusions divides by the full mass: also in [0, 1].
        if pos >= 2 {
            for h in TlHead::ALL {
                let s = tl::detect_head(&p, 0, &tokens[..pos], h, TlOptions::default()).unwrap();
                for &x in s.iter().flatten() {
                    prop_assert!((-1e-6..=1.0 + 1e-6).contains(&x), "{}: {x}", h.name());
                }
                let abs = TlOptions { error_measure: ErrorMeasure::Abs, ..TlOptions::default() };
                let s = tl::detect_head(&p, 0, &tokens[..pos], h, abs).unwrap();
                // At most 1; at least -1 only when each detection row holds at most one 1
                // (previous-token): with repeated tokens |A - D| can exceed 2 per row.
                for &x in s.iter().flatten() {
                    prop_assert!(x <= 1.0, "{} abs: {x}", h.name());
                    if h == TlHead::PreviousToken {
                        prop_assert!(x >= -1.0, "{} abs: {x}", h.name());
                    }
                }
            }
        }
    }
}
