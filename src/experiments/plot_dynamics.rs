//! `plot-dynamics`: how a run's heads formed, from metrics.jsonl and dynamics.jsonl (no
//! model needed) -> `plots/dynamics.png` (the loss over one strip of head scores per chosen
//! detector and the ICL score, on one step axis, phase changes marked) and
//! `plots/loss_by_position.png` (the held-out loss at each position over training, one
//! heatmap panel per run) -> `DynamicsReport` (the files and each run's `PhaseChanges`).
//! Several runs are overlaid: one colour per run, one dash per head (its strongest three;
//! the others in a light shade of the run's colour).
use crate::detect::{Detector, Variant};
use crate::dynamics::phases::{phase_changes, PhaseChanges, DEFAULT_FRACTION};
use crate::dynamics::{read_lines, DynamicsLine};
use crate::error::{Error, Result};
use crate::plot::{heatmap, heatmap_grid, stacked_plot, Colormap, Heatmap};
use crate::plot::{Dash, Ink, Line, Stack, StackMarker, Strip};
use crate::report::{drawing, Outputs, Report};
use crate::run_dir::RunDir;
use crate::tasks::metric;
use crate::train::log::{self, eval_key, Curves};
use crate::train::DYNAMICS_FILE;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// `--json` schema of the report.
pub const SCHEMA_VERSION: u32 = 1;

/// The detectors drawn when none is chosen.
pub const DEFAULT_DETECTORS: [Detector; 2] = [Detector::Induction, Detector::PreviousToken];

/// A single run names this many heads per strip (one colour each); the others are grey.
const NAMED_HEADS: usize = 10;
/// Several runs name this many heads per run and strip (one dash each).
const NAMED_HEADS_PER_RUN: usize = Dash::ALL.len();
/// Most steps (columns) of a loss-by-position panel; longer runs are thinned evenly.
const MAX_COLUMNS: usize = 200;
/// Most runs side by side in the loss-by-position figure.
const HEATMAP_COLUMNS: usize = 3;

/// What to draw.
#[derive(Debug, Clone)]
pub struct DynamicsOptions {
    /// One strip of head scores each, in this order (repeats are dropped).
    pub detectors: Vec<Detector>,
    /// The dynamics figure (default `<first run>/plots/dynamics.png`); the loss-by-position
    /// figure is written beside it.
    pub out: Option<PathBuf>,
    /// The share of the final score that marks a head's formation (`phases`).
    pub fraction: f64,
}

impl Default for DynamicsOptions {
    fn default() -> Self {
        DynamicsOptions {
            detectors: DEFAULT_DETECTORS.to_vec(),
            out: None,
            fraction: DEFAULT_FRACTION,
        }
    }
}

/// What was drawn, and the phase changes marked.
#[derive(Debug, Clone, Serialize)]
pub struct DynamicsReport {
    pub schema_version: u32,
    pub runs: Vec<RunDynamics>,
    pub files: Vec<PathBuf>,
}

/// One run of the figure.
#[derive(Debug, Clone, Serialize)]
pub struct RunDynamics {
    pub run: PathBuf,
    /// Number of tracked steps (dynamics.jsonl lines).
    pub tracked: usize,
    pub phase_changes: PhaseChanges,
}

/// One run's logs, read.
struct Loaded {
    /// Its name in legends and titles.
    name: String,
    path: PathBuf,
    curves: Curves,
    lines: Vec<DynamicsLine>,
    phases: PhaseChanges,
}

/// Draw the dynamics of `runs` (at least one); see the module doc.
pub fn run(runs: &[RunDir], o: &DynamicsOptions) -> Result<DynamicsReport> {
    let Some(first) = runs.first() else {
        return Err(Error::Invalid(
            "plot-dynamics needs at least one run".into(),
        ));
    };
    let names = run_names(runs);
    let loaded = runs
        .iter()
        .zip(names)
        .map(|(r, name)| load(r, name, o.fraction))
        .collect::<Result<Vec<_>>>()?;
    let mut detectors: Vec<Detector> = Vec::new();
    for d in &o.detectors {
        if !detectors.contains(d) {
            detectors.push(*d);
        }
    }
    let mut outputs = Outputs::new();
    let out: PathBuf = match &o.out {
        Some(p) => outputs.file(p),
        None => {
            let plots = outputs.dir(&first.plots())?;
            outputs.file(&plots.join("dynamics.png"))
        }
    };
    let title = match loaded.as_slice() {
        [one] => format!("Training dynamics: {}", one.path.display()),
        _ => "Training dynamics".to_string(),
    };
    let stack = figure(&loaded, &detectors, title);
    drawing(&out, stacked_plot(&out, &stack))?;
    let mut files = vec![out.clone()];
    let by_pos = outputs.file(&out.with_file_name("loss_by_position.png"));
    if loss_by_position(&by_pos, &loaded)? {
        files.push(by_pos);
    }
    outputs.keep();
    Ok(DynamicsReport {
        schema_version: SCHEMA_VERSION,
        runs: loaded
            .into_iter()
            .map(|l| RunDynamics {
                run: l.path,
                tracked: l.lines.len(),
                phase_changes: l.phases,
            })
            .collect(),
        files,
    })
}

