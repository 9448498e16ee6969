//! Hand-built attention patterns with scores worked out by hand, thresholds and flags,
//! names, report JSON shape and input errors of `indu::detect`.
use indu::detect::{
    flagged, score_all, score_heads, Detector, HeadScores, HeadsReport, Patterns, Probe,
    Thresholds, Variant,
};

const EPS: f64 = 1e-6;

/// One layer, one head, one sequence from a `[pos][pos]` matrix.
fn single(rows: &[Vec<f32>]) -> Patterns {
    let pos = rows.len();
    let data: Vec<f32> = rows.iter().flatten().copied().collect();
    Patterns::new(1, 1, 1, pos, vec![data]).unwrap()
}

/// `[pos][pos]` matrix with `A[q, target(q)] = 1`.
fn one_hot(pos: usize, target: impl Fn(usize) -> usize) -> Vec<Vec<f32>> {
    (0..pos)
        .map(|q| {
            let mut r = vec![0.0; pos];
            r[target(q)] = 1.0;
            r
        })
        .collect()
}

fn score(p: &Patterns, tokens: &[u32], probe: Option<Probe>, d: Detector, v: Variant) -> f64 {
    score_heads(p, tokens, probe, d, v).unwrap()[0][0]
}

fn close(got: f64, want: f64) {
    assert!((got - want).abs() < EPS, "got {got}, want {want}");
}

#[test]
fn perfect_induction_on_the_probe() {
    // Probe t = 3, k = 3: [BOS] a b c a b c a b c (pos 10). Queries in copies 1.. attend to
    // the token after the previous copy's occurrence (q - 3 + 1); copy 0 attends to itself
    // and BOS to itself, so no query ever looks at q - 1 (t != 2).
    let probe = Probe { t: 3, k: 3 };
    let rows = one_hot(10, |q| if q >= 4 { q - 2 } else { q });
    let p = single(&rows);
    let tokens = [0u32, 5, 6, 7, 5, 6, 7, 5, 6, 7];
    for v in Variant::ALL {
        close(score(&p, &[], Some(probe), Detector::Induction, v), 1.0);
        close(score(&p, &[], Some(probe), Detector::PreviousToken, v), 0.0);
        close(
            score(&p, &[], Some(probe), Detector::DuplicateToken, v),
            0.0,
        );
        // Token-based targets agree on a probe without repeats inside r.
        close(score(&p, &tokens, None, Detector::Induction, v), 1.0);
        close(score(&p, &tokens, None, Detector::DuplicateToken, v), 0.0);
    }
    // current: queries 0..=3 attend to themselves -> 4 / 10.
    close(
        score(&p, &[], None, Detector::CurrentToken, Variant::WithBos),
        0.4,
    );
}

#[test]
fn induction_sums_over_every_earlier_copy() {
    // Probe t = 2, k = 3 (pos 7). Copy 2 (q = 5, 6) splits its attention between the two
    // earlier copies' next tokens: q - 2 + 1 and q - 4 + 1; the sum is 1.
    let probe = Probe { t: 2, k: 3 };
    let mut rows = one_hot(7, |q| if q >= 3 { q - 1 } else { 0 });
    for q in 5..7 {
        rows[q] = vec![0.0; 7];
        rows[q][q - 1] = 0.5;
        rows[q][q - 3] = 0.5;
    }
    let p = single(&rows);
    close(
        score(&p, &[], Some(probe), Detector::Induction, Variant::WithBos),
        1.0,
    );
}

#[test]
fn perfect_previous_token() {
    // A[q, q-1] = 1 for q >= 1, A[0, 0] = 1; pos 6.
    let p = single(&one_hot(6, |q| q.saturating_sub(1)));
    close(
        score(&p, &[], None, Detector::PreviousToken, Variant::WithBos),
        1.0,
    );
    // ExcludeBos counts q >= 2 (q = 1's only target is the begin token).
    close(
        score(&p, &[], None, Detector::PreviousToken, Variant::ExcludeBos),
        1.0,
    );
    // current: only q = 0 -> 1/6; first: q = 0, 1 -> 2/6.
    close(
        score(&p, &[], None, Detector::CurrentToken, Variant::WithBos),
        1.0 / 6.0,
    );
    close(
        score(&p, &[], None, Detector::FirstToken, Variant::WithBos),
        2.0 / 6.0,
    );
    // ExcludeBos current: q = 1 has no mass on keys >= 1 (contributes 0), q >= 2 attend
    // to q - 1 -> 0.
    close(
        score(&p, &[], None, Detector::CurrentToken, Variant::ExcludeBos),
        0.0,
    );
    // first_token never counts a query under ExcludeBos: not applicable (NaN), not 0.
    assert!(score(&p, &[], None, Detector::FirstToken, Variant::ExcludeBos).is_nan());
}

