//! `view`: one self-contained, interactive HTML page per run (`view.html`). The page's
//! data (`ViewData`) is made of the report types the other commands write (`HeadsFile` of
//! detect-heads, the metrics.jsonl curves of plot-loss, the `DynamicsLine`s of
//! dynamics.jsonl, ablate.json and attribute.json as they are, summary.json as it is) plus
//! the attention patterns of one chosen input: of the final model and, for the training
//! scrubber, of every kept snapshot (`patterns`). The page is `page`: hand-written HTML,
//! CSS and JS from `assets/view/`, no network, no build step.
//!
//! The page of a sweep is `sweep`: a second data type (`SweepViewData`: the sweep report,
//! links to each run's own `view.html`) rendered by the same `page` with its own template
//! and script.
use super::detect::{self, DetectOptions, HeadsFile};
use crate::analysis::{capture_patterns, LoadedRun};
use crate::dynamics::{read_lines, DynamicsLine};
use crate::error::{Error, Result};
use crate::model::{Transformer, Weights};
use crate::plot::Colormap;
use crate::probe::{ProbeRequest, Source};
use crate::report::{atomic_write, Outputs, Report};
use crate::run_dir::snapshots;
use crate::train::log::{self, eval_key, Curves};
use crate::train::DYNAMICS_FILE;
use candle_core::DType;
use candle_nn::VarBuilder;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

mod page;
mod patterns;
pub mod sweep;
pub use patterns::PatternSet;

/// The embedded data's `schema_version` (and the `--json` summary's).
pub const SCHEMA_VERSION: u32 = 1;

/// The most bytes the attention patterns may take on the page (before base64): snapshots
/// beyond it are thinned evenly (first and last kept), with a note.
pub const PATTERN_BUDGET: usize = 700_000;

/// Whether the page gets the training scrubber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scrubber {
    /// When the run tracked dynamics or kept snapshots.
    IfTracked,
    /// `--scrubber`: the run must have dynamics or snapshots (else exit 2, nothing written).
    Required,
}

/// Options of `view`.
#[derive(Debug, Clone)]
pub struct ViewOptions {
    /// The input of the attention patterns: a task sample, the probe, or `given`.
    pub source: Source,
    /// The user's text or token ids (`Source::Text` / `Source::Tokens`).
    pub given: Option<crate::given::Given>,
    /// Seed of the sample or probe.
    pub seed: u64,
    pub scrubber: Scrubber,
    /// The page (default `<run>/view.html`).
    pub out: Option<PathBuf>,
}

/// The input row the patterns are computed on.
#[derive(Debug, Clone, Serialize)]
pub struct ViewInput {
    /// A phrase naming it ("a fresh induction sample").
    pub source: String,
    /// One label per token.
    pub labels: Vec<String>,
    pub tokens: Vec<u32>,
}

/// A step to mark on the curves (a phase change).
#[derive(Debug, Clone, Serialize)]
pub struct PhaseMark {
    pub label: String,
    pub step: f64,
}

/// What the page embeds.
#[derive(Debug, Clone, Serialize)]
pub struct ViewData {
    pub schema_version: u32,
    pub run: String,
    pub task: String,
    pub n_layers: usize,
    pub n_heads: usize,
    /// The run's last step (the final model).
    pub steps: usize,
    /// The fully resolved config.toml, as text.
    pub config: String,
    /// summary.json as it is (absent for a run still training).
    pub summary: Option<serde_json::Value>,
    /// Phase changes: summary.json's `phase_changes` when present, else the steepest eval
    /// loss drop of metrics.jsonl.
    pub phases: Vec<PhaseMark>,
    /// metrics.jsonl's curves by key (`loss`, `eval_loss`, `eval_acc`, ...).
    pub curves: Curves,
    /// The detect-heads report at its defaults (as `indu detect-heads` writes heads.json).
    pub heads: HeadsFile,
    pub input: ViewInput,
    /// The final model's patterns on the input.
    pub patterns: PatternSet,
    /// dynamics.jsonl's lines (empty without tracking).
    pub dynamics: Vec<DynamicsLine>,
    /// Patterns of the kept snapshots before the last step, by step.
    pub snapshots: Vec<PatternSet>,
    /// Whether the page shows the training scrubber.
    pub scrubber: bool,
    pub ablate: Option<serde_json::Value>,
    pub attribute: Option<serde_json::Value>,
    /// The colour maps of the PNGs: anchors as `#rrggbb`, evenly spaced over [0, 1].
    pub colormaps: BTreeMap<String, Vec<String>>,
    pub notes: Vec<String>,
}

