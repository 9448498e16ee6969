//! `detect-heads`: the probe (or task rows) through the model, every detector on every head,
//! TransformerLens `detect_head` scores and the probe's log-probs -> `HeadsFile`
//! (`heads.json`) and `plots/head_scores.png`.
use super::at_most;
use crate::analysis::LoadedRun;
use crate::detect::tl::{self, TlHead, TlReport};
use crate::detect::{score_all, Detector, HeadsReport, Thresholds, Variant};
use crate::error::{Error, Result};
use crate::plot::{heatmap_grid, Colormap, Heatmap};
use crate::probe::{self, ProbeLogprobs, ProbeRequest, Source};
use crate::report::{drawing, write_json, Outputs, Report};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// What `heads.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HeadsFile {
    pub schema_version: u32,
    pub run: String,
    pub task: String,
    /// A sentence saying what the patterns were computed on.
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(flatten)]
    pub report: HeadsReport,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<ProbeLogprobs>,
    /// TransformerLens `detect_head` scores on the same patterns and tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tl_detect_head: Option<TlReport>,
}

/// `heads.json`'s `schema_version`. 2: `tl_detect_head` added; a not-applicable score
/// (no query counted, e.g. first_token under exclude_bos) is `null` instead of 0.
pub const SCHEMA_VERSION: u32 = 2;

/// Options of `detect-heads`.
#[derive(Debug, Clone)]
pub struct DetectOptions {
    /// The probe or fresh task rows (token-based duplicate/induction targets).
    pub source: Source,
    pub probe: ProbeRequest,
    pub batch: usize,
    pub seed: u64,
    /// One threshold for current/previous/first/duplicate-token heads.
    pub threshold_token: Option<f64>,
    pub threshold_induction: Option<f64>,
}

impl DetectOptions {
    /// The thresholds, each checked to be a score in 0..=1.
    fn thresholds(&self) -> Result<Thresholds> {
        for (name, t) in [
            ("--threshold-token", self.threshold_token),
            ("--threshold-induction", self.threshold_induction),
        ] {
            if let Some(t) = t.filter(|t| !(0.0..=1.0).contains(t)) {
                return Err(Error::Invalid(format!(
                    "{name} {t}: expected a score between 0 and 1"
                )));
            }
        }
        let mut thresholds = Thresholds::default();
        if let Some(t) = self.threshold_token {
            thresholds.current_token = t;
            thresholds.previous_token = t;
            thresholds.first_token = t;
            thresholds.duplicate_token = t;
        }
        if let Some(t) = self.threshold_induction {
            thresholds.induction = t;
        }
        Ok(thresholds)
    }

    /// Checks that need no model (done before the run is opened).
    pub fn check(&self) -> Result<()> {
        self.thresholds()?;
        if self.source == Source::Probe {
            probe::check_repeats(self.probe.repeats)?;
        }
        Ok(())
    }
}

/// Run the probe (or task data) through the model and score every head.
pub fn run(lr: &LoadedRun, o: &DetectOptions) -> Result<HeadsFile> {
    o.check()?;
    let thresholds = o.thresholds()?;
    // The probe's patterns are held twice (capture + scores): bound the batch by memory.
    let per_row = lr.cfg.activation_floats_per_row().saturating_mul(2).max(1);
    at_most(
        "--batch",
        o.batch,
        (crate::config::MAX_STEP_FLOATS / per_row).clamp(1, 100_000),
        "probe rows for this model",
    )?;
    if o.batch == 0 {
        return Err(Error::Invalid(
            "--batch 0: expected at least 1 probe row".into(),
        ));
    }
    let vocab = lr.probe_vocab();
    let run = lr.run.path.display().to_string();
    let task = lr.cfg.task.task().to_string();
    let (rows, probe, note) = match o.source {
        Source::Probe => {
            let (probe, note) = o.probe.fit(lr.n_ctx())?;
            (lr.probe_rows(probe, o.batch, o.seed)?, Some(probe), note)
        }
        Source::Task => (lr.task_rows(o.batch, o.seed), None, None),
        Source::Text | Source::Tokens => return Err(super::rows_only("detect-heads")),
    };
    let (patterns, logits) = lr.patterns(&rows)?;
    let scores = score_all(&patterns, &rows.tokens, probe)?;
    let tl_detect_head = Some(tl::score_batch(&patterns, &rows.tokens)?);
    let (description, logprobs) = match probe {
        Some(probe) => {
            let lp = lr.target_logprobs(&logits, &rows)?;
            (
                probe.describe(vocab, rows.len(), o.seed),
                Some(probe::logprobs(&lp, rows.len(), probe, vocab)),
            )
        }
        None => (
            format!("{} fresh held-out rows of the {task} task ({} positions); duplicate/induction targets from the tokens", rows.len(), rows.n_ctx),
            None,
        ),
    };
    let source = if probe.is_some() {
        Source::Probe
    } else {
        Source::Task
    };
    let report = HeadsReport::new(source, probe, rows.len(), thresholds, scores);
    Ok(HeadsFile {
        schema_version: SCHEMA_VERSION,
        run,
        task,
        description,
        note,
        report,
        logprobs,
        tl_detect_head,
    })
}

