//! `indu plot-dynamics` end to end: synthetic runs (the induction preset's config, written
//! metrics.jsonl and dynamics.jsonl with planted phase changes) give both figures and a
//! report naming the planted steps; runs overlay; a real tracked run plots; a run without
//! dynamics.jsonl and an unknown detector are refused with one line.
use crate::util::{fails, run_ok, tiny_run};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// Tracked every 50 steps to 1000; the loss falls by a factor 4 between evals 400 and 500.
const STEPS: usize = 1000;
const EVERY: usize = 50;
/// Head 1.0's induction score passes half its final value here (and dips below before).
const INDUCTION_AT: usize = 450;
/// Head 0.0's previous-token score passes half its final value here.
const PREVIOUS_AT: usize = 300;
/// The ICL score reaches half its final value here.
const ICL_AT: usize = 550;
const N_POS: usize = 32;

/// A run at `d/runs/name` with config.toml, metrics.jsonl and (when `tracked`)
/// dynamics.jsonl, every phase change planted `shift` steps later than the constants.
fn synthetic_run(d: &Path, name: &str, shift: usize, tracked: bool) -> PathBuf {
    let run = d.join("runs").join(name);
    std::fs::create_dir_all(&run).unwrap();
    let config = include_str!("../../configs/induction.toml");
    std::fs::write(run.join("config.toml"), config).unwrap();
    let mut metrics = String::new();
    for step in (0..=STEPS).step_by(10) {
        let loss = if step < 450 + shift { 3.2 } else { 0.8 };
        let mut line = json!({"step": step, "loss": loss, "lr": 5e-4});
        if step % 100 == 0 {
            line["eval_loss"] = json!(loss * 1.05);
        }
        metrics.push_str(&format!("{line}\n"));
    }
    std::fs::write(run.join("metrics.jsonl"), metrics).unwrap();
    if tracked {
        let lines: String = (0..=STEPS)
            .step_by(EVERY)
            .map(|s| format!("{}\n", line(s, shift)))
            .collect();
        std::fs::write(run.join("dynamics.jsonl"), lines).unwrap();
    }
    run
}

/// One dynamics.jsonl line of a 2-layer, 1-head model at `step`.
fn line(step: usize, shift: usize) -> Value {
    let after = |at: usize| step >= at + shift;
    // Induction: above the final 0.9's half at 200 (a false start), below at 250..400.
    let induction = if after(INDUCTION_AT) {
        0.9
    } else if step == 200 + shift {
        0.5
    } else {
        0.05
    };
    let previous = if after(PREVIOUS_AT) { 0.8 } else { 0.1 };
    let icl = if after(ICL_AT) { -1.5 } else { -0.1 };
    let matrix = |l0: f64, l1: f64| json!([[l0], [l1]]);
    let mut scores = serde_json::Map::new();
    for d in indu::detect::Detector::ALL {
        let m = match d {
            indu::detect::Detector::Induction => matrix(0.02, induction),
            indu::detect::Detector::PreviousToken => matrix(previous, 0.05),
            _ => matrix(0.3, 0.2),
        };
        scores.insert(d.name().into(), json!({"with_bos": m, "exclude_bos": m}));
    }
    let loss_by_pos: Vec<Value> = (0..N_POS)
        .map(|p| match p {
            0 => Value::Null,
            p if after(INDUCTION_AT) && p > N_POS / 2 => json!(0.2),
            _ => json!(3.0),
        })
        .collect();
    json!({
        "step": step,
        "scores": scores,
        "tl_detect_head": {},
        "icl": icl,
        "loss_by_pos": loss_by_pos,
        "copying": [[0.5], [0.5]],
        "composition": [],
        "param_norm": {"embed": 1.0},
        "metrics": {"det_acc": 0.5}
    })
}

fn size(path: &Path) -> (u32, u32) {
    let img = image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_rgb8();
    let mut colours: Vec<[u8; 3]> = img.pixels().map(|p| p.0).collect();
    colours.sort_unstable();
    colours.dedup();
    assert!(colours.len() > 20, "{} looks blank", path.display());
    img.dimensions()
}

fn report(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"))
}