/// What `view` wrote (its `--json`).
#[derive(Debug, Clone, Serialize)]
pub struct ViewReport {
    pub schema_version: u32,
    pub run: String,
    pub file: PathBuf,
    pub bytes: usize,
    pub input: String,
    /// Tracked steps on the scrubber (0 without one) and snapshots with patterns.
    pub tracked_steps: usize,
    pub snapshot_patterns: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The dynamics of the run (empty when it tracked none) and whether the scrubber is on;
/// `Required` without dynamics or snapshots is an error. Needs no model.
pub fn scrubber_of(run: &Path, scrubber: Scrubber) -> Result<(Vec<DynamicsLine>, bool)> {
    let path = run.join(DYNAMICS_FILE);
    let lines = if path.is_file() {
        read_lines(&path)?
    } else {
        Vec::new()
    };
    let has_snapshots = !snapshots::list(&crate::run_dir::RunDir::new(run)).is_empty();
    let on = !lines.is_empty() || has_snapshots;
    if scrubber == Scrubber::Required && !on {
        return Err(Error::Invalid(format!(
            "--scrubber: {} has no {DYNAMICS_FILE} lines and no snapshots; train with \
             --set train.track_every=N (or train.snapshot_every=N) to record them",
            run.display()
        )));
    }
    Ok((lines, on))
}

/// Gather the page's data.
pub fn run(lr: &LoadedRun, o: &ViewOptions) -> Result<ViewData> {
    let (dynamics, scrubber) = scrubber_of(&lr.run.path, o.scrubber)?;
    let m = &lr.cfg.model;
    // The input first: a bad --text fails before any model pass.
    let input = lr
        .input_row(o.source, o.given.as_ref(), o.seed)?
        .first_row();
    let heads = detect::run(
        lr,
        &DetectOptions {
            source: Source::Probe,
            probe: ProbeRequest::default(),
            batch: 64,
            seed: 0,
            threshold_token: None,
            threshold_induction: None,
        },
    )?;
    let mut notes: Vec<String> = heads.note.iter().cloned().collect();
    notes.extend(input.note.iter().cloned());
    let rows = &input.rows;
    let steps = lr.cfg.train.steps;
    let (final_patterns, _) = lr.patterns(rows)?;
    let patterns = PatternSet::of(steps, &final_patterns)?;

    let per_set = m.n_layers * m.n_heads * patterns::bytes_per_head(rows.n_ctx);
    let mut kept: Vec<(usize, PathBuf)> = if scrubber {
        snapshots::list(&lr.run)
            .into_iter()
            .filter(|(s, _)| *s < steps)
            .collect()
    } else {
        Vec::new()
    };
    let room = (PATTERN_BUDGET / per_set.max(1)).saturating_sub(1).max(2);
    if kept.len() > room {
        notes.push(format!(
            "note: {} snapshots; the page shows the patterns of {room} of them, evenly spaced",
            kept.len()
        ));
        kept = thin(kept, room);
    }
    let mut snapshot_sets = Vec::with_capacity(kept.len());
    for (step, path) in &kept {
        let weights = Weights::load(path, m, &lr.device, DType::F32)?;
        let model = Transformer::new(
            m,
            VarBuilder::from_varmap(&weights.varmap()?, DType::F32, &lr.device),
        )?;
        let (p, _) = capture_patterns(&model, m, rows, &lr.device, &[])?;
        snapshot_sets.push(PatternSet::of(*step, &p)?);
    }

    let curves = match std::fs::read_to_string(lr.run.metrics()) {
        Ok(text) => log::curves(&text),
        Err(_) => Curves::new(),
    };
    let summary = read_json(&lr.run.summary())?;
    let phases = phases(summary.as_ref(), &curves);
    Ok(ViewData {
        schema_version: SCHEMA_VERSION,
        run: lr.run.path.display().to_string(),
        task: lr.cfg.task.task().to_string(),
        n_layers: m.n_layers,
        n_heads: m.n_heads,
        steps,
        config: std::fs::read_to_string(lr.run.config()).map_err(Error::io(lr.run.config()))?,
        summary,
        phases,
        curves,
        heads,
        input: ViewInput {
            source: input.source,
            labels: lr.tokenizer().labels(rows.row(0)),
            tokens: rows.row(0).to_vec(),
        },
        patterns,
        dynamics,
        snapshots: snapshot_sets,
        scrubber,
        ablate: read_json(&lr.run.path.join("ablate.json"))?,
        attribute: read_json(&lr.run.path.join("attribute.json"))?,
        colormaps: [Colormap::Viridis, Colormap::Blues, Colormap::RdBu]
            .into_iter()
            .map(|c| (c.name().to_string(), c.hex_stops()))
            .collect(),
        notes,
    })
}

/// `n` of `all` (at least 2), evenly spaced, the first and the last among them.
fn thin<T>(all: Vec<T>, n: usize) -> Vec<T> {
    let len = all.len();
    if len <= n || n < 2 {
        return all;
    }
    let pick: Vec<usize> = (0..n).map(|i| i * (len - 1) / (n - 1)).collect();
    all.into_iter()
        .enumerate()
        .filter(|(i, _)| pick.contains(i))
        .map(|(_, x)| x)
        .collect()
}

/// A JSON file of the run as it is, `None` when absent.
fn read_json(path: &Path) -> Result<Option<serde_json::Value>> {
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| Error::Format {
            path: path.to_path_buf(),
            msg: format!("not JSON: {e}"),
        })
}

