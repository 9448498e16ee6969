//! The strips of `dynamics.png`: the loss (log y), one strip of head scores per detector
//! (one line per head: one colour each for one run; over several runs one colour per run
//! and one dash per head, the strongest first), the ICL score, and the phase-change markers.
use super::Loaded;
use crate::detect::{Detector, Variant};
use crate::dynamics::DynamicsLine;
use crate::plot::{Dash, Ink, Line, Stack, StackMarker, Strip};
use crate::tasks::metric;
use crate::train::log::{self, eval_key};

/// A single run names this many heads per strip (one colour each); the others are grey.
const NAMED_HEADS: usize = 10;
/// Several runs name this many heads per run and strip (one dash each).
const NAMED_HEADS_PER_RUN: usize = Dash::ALL.len();

/// The strips (loss, one per detector, ICL when tracked) and the phase-change markers.
pub(super) fn figure(runs: &[Loaded], detectors: &[Detector], title: String) -> Stack {
    let multi = runs.len() > 1;
    let mut strips = vec![loss_strip(runs)];
    let mut markers = Vec::new();
    for (r, run) in runs.iter().enumerate() {
        if let Some(d) = &run.phases.loss_drop {
            markers.push(StackMarker {
                x: d.step,
                label: marker_label(multi, &run.name, "loss phase change", d.step),
                ink: Ink::Series(if multi { r } else { 0 }),
                strip: 0,
                through: !multi,
            });
        }
    }
    for &d in detectors {
        let strip = strips.len();
        strips.push(detector_strip(runs, d));
        for (r, run) in runs.iter().enumerate() {
            let Some(f) = run.phases.head(d) else {
                continue;
            };
            let ink = match (multi, head_index(&run.lines, &f.head)) {
                (false, Some(i)) if n_heads(&run.lines) <= NAMED_HEADS => Ink::Series(i),
                (false, _) => Ink::Grey,
                (true, _) => Ink::Series(r),
            };
            let what = format!("{} forms", f.head);
            markers.push(StackMarker {
                x: f.crossing.step as f64,
                label: marker_label(multi, &run.name, &what, f.crossing.step as f64),
                ink,
                strip,
                through: !multi,
            });
        }
    }
    if runs.iter().any(|r| r.lines.iter().any(|l| l.icl.is_some())) {
        let strip = strips.len();
        strips.push(icl_strip(runs));
        for (r, run) in runs.iter().enumerate() {
            if let Some(c) = &run.phases.icl {
                markers.push(StackMarker {
                    x: c.step as f64,
                    label: marker_label(multi, &run.name, "ICL", c.step as f64),
                    ink: Ink::Series(if multi { r } else { 0 }),
                    strip,
                    through: !multi,
                });
            }
        }
    }
    Stack {
        title,
        x_label: "step".into(),
        strips,
        markers,
    }
}

/// "loss phase change (430)", or "run-a: 430" over several runs.
fn marker_label(multi: bool, run: &str, what: &str, step: f64) -> String {
    if multi {
        format!("{run}: {what} {step:.0}")
    } else {
        format!("{what} ({step:.0})")
    }
}

/// Train and eval loss (log y).
fn loss_strip(runs: &[Loaded]) -> Strip {
    let multi = runs.len() > 1;
    let mut lines = Vec::new();
    let eval = eval_key(metric::LOSS);
    for (r, run) in runs.iter().enumerate() {
        for (key, what, single, several) in [
            (log::LOSS, "train", Ink::Light(0), Ink::Light(r)),
            (eval.as_str(), "eval", Ink::Series(0), Ink::Series(r)),
        ] {
            let Some(points) = run.curves.get(key) else {
                continue;
            };
            let (name, ink) = if multi {
                (format!("{} {what}", run.name), several)
            } else {
                (format!("{what} loss"), single)
            };
            lines.push(Line {
                name,
                points: points.clone(),
                ink,
                dash: Dash::Solid,
            });
        }
    }
    Strip {
        title: "loss".into(),
        y_label: "loss".into(),
        log_y: true,
        y_range: None,
        lines,
    }
}

/// The `[layer][head]` scores of `d` (variant with_bos) of a line, when tracked.
fn scores(l: &DynamicsLine, d: Detector) -> Option<&Vec<Vec<f64>>> {
    l.scores.get(d.name())?.get(Variant::WithBos.name())
}

