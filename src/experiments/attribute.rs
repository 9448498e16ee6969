//! `attribute`: direct logit attribution of every head (and the embeddings and biases) to
//! the correct next token on the repeat probe, averaged over the first copy and the later
//! copies -> `AttributeReport` (`attribute.json`) and `plots/attribute.png`. The numerics
//! are `circuits::attribute`'s.
use crate::analysis::LoadedRun;
use crate::circuits::attribute::{attribute, Attribution};
use crate::circuits::figures::attribution_figure;
use crate::error::{Error, Result};
use crate::probe::ProbeRequest;
use crate::report::{drawing, write_json, Outputs, Report};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// `attribute.json`'s `schema_version`.
pub const SCHEMA_VERSION: u32 = 1;

/// Options of `attribute`.
#[derive(Debug, Clone)]
pub struct AttributeOptions {
    /// The user's text or token ids (one row) instead of the probe.
    pub given: Option<crate::given::Given>,
    pub probe: ProbeRequest,
    pub batch: usize,
    pub seed: u64,
}

/// What `attribute.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttributeReport {
    pub schema_version: u32,
    pub run: String,
    pub task: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub probe_len: usize,
    pub repeats: usize,
    /// Probe rows averaged over (said in the description and the figure's title).
    #[serde(skip)]
    pub rows: usize,
    /// Per component: mean contribution over predictions of first-copy tokens / later copies.
    pub first_copy: Vec<f64>,
    pub later_copies: Vec<f64>,
    #[serde(flatten)]
    pub attribution: Attribution,
}

/// Attribute the probe's correct-token logits to every component.
pub fn run(lr: &LoadedRun, o: &AttributeOptions) -> Result<AttributeReport> {
    if o.batch == 0 {
        return Err(Error::Invalid(
            "--batch 0: expected at least 1 probe row".into(),
        ));
    }
    if let Some(g) = &o.given {
        return on_given(lr, g);
    }
    let (probe, note) = o.probe.fit(lr.n_ctx())?;
    let rows = lr.probe_rows(probe, o.batch, o.seed)?;
    let mut attr = attribute(lr, &rows)?;
    // The prediction at p is of token p+1: first copy for 1 <= p < T, later copies p >= T;
    // the last position predicts nothing and is dropped.
    let last = rows.n_ctx - 1;
    attr.per_position.iter_mut().for_each(|v| v.truncate(last));
    attr.logit.truncate(last);
    let mean = |v: &[f64], r: std::ops::Range<usize>| {
        let n = r.len().max(1) as f64;
        v[r].iter().sum::<f64>() / n
    };
    let t = probe.t;
    let first_copy = attr
        .per_position
        .iter()
        .map(|v| mean(v, 1.min(last)..t.min(last)))
        .collect();
    let later_copies = attr
        .per_position
        .iter()
        .map(|v| mean(v, t.min(last)..last))
        .collect();
    Ok(AttributeReport {
        schema_version: SCHEMA_VERSION,
        run: lr.run.path.display().to_string(),
        task: lr.cfg.task.task().name().to_string(),
        description: format!(
            "direct logit attribution to the correct next token on the {}; per_position[c][p] is the prediction made at p (of token p+1)",
            probe.describe(lr.probe_vocab(), rows.len(), o.seed)
        ),
        note,
        probe_len: t,
        repeats: probe.k,
        rows: rows.len(),
        first_copy,
        later_copies,
        attribution: attr,
    })
}

/// Attribution on one row the user gave. "Later copies" are the predictions an induction
/// head can make: of a token whose (previous token, token) pair occurred earlier in the row;
/// "first copy" is every other prediction.
fn on_given(lr: &LoadedRun, g: &crate::given::Given) -> Result<AttributeReport> {
    let (rows, what) = lr.given_rows(g)?;
    if rows.len() != 1 {
        return Err(Error::Invalid(format!(
            "--tokens gives {} rows: attribute takes one row (or the probe)",
            rows.len()
        )));
    }
    let mut attr = attribute(lr, &rows)?;
    let row = rows.row(0);
    let last = row.len() - 1;
    attr.per_position.iter_mut().for_each(|v| v.truncate(last));
    attr.logit.truncate(last);
    // Prediction at p is of row[p + 1]; it repeats when (row[p], row[p + 1]) occurred before.
    let repeats: Vec<bool> = (0..last)
        .map(|p| (0..p).any(|q| row[q] == row[p] && row[q + 1] == row[p + 1]))
        .collect();
    let mean_where = |v: &[f64], want: bool| {
        let sel: Vec<f64> = v
            .iter()
            .zip(&repeats)
            .filter(|(_, &r)| r == want)
            .map(|(x, _)| *x)
            .collect();
        if sel.is_empty() {
            f64::NAN
        } else {
            sel.iter().sum::<f64>() / sel.len() as f64
        }
    };
    let n_rep = repeats.iter().filter(|&&r| r).count();
    Ok(AttributeReport {
        schema_version: SCHEMA_VERSION,
        run: lr.run.path.display().to_string(),
        task: lr.cfg.task.task().name().to_string(),
        description: format!(
            "direct logit attribution to the correct next token on {what}; later copies = the {n_rep} predictions whose (token, next token) pair occurred earlier in the row, first copy = the other {}; per_position[c][p] is the prediction made at p (of token p+1)",
            last - n_rep
        ),
        note: None,
        probe_len: 0,
        repeats: 0,
        rows: 1,
        first_copy: attr.per_position.iter().map(|v| mean_where(v, false)).collect(),
        later_copies: attr.per_position.iter().map(|v| mean_where(v, true)).collect(),
        attribution: attr,
    })
}

impl AttributeReport {
    /// Write `plots/attribute.png` and `attribute.json`; returns the JSON and PNG paths.
    pub fn write(&self, lr: &LoadedRun) -> Result<Vec<PathBuf>> {
        let mut outputs = Outputs::new();
        let plots = outputs.dir(&lr.run.plots())?;
        let png = outputs.file(&plots.join("attribute.png"));
        let positions = self.attribution.logit.len();
        let ticks: Vec<String> = (0..positions).map(|p| p.to_string()).collect();
        let title = if self.probe_len == 0 {
            "Direct logit attribution to the correct next token (the given row)".to_string()
        } else {
            format!(
                "Direct logit attribution to the correct next token (probe T = {}, k = {}, mean of {} rows)",
                self.probe_len, self.repeats, self.rows
            )
        };
        drawing(
            &png,
            attribution_figure(&png, &self.attribution, &title, ticks),
        )?;
        let json = lr.run.path.join("attribute.json");
        write_json(&outputs.file(&json), self)?;
        outputs.keep();
        Ok(vec![json, png])
    }
}

impl Report for AttributeReport {
    const SCHEMA_VERSION: u32 = SCHEMA_VERSION;

    fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    fn human(&self) -> Vec<String> {
        let mut out = vec![
            self.description.clone(),
            format!(
                "{:<10} {:>11} {:>13}",
                "component", "first copy", "later copies"
            ),
        ];
        for (i, c) in self.attribution.components.iter().enumerate() {
            out.push(format!(
                "{c:<10} {:>11.3} {:>13.3}",
                self.first_copy[i], self.later_copies[i]
            ));
        }
        out.push(format!(
            "(self-check: components sum to the logit within {:.2e})",
            self.attribution.max_abs_error
        ));
        out
    }
}
