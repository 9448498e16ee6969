//! The report on a hand-built sweep directory: a real `sweep.toml` (`Sweep::create`) and run
//! directories holding only the files the report reads, with values chosen here.
use super::stats::{bin_width, bins, median, quantile};
use super::table::{csv, header, human, quote};
use super::*;
use crate::dynamics::DynamicsLine;
use crate::sweep::result::PointResult;
use crate::sweep::spec::{Base, SweepSpec};
use crate::sweep::{status, Sweep};
use serde_json::json;
use std::collections::BTreeMap;

/// lr in {1e-3, 2e-3} x seed 0..3: six points.
fn sweep(dir: &std::path::Path) -> Sweep {
    let base = Base::preset("induction", vec!["train.steps=400".into()]).unwrap();
    let grid = ["train.lr=1e-3,2e-3".to_string(), "seed=0..3".to_string()];
    let spec = SweepSpec::from_grid(base, &grid, None).unwrap();
    Sweep::create(dir, &spec, false).unwrap()
}

/// A dynamics line at `step` whose with_bos induction scores are `ind` ([layer][head]).
fn line(step: usize, ind: Vec<Vec<f64>>) -> DynamicsLine {
    let mut scores = BTreeMap::new();
    let table = |m: Vec<Vec<f64>>| BTreeMap::from([("with_bos".to_string(), m)]);
    scores.insert("induction".to_string(), table(ind));
    scores.insert(
        "previous_token".to_string(),
        table(vec![vec![0.7], vec![0.1]]),
    );
    DynamicsLine {
        step,
        scores,
        tl_detect_head: BTreeMap::new(),
        icl: None,
        loss_by_pos: vec![],
        copying: vec![],
        composition: vec![],
        param_norm: BTreeMap::new(),
        metrics: BTreeMap::new(),
        grokking: None,
    }
}

/// A done run: its summary (formed at `formed` when given), metrics with det_acc rising
/// by 0.25 per eval of 100 steps (0.25 at step 100, 1.0 from step 400), dynamics lines.
fn done(sweep: &Sweep, i: usize, loss: f64, formed: Option<usize>, dynamics: bool) {
    let p = sweep.point(i).unwrap().clone();
    let run = sweep.run(&p);
    std::fs::create_dir_all(&run.path).unwrap();
    let head = json!({"head": "1.0", "formed": formed.is_some(), "step": formed.unwrap_or(300),
        "threshold": 0.2, "final": 0.4, "initial": 0.05});
    let summary = json!({
        "task": "induction", "steps": 400, "seed": i, "final_train_loss": loss * 2.0,
        "final_eval": {"loss": loss, "acc": 0.8, "det_acc": 0.999, "nan_metric": null},
        "stopped_at": null,
        "phase_changes": {"fraction": 0.5,
            "loss_drop": {"step": 250.0, "factor": 2.0, "curve": "eval_loss"},
            "induction": head, "previous_token": null, "icl": null},
    });
    std::fs::write(run.summary(), summary.to_string()).unwrap();
    let metrics: String = (1..=4)
        .map(|k| {
            format!(
                "{{\"step\":{},\"eval_det_acc\":{}}}\n",
                100 * k,
                0.25 * k as f64
            )
        })
        .collect();
    std::fs::write(
        run.metrics(),
        format!("{{\"step\":1,\"loss\":3.3}}\n{metrics}"),
    )
    .unwrap();
    if dynamics {
        // The last line in step order is the one read, whatever the file order.
        let lines = [
            line(400, vec![vec![0.1], vec![0.5 + i as f64 / 100.0]]),
            line(0, vec![vec![0.0], vec![0.0]]),
        ];
        let text: String = lines
            .iter()
            .map(|l| serde_json::to_string(l).unwrap() + "\n")
            .collect();
        std::fs::write(run.path.join(crate::train::DYNAMICS_FILE), text).unwrap();
    } else {
        let heads = json!({"scores": {"scores": {"induction": {"with_bos": [[null], [0.3]]}}}});
        std::fs::write(run.heads(), heads.to_string()).unwrap();
    }
    record(sweep, i, State::Done);
}