#[test]
fn uniform_causal_attention() {
    // A[q, k] = 1 / (q + 1) for k <= q, pos N = 5, probe t = 2, k = 2.
    // H_5 = 1 + 1/2 + 1/3 + 1/4 + 1/5 = 137/60; H_4 = 25/12.
    // current  = mean_q 1/(q+1)            = H_5 / 5       = 137/300
    // previous = mean_{q>=1} 1/(q+1)       = (H_5 - 1) / 4 = 77/240
    // first    = mean_q 1/(q+1)            = 137/300
    // induction: copy 1 = q 3, 4 -> A[3, 2] = 1/4, A[4, 3] = 1/5 -> 9/40; duplicate the same.
    // ExcludeBos: row q >= 1 renormalised over 1..=q is 1/q:
    // current  = mean_{q>=1} 1/q = H_4 / 4 = 25/48; previous = mean_{q>=2} 1/q = 13/36;
    // first = 0; induction = (1/3 + 1/4) / 2 = 7/24.
    let n = 5;
    let rows: Vec<Vec<f32>> = (0..n)
        .map(|q| {
            (0..n)
                .map(|k| if k <= q { 1.0 / (q as f32 + 1.0) } else { 0.0 })
                .collect()
        })
        .collect();
    let p = single(&rows);
    let probe = Some(Probe { t: 2, k: 2 });
    let w = Variant::WithBos;
    let x = Variant::ExcludeBos;
    close(
        score(&p, &[], None, Detector::CurrentToken, w),
        137.0 / 300.0,
    );
    close(
        score(&p, &[], None, Detector::PreviousToken, w),
        77.0 / 240.0,
    );
    close(score(&p, &[], None, Detector::FirstToken, w), 137.0 / 300.0);
    close(score(&p, &[], probe, Detector::Induction, w), 9.0 / 40.0);
    close(
        score(&p, &[], probe, Detector::DuplicateToken, w),
        9.0 / 40.0,
    );
    close(score(&p, &[], None, Detector::CurrentToken, x), 25.0 / 48.0);
    close(
        score(&p, &[], None, Detector::PreviousToken, x),
        13.0 / 36.0,
    );
    assert!(score(&p, &[], None, Detector::FirstToken, x).is_nan());
    close(score(&p, &[], probe, Detector::Induction, x), 7.0 / 24.0);
}

#[test]
fn exclude_bos_renormalises_rows() {
    // row 0 [1, 0, 0]; row 1 [0.6, 0.4, 0]; row 2 [0.5, 0.1, 0.4].
    // WithBos: previous = (0.6 + 0.1) / 2 = 0.35; current = (1 + 0.4 + 0.4) / 3 = 0.6.
    // ExcludeBos: previous counts q = 2 only: 0.1 / 0.5 = 0.2;
    // current: q = 1: 0.4 / 0.4 = 1, q = 2: 0.4 / 0.5 = 0.8 -> 0.9.
    let p = single(&[
        vec![1.0, 0.0, 0.0],
        vec![0.6, 0.4, 0.0],
        vec![0.5, 0.1, 0.4],
    ]);
    close(
        score(&p, &[], None, Detector::PreviousToken, Variant::WithBos),
        0.35,
    );
    close(
        score(&p, &[], None, Detector::CurrentToken, Variant::WithBos),
        0.6,
    );
    close(
        score(&p, &[], None, Detector::PreviousToken, Variant::ExcludeBos),
        0.2,
    );
    close(
        score(&p, &[], None, Detector::CurrentToken, Variant::ExcludeBos),
        0.9,
    );
    // A row with all its mass on the begin token contributes 0 (and is still counted):
    // row 1 -> 0, row 2 -> 0.8: current = 0.4.
    let p = single(&[
        vec![1.0, 0.0, 0.0],
        vec![1.0, 0.0, 0.0],
        vec![0.5, 0.1, 0.4],
    ]);
    close(
        score(&p, &[], None, Detector::CurrentToken, Variant::ExcludeBos),
        0.4,
    );
}