#[test]
fn plot_dynamics_draws_both_figures_and_reports_the_planted_phase_changes() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let run = synthetic_run(d, "syn", 0, true);
    let r = report(&run_ok(
        d,
        &["plot-dynamics", "--run", "runs/syn", "--json"],
    ));
    assert_eq!(r["schema_version"], 1);
    let files: Vec<PathBuf> = r["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| d.join(f.as_str().unwrap()))
        .collect();
    let plots = run.join("plots");
    assert_eq!(
        files,
        [
            plots.join("dynamics.png"),
            plots.join("loss_by_position.png")
        ]
    );
    // Loss, induction, previous_token and ICL strips, about 250 px each, above a legend.
    let (w, h) = size(&files[0]);
    assert!(
        (1000..=1400).contains(&w) && (1000..=1500).contains(&h),
        "{w}x{h}"
    );
    // One row per position, one column per tracked step, and a colour bar.
    let (hw, hh) = size(&files[1]);
    assert!(hw > hh / 2 && hh >= N_POS as u32 * 10, "{hw}x{hh}");

    let run0 = &r["runs"][0];
    assert_eq!(run0["tracked"], STEPS / EVERY + 1);
    let pc = &run0["phase_changes"];
    assert_eq!(pc["fraction"], 0.5);
    assert_eq!(pc["loss_drop"]["step"], 450.0);
    assert_eq!(pc["loss_drop"]["curve"], "eval_loss");
    // The false start at step 200 is not the formation: the later, lasting crossing is.
    assert_eq!(pc["induction"]["head"], "1.0");
    assert_eq!(pc["induction"]["step"], INDUCTION_AT);
    assert_eq!(pc["induction"]["final"], 0.9);
    assert_eq!(pc["induction"]["initial"], 0.05);
    assert_eq!(pc["previous_token"]["head"], "0.0");
    assert_eq!(pc["previous_token"]["step"], PREVIOUS_AT);
    assert_eq!(pc["icl"]["step"], ICL_AT);
    assert_eq!(pc["icl"]["threshold"], -0.75);

    // Without --json: the human lines, then the files.
    let out = run_ok(d, &["plot-dynamics", "--run", "runs/syn"]);
    assert!(
        out.contains("induction head 1.0 formed at step 450 (score 0.05 -> 0.90; threshold 0.45)"),
        "{out}"
    );
    assert!(
        out.contains("eval loss's phase change at step 450"),
        "{out}"
    );
    assert!(
        out.contains("wrote runs/syn/plots/loss_by_position.png"),
        "{out}"
    );

    // A third detector strip makes the figure taller; repeats are drawn once.
    let args = ["plot-dynamics", "--run", "runs/syn", "--out", "three.png"];
    let more = ["--detector", "induction", "--detector", "duplicate_token"];
    run_ok(
        d,
        &[&args[..], &more, &["--detector", "previous_token"]].concat(),
    );
    let (_, h3) = size(&d.join("three.png"));
    run_ok(
        d,
        &[&args[..], &more, &["--detector", "induction"]].concat(),
    );
    let (_, h2) = size(&d.join("three.png"));
    assert!(h3 > h2 + 150, "three strips {h3} px, two {h2} px");
    assert!(d.join("loss_by_position.png").is_file());
}

#[test]
fn plot_dynamics_overlays_runs_in_one_figure() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    synthetic_run(d, "a", 0, true);
    synthetic_run(d, "b", 200, true);
    let args = ["plot-dynamics", "--run", "runs/a", "--run", "runs/b"];
    let r = report(&run_ok(
        d,
        &[&args[..], &["--out", "both.png", "--json"]].concat(),
    ));
    let steps: Vec<&Value> = r["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| &x["phase_changes"]["induction"]["step"])
        .collect();
    assert_eq!(steps, [INDUCTION_AT, INDUCTION_AT + 200]);
    size(&d.join("both.png"));
    // One loss-by-position panel per run, side by side (one panel alone is taller than
    // wide: 32 positions by 21 steps).
    let (w, h) = size(&d.join("loss_by_position.png"));
    assert!(w > h, "{w}x{h}");
    let out = run_ok(d, &args);
    assert!(
        out.contains("runs/a: induction head 1.0 formed at step 450"),
        "{out}"
    );
    assert!(
        out.contains("runs/b: induction head 1.0 formed at step 650"),
        "{out}"
    );
}

#[test]
fn plot_dynamics_refuses_an_untracked_run_and_an_unknown_detector() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    synthetic_run(d, "untracked", 0, false);
    let err = fails(d, &["plot-dynamics", "--run", "runs/untracked"]);
    assert!(err.contains("track_every"), "{err}");
    assert!(!d.join("runs/untracked/plots").exists());
    synthetic_run(d, "syn", 0, true);
    let err = fails(
        d,
        &[
            "plot-dynamics",
            "--run",
            "runs/syn",
            "--detector",
            "inductoin",
        ],
    );
    assert!(err.contains("unknown detector 'inductoin'"), "{err}");
    assert!(err.contains("previous_token"), "{err}");
    // An empty dynamics.jsonl: nothing tracked yet.
    std::fs::write(d.join("runs/syn/dynamics.jsonl"), "").unwrap();
    let err = fails(d, &["plot-dynamics", "--run", "runs/syn"]);
    assert!(err.contains("no tracked step"), "{err}");
}

#[test]
fn plot_dynamics_plots_a_real_tracked_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let small = ["--set", "train.eval_every=5", "--set", "train.eval_size=32"];
    let run = tiny_run(d, "induction", 10, "runs/real", &small);
    let r = report(&run_ok(d, &["plot-dynamics", "--json"]));
    assert_eq!(r["runs"][0]["tracked"], 3, "steps 0, 5 and 10");
    size(&run.join("plots/dynamics.png"));
    size(&run.join("plots/loss_by_position.png"));
}