/// Every head of the run's last line ("layer.head"), in layer-then-head order.
fn heads(lines: &[DynamicsLine]) -> Vec<(usize, usize)> {
    let Some(last) = lines.iter().max_by_key(|l| l.step) else {
        return Vec::new();
    };
    let shape = last.scores.values().flat_map(|v| v.values()).next();
    let mut out = Vec::new();
    for (layer, row) in shape.into_iter().flatten().enumerate() {
        out.extend((0..row.len()).map(|h| (layer, h)));
    }
    out
}

fn n_heads(lines: &[DynamicsLine]) -> usize {
    heads(lines).len()
}

/// The position of head "L.H" in layer-then-head order.
fn head_index(lines: &[DynamicsLine], name: &str) -> Option<usize> {
    heads(lines)
        .iter()
        .position(|(l, h)| format!("{l}.{h}") == name)
}

/// One line per head of every run: named heads (strongest final score first) coloured,
/// the rest light or grey, with one legend entry for them.
fn detector_strip(runs: &[Loaded], d: Detector) -> Strip {
    let multi = runs.len() > 1;
    let mut lines = Vec::new();
    for (r, run) in runs.iter().enumerate() {
        let all = heads(&run.lines);
        let last = run.lines.iter().max_by_key(|l| l.step);
        let final_of = |&(l, h): &(usize, usize)| -> f64 {
            last.and_then(|x| scores(x, d))
                .and_then(|m| m.get(l)?.get(h).copied())
                .filter(|s| s.is_finite())
                .unwrap_or(f64::NEG_INFINITY)
        };
        let mut ranked: Vec<(usize, (usize, usize))> = all.iter().copied().enumerate().collect();
        ranked.sort_by(|a, b| final_of(&b.1).total_cmp(&final_of(&a.1)));
        let named = if multi {
            NAMED_HEADS_PER_RUN
        } else if all.len() <= NAMED_HEADS {
            all.len()
        } else {
            NAMED_HEADS - 1
        };
        let others = ranked.len().saturating_sub(named);
        for (rank, (index, (l, h))) in ranked.into_iter().enumerate() {
            let points: Vec<(f64, f64)> = run
                .lines
                .iter()
                .map(|x| {
                    let s = scores(x, d).and_then(|m| m.get(l)?.get(h).copied());
                    (x.step as f64, s.unwrap_or(f64::NAN))
                })
                .collect();
            let head = format!("{l}.{h}");
            let (name, ink, dash) = match (rank < named, multi) {
                (true, false) if others == 0 => (head, Ink::Series(index), Dash::Solid),
                (true, false) => (head, Ink::Series(rank), Dash::Solid),
                (true, true) => (
                    format!("{} {head}", run.name),
                    Ink::Series(r),
                    Dash::ALL[rank],
                ),
                (false, _) => {
                    let name = if rank == named {
                        let who = if multi {
                            format!("{} ", run.name)
                        } else {
                            String::new()
                        };
                        format!("{who}other heads ({others})")
                    } else {
                        String::new()
                    };
                    let ink = if multi { Ink::Light(r) } else { Ink::Grey };
                    (name, ink, Dash::Solid)
                }
            };
            lines.push(Line {
                name,
                points,
                ink,
                dash,
            });
        }
    }
    Strip {
        title: format!("{} score ({})", d.name(), Variant::WithBos.name()),
        y_label: "score".into(),
        log_y: false,
        y_range: Some((0.0, 1.0)),
        lines,
    }
}

/// The ICL score of every run (late-position loss minus early-position loss).
fn icl_strip(runs: &[Loaded]) -> Strip {
    let multi = runs.len() > 1;
    let lines = runs
        .iter()
        .enumerate()
        .map(|(r, run)| Line {
            name: if multi {
                run.name.clone()
            } else {
                "ICL score".into()
            },
            points: run
                .lines
                .iter()
                .map(|l| (l.step as f64, l.icl.unwrap_or(f64::NAN)))
                .collect(),
            ink: Ink::Series(if multi { r } else { 0 }),
            dash: Dash::Solid,
        })
        .collect();
    Strip {
        title: "ICL score: held-out loss late in the context minus loss early".into(),
        y_label: "ICL score".into(),
        log_y: false,
        y_range: Some((0.0, 0.0)),
        lines,
    }
}