#[test]
fn batch_pooling_and_token_targets() {
    // Two sequences of 4, one head. Row 0 tokens [0, 1, 2, 1]: q = 3 repeats token 1 (j = 1)
    // and attends fully to j + 1 = 2. Row 1 [0, 1, 2, 3] has no repeats: it counts no query,
    // so the pooled induction score is 1 (not 0.5).
    let a0 = one_hot(4, |q| if q == 3 { 2 } else { q });
    let a1 = one_hot(4, |q| q);
    let data: Vec<f32> = a0.iter().chain(a1.iter()).flatten().copied().collect();
    let p = Patterns::new(1, 1, 2, 4, vec![data]).unwrap();
    let tokens = [0u32, 1, 2, 1, 0, 1, 2, 3];
    close(
        score(&p, &tokens, None, Detector::Induction, Variant::WithBos),
        1.0,
    );
    close(
        score(
            &p,
            &tokens,
            None,
            Detector::DuplicateToken,
            Variant::WithBos,
        ),
        0.0,
    );
    // Positional: current = (3/4 + 4/4) / 2 = the score of the batch-mean pattern.
    close(
        score(&p, &[], None, Detector::CurrentToken, Variant::WithBos),
        0.875,
    );
    // No sequence has a repeat: nothing is counted, the score is not applicable (NaN).
    let none = [0u32, 1, 2, 3, 0, 1, 2, 3];
    assert!(score(&p, &none, None, Detector::Induction, Variant::WithBos).is_nan());
}

#[test]
fn layers_and_heads_are_indexed_as_hook_pattern() {
    // 2 layers x 2 heads; only layer 1 head 0 is a previous-token head.
    let prev: Vec<f32> = one_hot(3, |q| q.saturating_sub(1)).concat();
    let cur: Vec<f32> = one_hot(3, |q| q).concat();
    let l0 = [cur.clone(), cur.clone()].concat();
    let l1 = [prev, cur].concat();
    let p = Patterns::new(2, 2, 1, 3, vec![l0, l1]).unwrap();
    let s = score_heads(&p, &[], None, Detector::PreviousToken, Variant::WithBos).unwrap();
    assert_eq!(s, vec![vec![0.0, 0.0], vec![1.0, 0.0]]);
    assert_eq!(flagged(&s, 0.4), vec!["1.0".to_string()]);
}