impl HeadsFile {
    /// Write `heads.json` and `plots/head_scores.png` into the run; returns both paths.
    pub fn write(&self, lr: &LoadedRun) -> Result<Vec<PathBuf>> {
        let mut outputs = Outputs::new();
        let plots = outputs.dir(&lr.run.plots())?;
        let png = outputs.file(&plots.join("head_scores.png"));
        drawing(
            &png,
            heatmap_grid(
                &png,
                &format!(
                    "Head detector scores (run of task: {}) on {}",
                    self.task, self.description
                ),
                &self.panels(),
                Detector::ALL.len(),
            ),
        )?;
        let json = lr.run.heads();
        write_json(&outputs.file(&json), self)?;
        outputs.keep();
        Ok(vec![json, png])
    }

    /// One heatmap (layers x heads, values in the cells) per detector and variant.
    fn panels(&self) -> Vec<Heatmap> {
        let s = &self.report.scores;
        let mut out = Vec::new();
        for variant in Variant::ALL {
            for det in Detector::ALL {
                let Some(m) = s.get(det, variant) else {
                    continue;
                };
                out.push(Heatmap {
                    title: format!("{det} ({variant})"),
                    x_label: "head".into(),
                    y_label: "layer".into(),
                    x_ticks: (0..s.n_heads).map(|h| h.to_string()).collect(),
                    y_ticks: (0..s.n_layers).map(|l| l.to_string()).collect(),
                    values: m.iter().flatten().map(|&v| v as f32).collect(),
                    rows: s.n_layers,
                    cols: s.n_heads,
                    range: Some((0.0, 1.0)),
                    hide_upper: false,
                    annotate: true,
                    colormap: Colormap::Blues,
                    colorbar_label: "score".into(),
                });
            }
        }
        out
    }
}

/// Table names of the TransformerLens variants (`TlOptions::REPORTED`).
const TL_SHORT: [(&str, &str); 4] = [
    ("mul", "mul"),
    ("mul_exclude_bos", "mul-bos"),
    ("mul_exclude_bos_and_current", "mul-bos-cur"),
    ("abs", "abs"),
];

/// A table row of scores, "-" where a score is not applicable (NaN).
fn cells(m: &[Vec<f64>]) -> String {
    m.iter()
        .flatten()
        .map(|v| {
            if v.is_nan() {
                format!("{:>6}", "-")
            } else {
                format!("{v:>6.2}")
            }
        })
        .collect()
}

impl Report for HeadsFile {
    const SCHEMA_VERSION: u32 = SCHEMA_VERSION;

    fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    fn human(&self) -> Vec<String> {
        let s = &self.report.scores;
        let mut out = vec![format!("{} on {}", self.description, self.run)];
        let heads: Vec<String> = (0..s.n_layers)
            .flat_map(|l| (0..s.n_heads).map(move |h| format!("{l}.{h}")))
            .collect();
        out.push(format!(
            "{:<16} {:<12} {}",
            "detector",
            "variant",
            heads.iter().map(|h| format!("{h:>6}")).collect::<String>()
        ));
        for det in Detector::ALL {
            for variant in Variant::ALL {
                let Some(m) = s.get(det, variant) else {
                    continue;
                };
                out.push(format!(
                    "{:<16} {:<12} {}",
                    det.name(),
                    variant.name(),
                    cells(m)
                ));
            }
        }
        if let Some(tl) = &self.tl_detect_head {
            out.push(
                "TransformerLens detect_head, mean over rows (heads.json tl_detect_head; \
                 -bos = exclude_bos, -cur = exclude_current_token):"
                    .into(),
            );
            for head in TlHead::ALL {
                for (variant, short) in TL_SHORT {
                    let Some(m) = tl.scores.get(head.name()).and_then(|v| v.get(variant)) else {
                        continue;
                    };
                    let name = head
                        .name()
                        .trim_end_matches("_head")
                        .trim_end_matches("_token");
                    let name = format!("tl {name}");
                    out.push(format!("{name:<16} {short:<12} {}", cells(m)));
                }
            }
        }
        for det in Detector::ALL {
            let flags = self
                .report
                .flagged
                .get(det.name())
                .and_then(|v| v.get(Variant::WithBos.name()));
            if let Some(f) = flags.filter(|f| !f.is_empty()) {
                out.push(format!(
                    "{} heads (score > {}): {}",
                    det.name(),
                    self.report.thresholds.get(det),
                    f.join(", ")
                ));
            }
        }
        if let Some(lp) = &self.logprobs {
            out.push(format!(
                "mean log-prob: first copy {:.2}, later copies {:.2} (chance {:.2})",
                lp.first_copy, lp.later_copies, lp.chance
            ));
        }
        out
    }
}
