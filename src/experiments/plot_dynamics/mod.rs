//! `plot-dynamics`: how a run's heads formed, from metrics.jsonl and dynamics.jsonl (no
//! model needed) -> `plots/dynamics.png` (the loss over one strip of head scores per chosen
//! detector and the ICL score, on one step axis, phase changes marked) and
//! `plots/loss_by_position.png` (the held-out loss at each position over training, one
//! heatmap panel per run) -> `DynamicsReport` (the files and each run's `PhaseChanges`).
//! Several runs are overlaid: one colour per run, one dash per head (its strongest three;
//! the others in a light shade of the run's colour). The strips are built in `strips`, the
//! loss-by-position panels in `by_position`; a modular-addition run also gets the grokking
//! figures of `grokking` (for the first run that tracked them).
use crate::detect::Detector;
use crate::dynamics::phases::{phase_changes, PhaseChanges, DEFAULT_FRACTION};
use crate::dynamics::{read_lines, DynamicsLine};
use crate::error::{Error, Result};
use crate::plot::stacked_plot;
use crate::report::{drawing, Outputs, Report};
use crate::run_dir::RunDir;
use crate::train::log::Curves;
use crate::train::DYNAMICS_FILE;
use serde::Serialize;
use std::path::{Path, PathBuf};

mod by_position;
mod grokking;
mod strips;

/// `--json` schema of the report.
pub const SCHEMA_VERSION: u32 = 1;

/// The detectors drawn when none is chosen.
pub const DEFAULT_DETECTORS: [Detector; 2] = [Detector::Induction, Detector::PreviousToken];

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
    /// Modular addition: when training and held-out accuracy got there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grokking: Option<crate::dynamics::grokking::GrokkingSteps>,
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
    let names = crate::run_dir::labels(runs);
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
    let stack = strips::figure(&loaded, &detectors, title);
    drawing(&out, stacked_plot(&out, &stack))?;
    let mut files = vec![out.clone()];
    let by_pos = outputs.file(&out.with_file_name("loss_by_position.png"));
    if by_position::draw(&by_pos, &loaded)? {
        files.push(by_pos);
    }
    let dir = out.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut grokked = None;
    for (i, run) in loaded.iter().enumerate() {
        if let Some(drawn) = grokking::draw(&dir, run, &mut outputs)? {
            files.extend(drawn.files);
            grokked = Some((i, drawn.steps));
            break;
        }
    }
    outputs.keep();
    Ok(DynamicsReport {
        schema_version: SCHEMA_VERSION,
        runs: loaded
            .into_iter()
            .enumerate()
            .map(|(i, l)| RunDynamics {
                run: l.path,
                tracked: l.lines.len(),
                phase_changes: l.phases,
                grokking: grokked.filter(|(g, _)| *g == i).map(|(_, s)| s),
            })
            .collect(),
        files,
    })
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

impl Report for DynamicsReport {
    const SCHEMA_VERSION: u32 = SCHEMA_VERSION;

    fn human(&self) -> Vec<String> {
        let mut out = Vec::new();
        for r in &self.runs {
            if let Some(g) = &r.grokking {
                out.push(format!("{}: {}", r.run.display(), g.describe()));
            }
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