fn record(sweep: &Sweep, i: usize, state: State) {
    let p = sweep.point(i).unwrap();
    let mut r = PointResult::started(i, &p.name, 1);
    r.state = state;
    r.exit_code = Some(if state == State::Done { 0 } else { 2 });
    sweep.record(&r).unwrap();
}

/// Points 0..3 (lr 1e-3) done, 3 done without dynamics, 4 failed, 5 missing.
fn report(dir: &std::path::Path) -> SweepReport {
    let s = sweep(dir);
    done(&s, 0, 0.8, Some(200), true);
    done(&s, 1, 0.9, None, true);
    done(&s, 2, 1.0, Some(300), true);
    done(&s, 3, 2.0, Some(350), false);
    record(&s, 4, State::Failed);
    let st = status::status(&s, &BTreeMap::new(), &|_| None);
    build(&s, &st).unwrap()
}

#[test]
fn every_point_has_a_row_and_done_ones_their_values() {
    let dir = tempfile::tempdir().unwrap();
    let r = report(dir.path());
    assert_eq!(r.task, "induction");
    assert_eq!(r.rows.len(), 6);
    let states: Vec<State> = r.rows.iter().map(|x| x.state).collect();
    use State::*;
    assert_eq!(states, [Done, Done, Done, Done, Failed, Missing]);
    let a = &r.rows[0];
    assert_eq!(a.name, "lr=1e-3/seed=0");
    assert_eq!(a.values, ["1e-3", "0"]);
    assert_eq!((a.steps, a.final_train_loss), (Some(400), Some(1.6)));
    assert_eq!(a.final_eval.get("det_acc"), Some(&0.999));
    // null metrics are left out, not zeros.
    assert!(!a.final_eval.contains_key("nan_metric"));
    assert_eq!(r.eval_metrics, ["loss", "acc", "det_acc"]);
    // det_acc >= 0.99 first holds at step 400 (0.25 per 100 steps).
    assert_eq!(a.steps_to_target, Some(400));
    assert_eq!(a.loss_drop_step, Some(250.0));
    // Formation: the crossing step when formed; a head that never formed has none.
    assert_eq!(a.induction_formed_step, Some(200));
    assert_eq!(r.rows[1].induction_formed, Some(false));
    assert_eq!(r.rows[1].induction_formed_step, None);
    assert_eq!(r.rows[1].induction_head.as_deref(), Some("1.0"));
    // Scores: the line of the last step (not the last in the file), else heads.json.
    assert_eq!(a.scores.get("induction_1.0"), Some(&0.5));
    assert_eq!(a.scores_from.as_deref(), Some("dynamics.jsonl"));
    assert_eq!(r.rows[3].scores.get("induction_1.0"), Some(&0.3));
    assert!(!r.rows[3].scores.contains_key("induction_0.0"));
    assert_eq!(r.rows[3].scores_from.as_deref(), Some("heads.json"));
    assert_eq!(
        r.score_columns,
        [
            "previous_token_0.0",
            "previous_token_1.0",
            "induction_0.0",
            "induction_1.0"
        ]
    );
    // Failed and missing points: state, name and axis values only.
    for row in &r.rows[4..] {
        assert_eq!(row.values[0], "2e-3");
        assert!(row.steps.is_none() && row.final_eval.is_empty() && row.scores.is_empty());
    }
}

#[test]
fn settings_count_the_seeds_that_formed_a_head() {
    let dir = tempfile::tempdir().unwrap();
    let r = report(dir.path());
    let names: Vec<&str> = r.settings.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["lr=1e-3", "lr=2e-3"]);
    assert_eq!((r.settings[0].tracked, r.settings[0].formed), (3, 2));
    assert_eq!((r.settings[1].tracked, r.settings[1].formed), (1, 1));
    assert_eq!(r.rows[4].setting, 1);
    assert_eq!(r.formation.steps, [200, 300, 350]);
    assert_eq!((r.formation.never, r.formation.untracked), (1, 0));
    // 400 steps in bins of 50.
    assert_eq!(r.formation.bins.len(), 8);
    assert_eq!(r.formation.bins[4].lo, 200);
    let counts: Vec<usize> = r.formation.bins.iter().map(|b| b.count).collect();
    assert_eq!(counts, [0, 0, 0, 0, 1, 0, 1, 1]);
}