#[test]
fn thresholds_and_flags() {
    let t = Thresholds::default();
    assert_eq!(t.get(Detector::CurrentToken), 0.4);
    assert_eq!(t.get(Detector::PreviousToken), 0.4);
    assert_eq!(t.get(Detector::FirstToken), 0.4);
    assert_eq!(t.get(Detector::DuplicateToken), 0.4);
    assert_eq!(t.get(Detector::Induction), 0.2);
    // Strictly above; NaN never flagged.
    let s = vec![vec![0.1, 0.5, f64::NAN], vec![0.41, 0.4, 0.0]];
    assert_eq!(flagged(&s, 0.4), vec!["0.1", "1.0"]);
    // Partial JSON keeps the other defaults; unknown keys are rejected.
    let t: Thresholds = serde_json::from_str(r#"{"induction": 0.3}"#).unwrap();
    assert_eq!(t.induction, 0.3);
    assert_eq!(t.previous_token, 0.4);
    assert!(serde_json::from_str::<Thresholds>(r#"{"inductoin": 0.3}"#).is_err());
}

#[test]
fn names_round_trip() {
    for d in Detector::ALL {
        assert_eq!(d.to_string().parse::<Detector>().unwrap(), d);
    }
    for v in Variant::ALL {
        assert_eq!(v.to_string().parse::<Variant>().unwrap(), v);
    }
    assert_eq!(Detector::PreviousToken.to_string(), "previous_token");
    assert_eq!(Variant::ExcludeBos.to_string(), "exclude_bos");
    assert!("induction_head".parse::<Detector>().is_err());
    assert!("bos".parse::<Variant>().is_err());
}

#[test]
fn score_all_and_report_json() {
    let p = single(&one_hot(7, |q| if q >= 4 { q - 2 } else { q }));
    let scores = score_all(&p, &[], Some(Probe { t: 3, k: 2 })).unwrap();
    assert_eq!(scores.scores.len(), 5);
    for d in Detector::ALL {
        for v in Variant::ALL {
            assert_eq!(scores.get(d, v).unwrap().len(), 1);
        }
    }
    let report = HeadsReport::new(
        indu::probe::Source::Probe,
        Some(Probe { t: 3, k: 2 }),
        1,
        Thresholds::default(),
        scores,
    );
    assert_eq!(report.flagged["induction"]["with_bos"], vec!["0.0"]);
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(
        json["scores"]["scores"]["induction"]["exclude_bos"][0][0],
        1.0
    );
    assert_eq!(json["probe"]["t"], 3);
    // first_token under exclude_bos counts no query: null, not 0.
    assert!(json["scores"]["scores"]["first_token"]["exclude_bos"][0][0].is_null());
    let back: HeadsReport = serde_json::from_value(json.clone()).unwrap();
    // NaN != NaN, so compare the JSON of the round trip.
    assert_eq!(serde_json::to_value(&back).unwrap(), json);
    let empty = HeadScores::new(2, 3);
    assert!(empty.get(Detector::Induction, Variant::WithBos).is_none());
}

#[test]
fn bad_inputs_are_errors() {
    let good = one_hot(4, |q| q).concat();
    // Wrong layer length / count.
    assert!(Patterns::new(1, 1, 1, 4, vec![good[..15].to_vec()]).is_err());
    assert!(Patterns::new(2, 1, 1, 4, vec![good.clone()]).is_err());
    assert!(Patterns::new(1, 1, 0, 4, vec![vec![]]).is_err());
    let mut p = Patterns::new(1, 1, 1, 4, vec![good.clone()]).unwrap();
    // Probe length must be 1 + t*k.
    let bad_probe = Some(Probe { t: 2, k: 2 });
    assert!(score_heads(&p, &[], bad_probe, Detector::Induction, Variant::WithBos).is_err());
    let zero = Some(Probe { t: 0, k: 3 });
    assert!(score_heads(&p, &[], zero, Detector::CurrentToken, Variant::WithBos).is_err());
    // Token-based detectors need [batch, pos] tokens; positional ones do not.
    assert!(score_heads(&p, &[], None, Detector::Induction, Variant::WithBos).is_err());
    assert!(score_heads(
        &p,
        &[1, 2],
        None,
        Detector::DuplicateToken,
        Variant::WithBos
    )
    .is_err());
    assert!(score_heads(&p, &[], None, Detector::FirstToken, Variant::WithBos).is_ok());
    assert!(score_all(&p, &[], None).is_err());
    // Fields are public: a later mismatch is caught, not a panic.
    p.data[0].pop();
    assert!(score_heads(&p, &[], None, Detector::CurrentToken, Variant::WithBos).is_err());
    assert!(p.prefix(2).is_err());
}

#[test]
fn not_applicable_scores_are_null_in_json_and_read_back_as_nan() {
    let mut s = HeadScores::new(1, 2);
    s.insert(
        Detector::FirstToken,
        Variant::ExcludeBos,
        vec![vec![f64::NAN, 0.5]],
    );
    let json = serde_json::to_string(&s).unwrap();
    assert!(json.contains("[[null,0.5]]"), "{json}");
    let back: HeadScores = serde_json::from_str(&json).unwrap();
    let m = back.get(Detector::FirstToken, Variant::ExcludeBos).unwrap();
    assert!(m[0][0].is_nan());
    assert_eq!(m[0][1], 0.5);
    // A not-applicable score is never flagged.
    let flags = back.flags(&Thresholds {
        first_token: -1.0,
        ..Thresholds::default()
    });
    assert_eq!(flags["first_token"]["exclude_bos"], vec!["0.1".to_string()]);
}