/// The directory names of the runs, or their paths when two names are the same.
fn run_names(runs: &[RunDir]) -> Vec<String> {
    let names: Vec<String> = runs
        .iter()
        .map(|r| match r.path.file_name() {
            Some(n) => n.to_string_lossy().into_owned(),
            None => r.path.display().to_string(),
        })
        .collect();
    let unique = names
        .iter()
        .enumerate()
        .all(|(i, n)| !names[..i].contains(n));
    if unique {
        names
    } else {
        runs.iter().map(|r| r.path.display().to_string()).collect()
    }
}

/// A run's curves, tracked lines and phase changes; a run that tracked nothing is refused.
fn load(run: &RunDir, name: String, fraction: f64) -> Result<Loaded> {
    let curves = super::loss::read_curves(run)?;
    let path = run.path.join(DYNAMICS_FILE);
    if !path.is_file() {
        return Err(Error::Invalid(format!(
            "{} has no dynamics.jsonl (trained with tracking off?): train it with \
             `[train] track_every = N`, N > 0 (e.g. --set train.track_every=50), to track \
             head scores during training",
            run.path.display()
        )));
    }
    let lines = read_lines(&path)?;
    if lines.is_empty() {
        return Err(Error::Invalid(format!(
            "{} holds no tracked step yet",
            path.display()
        )));
    }
    let phases = phase_changes(&curves, &lines, fraction);
    Ok(Loaded {
        name,
        path: run.path.clone(),
        curves,
        lines,
        phases,
    })
}

/// The strips (loss, one per detector, ICL when tracked) and the phase-change markers.
fn figure(runs: &[Loaded], detectors: &[Detector], title: String) -> Stack {
    let multi = runs.len() > 1;
    let mut strips = vec![loss_strip(runs)];
    let mut markers = Vec::new();
    for (r, run) in runs.iter().enumerate() {
        if let Some(d) = &run.phases.loss_drop {
            markers.push(StackMarker {
                x: d.step,
                label: marker_label(multi, &run.name, "steepest drop", d.step),
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

/// "steepest drop (430)", or "run-a: 430" over several runs.
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

/// Draws the held-out loss by position over training (one panel per run with any value,
/// one colour scale); false when no run tracked it.
fn loss_by_position(path: &Path, runs: &[Loaded]) -> Result<bool> {
    let mut panels = Vec::new();
    for run in runs {
        let mut lines: Vec<&DynamicsLine> = run.lines.iter().collect();
        lines.sort_by_key(|l| l.step);
        let n = lines.len();
        if n > MAX_COLUMNS {
            let keep: Vec<usize> = (0..MAX_COLUMNS)
                .map(|i| i * (n - 1) / (MAX_COLUMNS - 1))
                .collect();
            lines = keep.into_iter().map(|i| lines[i]).collect();
        }
        let rows = lines.iter().map(|l| l.loss_by_pos.len()).max().unwrap_or(0);
        if rows == 0 {
            continue;
        }
        let cols = lines.len();
        let mut values = vec![f32::NAN; rows * cols];
        for (c, l) in lines.iter().enumerate() {
            for (p, v) in l.loss_by_pos.iter().enumerate() {
                values[p * cols + c] = v.map_or(f32::NAN, |v| v as f32);
            }
        }
        panels.push(Heatmap {
            title: if runs.len() > 1 {
                run.name.clone()
            } else {
                format!("Held-out loss by position: {}", run.path.display())
            },
            x_label: "step".into(),
            y_label: "position".into(),
            x_ticks: lines.iter().map(|l| l.step.to_string()).collect(),
            y_ticks: vec![],
            values,
            rows,
            cols,
            range: None,
            hide_upper: false,
            annotate: false,
            colormap: Colormap::Viridis,
            colorbar_label: "held-out loss".into(),
        });
    }
    let finite = panels
        .iter()
        .flat_map(|h| h.values.iter())
        .filter(|v| v.is_finite());
    let range = finite.fold(None, |acc: Option<(f32, f32)>, &v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    });
    let Some((lo, hi)) = range else {
        return Ok(false);
    };
    let hi = if hi > lo { hi } else { lo + 1.0 };
    for p in &mut panels {
        p.range = Some((lo, hi));
    }
    let drawn = match panels.as_slice() {
        [one] => heatmap(path, one),
        _ => {
            let title = "Held-out loss by position";
            heatmap_grid(path, title, &panels, panels.len().min(HEATMAP_COLUMNS))
        }
    };
    drawing(path, drawn)?;
    Ok(true)
}

impl Report for DynamicsReport {
    const SCHEMA_VERSION: u32 = SCHEMA_VERSION;

    fn human(&self) -> Vec<String> {
        let mut out = Vec::new();
        for r in &self.runs {
            let lines = r.phase_changes.describe();
            if lines.is_empty() {
                out.push(format!(
                    "{}: no phase change found in {} tracked steps",
                    r.run.display(),
                    r.tracked
                ));
            }
            out.extend(
                lines
                    .into_iter()
                    .map(|l| format!("{}: {l}", r.run.display())),
            );
        }
        out
    }
}