#[test]
fn the_lr_axis_is_plotted_with_medians_over_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let r = report(dir.path());
    assert_eq!(r.plot_metrics, ["loss", "det_acc"]);
    assert_eq!(r.axes[0].scale, Scale::Linear);
    assert!(r.axes[1].seed);
    assert_eq!(r.plots.len(), 1);
    let p = &r.plots[0];
    assert_eq!(p.axis, 0);
    assert_eq!(p.groups.len(), 1);
    assert_eq!(p.groups[0].name, build::ALL_RUNS);
    // lr 1e-3: losses 0.8, 0.9, 1.0 -> 0.9; lr 2e-3: 2.0 alone (the failed run has none).
    assert_eq!(p.groups[0].medians["loss"], [(0.001, 0.9), (0.002, 2.0)]);
}

#[test]
fn csv_has_a_header_and_a_line_per_row_with_every_column() {
    let dir = tempfile::tempdir().unwrap();
    let r = report(dir.path());
    let text = csv(&r);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 7);
    let h = header(&r);
    assert_eq!(lines[0], h.join(","));
    assert_eq!(&h[..5], ["index", "name", "state", "train.lr", "seed"]);
    assert!(h.contains(&"eval_det_acc".to_string()));
    assert!(h.contains(&"score_induction_1.0".to_string()));
    for l in &lines {
        assert_eq!(l.split(',').count(), h.len(), "{l}");
    }
    assert!(lines[1]
        .starts_with("0,lr=1e-3/seed=0,done,1e-3,0,400,,1.6,0.8,0.8,0.999,400,250,1.0,200,,"));
    assert!(lines[5].starts_with("4,lr=2e-3/seed=1,failed,2e-3,1,,,"));
}

#[test]
fn csv_fields_are_quoted_only_when_they_must_be() {
    assert_eq!(quote("lr=1e-3/seed=0"), "lr=1e-3/seed=0");
    assert_eq!(quote("1,2"), "\"1,2\"");
    assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
    assert_eq!(quote("two\nlines"), "\"two\nlines\"");
    assert_eq!(quote(""), "");
}

#[test]
fn human_table_has_a_row_per_run() {
    let dir = tempfile::tempdir().unwrap();
    let r = report(dir.path());
    let h = human(&r);
    assert!(
        h[0].contains("6 runs of induction (4 done, 1 failed, 1 missing)"),
        "{h:?}"
    );
    assert!(
        h[1].starts_with("| name ") && h[1].contains("eval det_acc"),
        "{h:?}"
    );
    assert!(
        h[3].contains("lr=1e-3/seed=0") && h[3].contains("step 200"),
        "{h:?}"
    );
    assert!(h[4].contains("never"), "{h:?}");
    assert!(h[7].contains("failed") && h[7].contains(" - "), "{h:?}");
    assert_eq!(h[9], "lr=1e-3: 2 of 3 seeds formed an induction head");
}

#[test]
fn quantiles_interpolate_between_order_statistics() {
    let v = [4.0, 1.0, 3.0, 2.0];
    assert_eq!(quantile(&v, 0.0), Some(1.0));
    assert_eq!(quantile(&v, 1.0), Some(4.0));
    assert!((quantile(&v, 0.1).unwrap() - 1.3).abs() < 1e-12);
    assert!((quantile(&v, 0.9).unwrap() - 3.7).abs() < 1e-12);
    assert_eq!(median(&v), Some(2.5));
    assert_eq!(median(&[3.0, f64::NAN, 1.0, 2.0]), Some(2.0));
    assert_eq!(median(&[]), None);
    assert_eq!(median(&[f64::NAN]), None);
    assert_eq!(quantile(&v, 1.5), None);
}

#[test]
fn bins_have_round_widths_and_cover_every_value() {
    assert_eq!(bin_width(1500), 200);
    assert_eq!(bin_width(400), 50);
    assert_eq!(bin_width(7), 1);
    assert_eq!(bin_width(0), 1);
    let b = bins(&[0, 199, 200, 1499], 1500);
    assert_eq!(b.len(), 8);
    assert_eq!((b[0].lo, b[0].hi, b[0].count), (0, 200, 2));
    assert_eq!(b[1].count, 1);
    assert_eq!((b[7].lo, b[7].hi, b[7].count), (1400, 1600, 1));
    assert!(bins(&[], 0).is_empty());
}
