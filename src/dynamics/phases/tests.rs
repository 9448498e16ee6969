//! Unit tests of the phase changes on synthetic dynamics lines.
use super::*;
use std::collections::BTreeMap;

/// A line at `step` with `induction` scores `[layer][head]` (variant with_bos) and `icl`.
fn line(step: usize, induction: Vec<Vec<f64>>, icl: Option<f64>) -> DynamicsLine {
    let mut scores = BTreeMap::new();
    let variants = BTreeMap::from([(Variant::WithBos.name().to_string(), induction)]);
    scores.insert(Detector::Induction.name().to_string(), variants);
    DynamicsLine {
        step,
        scores,
        tl_detect_head: BTreeMap::new(),
        icl,
        loss_by_pos: vec![],
        copying: vec![],
        composition: vec![],
        param_norm: BTreeMap::new(),
        metrics: BTreeMap::new(),
        grokking: None,
    }
}

/// Lines of a 1-layer model, one head per entry of each row of `heads`.
fn lines(heads: &[(usize, &[f64])]) -> Vec<DynamicsLine> {
    heads
        .iter()
        .map(|(s, h)| line(*s, vec![h.to_vec()], None))
        .collect()
}

#[test]
fn a_head_forms_at_its_last_crossing_of_half_its_final_score() {
    // Head 0.1 ends highest (0.8, threshold 0.4): above at 100, below at 200, above from
    // 300 on; the dip makes 300 the formation step.
    let l = lines(&[
        (0, &[0.1, 0.05]),
        (100, &[0.2, 0.5]),
        (200, &[0.3, 0.39]),
        (300, &[0.3, 0.6]),
        (400, &[0.35, 0.8]),
    ]);
    let f = head_formation(&l, Detector::Induction, 0.5).unwrap();
    assert_eq!(f.head, "0.1");
    assert_eq!(f.crossing.step, 300);
    assert_eq!(f.crossing.threshold, 0.4);
    assert_eq!(
        (f.crossing.final_value, f.crossing.initial),
        (0.8, Some(0.05))
    );
    // The order of the lines does not matter.
    let mut shuffled = l.clone();
    shuffled.reverse();
    assert_eq!(head_formation(&shuffled, Detector::Induction, 0.5), Some(f));
    // Another fraction moves the threshold: 0.24 is passed at 100 and kept.
    let f = head_formation(&l, Detector::Induction, 0.3).unwrap();
    assert_eq!(f.crossing.step, 100);
}

#[test]
fn ties_take_the_first_head_and_a_score_at_the_threshold_is_not_above_it() {
    let l = lines(&[(0, &[0.0, 0.0]), (10, &[0.5, 0.2]), (20, &[1.0, 1.0])]);
    let f = head_formation(&l, Detector::Induction, 0.5).unwrap();
    assert_eq!(f.head, "0.0");
    // 0.5 equals the threshold 0.5: not above it, so the head forms at 20.
    assert_eq!(f.crossing.step, 20);
    // Above from the first line on: the crossing is at step 0, and that is no formation,
    // even with a rise of MIN_RISE or more after it.
    let l = lines(&[(0, &[0.9]), (10, &[0.8]), (20, &[1.0])]);
    let f = head_formation(&l, Detector::Induction, 0.5).unwrap();
    assert_eq!((f.crossing.step, f.crossing.initial), (0, Some(0.9)));
    assert!(!f.formed);
    let l = lines(&[(0, &[0.4]), (10, &[0.5]), (20, &[0.6])]);
    let f = head_formation(&l, Detector::Induction, 0.5).unwrap();
    assert_eq!(f.crossing.step, 0);
    assert!(!f.formed, "already above its threshold 0.3 at step 0");
}

#[test]
fn missing_values_give_none_or_break_the_run() {
    assert_eq!(head_formation(&[], Detector::Induction, 0.5), None);
    assert_eq!(icl_crossing(&[], 0.5), None);
    // A NaN final score is skipped in choosing the head; all NaN: none.
    let l = lines(&[(0, &[0.1, 0.1]), (10, &[f64::NAN, 0.6])]);
    assert_eq!(
        head_formation(&l, Detector::Induction, 0.5).unwrap().head,
        "0.1"
    );
    let l = lines(&[(0, &[0.1]), (10, &[f64::NAN])]);
    assert_eq!(head_formation(&l, Detector::Induction, 0.5), None);
    // A NaN score in the middle breaks the run above the threshold.
    let l = lines(&[(0, &[0.9]), (10, &[f64::NAN]), (20, &[1.0])]);
    let f = head_formation(&l, Detector::Induction, 0.5).unwrap();
    assert_eq!(f.crossing.step, 20);
    // No step 0: no initial score.
    let l = lines(&[(10, &[0.2]), (20, &[1.0])]);
    assert_eq!(
        head_formation(&l, Detector::Induction, 0.5)
            .unwrap()
            .crossing
            .initial,
        None
    );
    // A detector that was not tracked, and a final score of 0 or below: none.
    assert_eq!(head_formation(&l, Detector::PreviousToken, 0.5), None);
    let l = lines(&[(0, &[0.2]), (20, &[0.0])]);
    assert_eq!(head_formation(&l, Detector::Induction, 0.5), None);
    let l = lines(&[(0, &[0.2]), (20, &[-0.1])]);
    assert_eq!(head_formation(&l, Detector::Induction, 0.5), None);
    // A NaN fraction makes no threshold to pass.
    let l = lines(&[(0, &[0.2]), (20, &[1.0])]);
    assert_eq!(head_formation(&l, Detector::Induction, f64::NAN), None);
}

