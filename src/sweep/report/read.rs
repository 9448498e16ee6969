//! Reading one done run of a sweep into its row: summary.json (final metrics, phase
//! changes), metrics.jsonl (the first eval step at the task's target) and the final head
//! scores (the last dynamics.jsonl line, else heads.json).
use super::Row;
use crate::detect::types::{nan_as_null, ScoreTable};
use crate::detect::Variant;
use crate::dynamics::phases::PhaseChanges;
use crate::run_dir::metrics::{curves, eval_key, Curves};
use crate::run_dir::RunDir;
use crate::tasks::Target;
use serde::Deserialize;
use std::collections::BTreeMap;

/// The fields of `train::Summary` the report reads (summary.json as `indu train` writes it).
#[derive(Debug, Deserialize)]
struct SummaryFields {
    steps: usize,
    final_train_loss: Option<f64>,
    final_eval: BTreeMap<String, serde_json::Value>,
    stopped_at: Option<usize>,
    #[serde(default)]
    phase_changes: Option<PhaseChanges>,
}

/// heads.json's score table (`scores.scores`).
#[derive(Debug, Deserialize)]
struct HeadsFields {
    scores: HeadsScores,
}

#[derive(Debug, Deserialize)]
struct HeadsScores {
    #[serde(deserialize_with = "nan_as_null")]
    scores: ScoreTable,
}

/// Read a done run's files into `row` (values left empty, with a note, where one is
/// missing or does not read).
pub(super) fn read_run(run: &RunDir, target: Option<Target>, row: &mut Row) {
    let path = run.summary();
    let summary = std::fs::read_to_string(&path)
        .map_err(|e| format!("{}: {e}", path.display()))
        .and_then(|t| {
            serde_json::from_str::<SummaryFields>(&t)
                .map_err(|e| format!("{}: {e}", path.display()))
        });
    let s = match summary {
        Ok(s) => s,
        Err(e) => {
            row.note = Some(e);
            return;
        }
    };
    row.steps = Some(s.steps);
    row.stopped_at = s.stopped_at;
    row.final_train_loss = s.final_train_loss.filter(|v| v.is_finite());
    row.final_eval = s
        .final_eval
        .iter()
        .filter_map(|(k, v)| v.as_f64().filter(|v| v.is_finite()).map(|v| (k.clone(), v)))
        .collect();
    if let Some(p) = &s.phase_changes {
        row.loss_drop_step = p.loss_drop.as_ref().map(|d| d.step);
        if let Some(h) = &p.induction {
            row.induction_head = Some(h.head.clone());
            row.induction_formed = Some(h.formed);
            row.induction_formed_step = h.formed.then_some(h.crossing.step);
        } else {
            row.induction_formed = Some(false);
        }
        let prev = p.previous_token.as_ref().filter(|h| h.formed);
        row.previous_token_formed_step = prev.map(|h| h.crossing.step);
    }
    if let (Some(t), Ok(text)) = (target, std::fs::read_to_string(run.metrics())) {
        row.steps_to_target = steps_to(&curves(&text), t);
    }
    if let Some((table, from)) = final_scores(run) {
        row.scores = score_entries(&table);
        row.scores_from = Some(from.to_string());
    }
}

/// The first eval step of `curves` where `target` holds.
pub fn steps_to(curves: &Curves, target: Target) -> Option<usize> {
    curves
        .get(&eval_key(target.metric))?
        .iter()
        .find(|(_, v)| *v >= target.at_least)
        .map(|(s, _)| *s as usize)
}

/// The run's final score table: the last dynamics.jsonl line's, else heads.json's.
fn final_scores(run: &RunDir) -> Option<(ScoreTable, &'static str)> {
    let dynamics = run.path.join(crate::train::DYNAMICS_FILE);
    if let Ok(lines) = crate::dynamics::read_lines(&dynamics) {
        if let Some(last) = lines.into_iter().max_by_key(|l| l.step) {
            return Some((last.scores, crate::train::DYNAMICS_FILE));
        }
    }
    let text = std::fs::read_to_string(run.heads()).ok()?;
    let h: HeadsFields = serde_json::from_str(&text).ok()?;
    Some((h.scores.scores, "heads.json"))
}

/// `<detector>_<L.H>` -> score (variant with_bos, finite scores only).
fn score_entries(table: &ScoreTable) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for (det, variants) in table {
        let Some(m) = variants.get(Variant::WithBos.name()) else {
            continue;
        };
        for (l, heads) in m.iter().enumerate() {
            for (h, &s) in heads.iter().enumerate() {
                if s.is_finite() {
                    out.insert(format!("{det}_{l}.{h}"), s);
                }
            }
        }
    }
    out
}