/// The phase changes to mark: summary.json's `phase_changes` (each entry with a `step`),
/// else the steepest eval-loss drop.
fn phases(summary: Option<&serde_json::Value>, curves: &Curves) -> Vec<PhaseMark> {
    let mut out = Vec::new();
    if let Some(serde_json::Value::Object(pc)) = summary.and_then(|s| s.get("phase_changes")) {
        for (key, v) in pc {
            let Some(step) = v.get("step").and_then(|s| s.as_f64()) else {
                continue;
            };
            let label = match v.get("head").and_then(|h| h.as_str()) {
                Some(head) => format!("{} head {head}", key.replace('_', "-")),
                None => key.replace('_', " "),
            };
            out.push(PhaseMark { label, step });
        }
    }
    if out.is_empty() {
        let eval_loss = eval_key(crate::tasks::metric::LOSS);
        if let Some(step) = curves.get(&eval_loss).and_then(|p| log::phase_change(p)) {
            out.push(PhaseMark {
                label: "loss drop".into(),
                step,
            });
        }
    }
    out.sort_by(|a, b| a.step.total_cmp(&b.step));
    out
}

impl ViewData {
    /// Write the page to `out` (default `<run>/view.html`); returns what was written.
    pub fn write(&self, lr: &LoadedRun, out: Option<&Path>) -> Result<ViewReport> {
        let path = out
            .map(Path::to_path_buf)
            .unwrap_or_else(|| lr.run.path.join("view.html"));
        let title = format!("indu view: {} ({})", self.run, self.task);
        let html = page::render(&title, self)?;
        let mut outputs = Outputs::new();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            outputs.dir(parent)?;
        }
        atomic_write(&outputs.file(&path), html.as_bytes())?;
        outputs.keep();
        Ok(ViewReport {
            schema_version: SCHEMA_VERSION,
            run: self.run.clone(),
            file: path,
            bytes: html.len(),
            input: self.input.source.clone(),
            tracked_steps: if self.scrubber {
                self.dynamics.len()
            } else {
                0
            },
            snapshot_patterns: self.snapshots.len(),
            note: (!self.notes.is_empty()).then(|| self.notes.join("\n")),
        })
    }
}

impl Report for ViewReport {
    const SCHEMA_VERSION: u32 = SCHEMA_VERSION;

    fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    fn human(&self) -> Vec<String> {
        let scrub = if self.tracked_steps > 0 || self.snapshot_patterns > 0 {
            format!(
                "; scrubber over {} tracked steps, patterns of {} snapshots",
                self.tracked_steps, self.snapshot_patterns
            )
        } else {
            "; no scrubber (the run tracked no dynamics)".into()
        };
        vec![format!(
            "view of {} on {} ({} KB{scrub})",
            self.run,
            self.input,
            self.bytes.div_ceil(1024)
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_the_ends_and_spreads_evenly() {
        let all: Vec<usize> = (0..10).collect();
        assert_eq!(thin(all.clone(), 4), [0, 3, 6, 9]);
        assert_eq!(thin(all.clone(), 2), [0, 9]);
        assert_eq!(thin(all.clone(), 20), all);
    }

    #[test]
    fn phases_come_from_the_summary_else_the_loss_drop() {
        let summary = serde_json::json!({"phase_changes": {
            "fraction": 0.5,
            "loss_drop": {"step": 450.0, "curve": "eval_loss"},
            "induction": {"head": "1.0", "step": 400, "threshold": 0.3, "final": 0.6},
            "icl": null
        }});
        let p = phases(Some(&summary), &Curves::new());
        let got: Vec<(&str, f64)> = p.iter().map(|m| (m.label.as_str(), m.step)).collect();
        assert_eq!(got, [("induction head 1.0", 400.0), ("loss drop", 450.0)]);
        let mut curves = Curves::new();
        curves.insert(
            "eval_loss".into(),
            vec![(0.0, 3.0), (100.0, 2.9), (200.0, 0.5)],
        );
        let p = phases(None, &curves);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].step, 150.0);
    }
}