#[test]
fn icl_forms_where_it_stays_below_half_its_negative_final_value() {
    let icl = |v: &[(usize, Option<f64>)]| -> Vec<DynamicsLine> {
        v.iter()
            .map(|(s, i)| line(*s, vec![vec![0.0]], *i))
            .collect()
    };
    // Final -1.0, threshold -0.5: at or below from 30 on (-0.5 counts), after a dip at 20.
    let l = icl(&[
        (0, Some(0.01)),
        (10, Some(-0.6)),
        (20, Some(-0.4)),
        (30, Some(-0.5)),
        (40, Some(-1.0)),
    ]);
    let c = icl_crossing(&l, 0.5).unwrap();
    assert_eq!((c.step, c.threshold, c.initial), (30, -0.5, Some(0.01)));
    // A final ICL score that is not negative, or missing: none.
    assert_eq!(
        icl_crossing(&icl(&[(0, Some(-0.2)), (10, Some(0.0))]), 0.5),
        None
    );
    assert_eq!(
        icl_crossing(&icl(&[(0, Some(-0.2)), (10, None)]), 0.5),
        None
    );
    assert_eq!(
        icl_crossing(&icl(&[(0, Some(-0.2)), (10, Some(f64::NAN))]), 0.5),
        None
    );
    // A missing value in the middle breaks the run.
    let c = icl_crossing(&icl(&[(0, Some(-2.0)), (10, None), (20, Some(-2.0))]), 0.5);
    assert_eq!(c.unwrap().step, 20);
}

#[test]
fn the_loss_drop_prefers_the_eval_curve_and_every_change_is_described() {
    let mut curves = Curves::new();
    curves.insert(log::LOSS.into(), vec![(0.0, 4.1), (10.0, 4.0), (20.0, 1.0)]);
    let d = loss_drop(&curves).unwrap();
    assert_eq!((d.step, d.curve.as_str()), (15.0, log::LOSS));
    curves.insert(
        eval_key(metric::LOSS),
        vec![(0.0, 3.0), (100.0, 2.9), (200.0, 0.5)],
    );
    let d = loss_drop(&curves).unwrap();
    assert_eq!((d.step, d.curve), (150.0, eval_key(metric::LOSS)));
    // Two eval points (no plateau to follow): no loss drop, no fallback.
    curves.insert(eval_key(metric::LOSS), vec![(0.0, 3.0), (100.0, 2.9)]);
    assert_eq!(loss_drop(&curves), None);
    assert_eq!(loss_drop(&Curves::new()), None);

    let mut curves = Curves::new();
    curves.insert(
        eval_key(metric::LOSS),
        vec![(300.0, 3.1), (400.0, 3.0), (460.0, 0.5)],
    );
    let l: Vec<DynamicsLine> = [(0, 0.04, 0.0), (400, 0.1, -0.1), (450, 0.87, -1.2)]
        .iter()
        .map(|&(s, i, c)| line(s, vec![vec![0.0], vec![i]], Some(c)))
        .collect();
    let pc = phase_changes(&curves, &l, DEFAULT_FRACTION);
    assert_eq!(pc.head(Detector::Induction), pc.induction.as_ref());
    assert_eq!(pc.previous_token, None);
    assert_eq!(
        pc.describe(),
        [
            "eval loss's phase change at step 430 (its steepest drop after the plateau)",
            "induction head 1.0 formed at step 450 (score 0.04 -> 0.87; threshold 0.43, rose fastest at step 425)",
            "in-context learning from step 450 (ICL score 0.00 -> -1.20; threshold -0.60)",
        ]
    );
    // The JSON names the final value `final` and keeps a missing formation as null.
    let json = serde_json::to_value(&pc).unwrap();
    assert_eq!(json["induction"]["final"], 0.87);
    assert_eq!(json["induction"]["head"], "1.0");
    assert!(json["previous_token"].is_null());
    let back: PhaseChanges = serde_json::from_value(json).unwrap();
    assert_eq!(back, pc);
    let empty = phase_changes(&Curves::new(), &[], DEFAULT_FRACTION);
    assert!(empty.describe().is_empty());
}
