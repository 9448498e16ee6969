//! One line of `dynamics.jsonl`: everything measured at one tracked step of training, and
//! the reader of the file. Scores are `[layer][head]`; a score that does not apply (no
//! query counted) is `null` in the file and NaN once read.
use super::grokking::GrokkingLine;
use crate::circuits::composition::PairComposition;
use crate::detect::types::{nan_as_null, ScoreTable};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The version of a `dynamics.jsonl` line's layout (not a field of the line).
pub const SCHEMA_VERSION: u32 = 1;

/// What the run measured after `step` optimiser steps (step 0: the initial weights).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DynamicsLine {
    pub step: usize,
    /// Every detector under both variants on the run's fixed probe batch:
    /// `scores[detector][variant][layer][head]`, as `heads.json`'s `scores.scores`.
    #[serde(deserialize_with = "nan_as_null")]
    pub scores: ScoreTable,
    /// TransformerLens `detect_head` scores (error measure "mul") on the same patterns:
    /// `tl_detect_head[head kind]["mul"][layer][head]`.
    #[serde(deserialize_with = "nan_as_null")]
    pub tl_detect_head: ScoreTable,
    /// In-context-learning score: mean loss at the late position minus mean loss at the
    /// early position of the held-out task rows (`summary.json`'s `tracking` names them);
    /// `null` where the task has no target at one of them.
    pub icl: Option<f64>,
    /// Mean held-out loss at each position (`[pos]`); `null` where no row has a target.
    pub loss_by_pos: Vec<Option<f64>>,
    /// Per head, the copying score `sum(lambda) / sum(|lambda|)` of the OV circuit on tokens
    /// `W_E W_V W_O W_U` (complex eigenvalues; `null` when every eigenvalue is 0).
    pub copying: Vec<Vec<Option<f64>>>,
    /// Q-, K- and V-composition of every earlier head into every later one.
    pub composition: Vec<PairComposition>,
    /// L2 norm of the parameters of each part: `embed` (W_E, W_pos), `blocks.{l}`,
    /// `ln_final`, `unembed` (parts the model lacks are absent).
    pub param_norm: BTreeMap<String, f64>,
    /// The task's headline metrics on the held-out rows at this step (`det_acc`, ...).
    pub metrics: BTreeMap<String, Option<f64>>,
    /// Modular addition only: the grokking progress measures (`dynamics::grokking`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grokking: Option<GrokkingLine>,
}

/// The lines of a `dynamics.jsonl` file in step order; a torn last line (a killed run) is
/// skipped, any other line that does not parse is an error naming it.
pub fn read_lines(path: &Path) -> Result<Vec<DynamicsLine>> {
    let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
    parse_lines(&text).map_err(|(n, e)| Error::Format {
        path: path.to_path_buf(),
        msg: format!("line {n}: {e}"),
    })
}

/// `read_lines` on the file's text; the error is (1-based line, message).
pub fn parse_lines(text: &str) -> std::result::Result<Vec<DynamicsLine>, (usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::with_capacity(lines.len());
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<DynamicsLine>(line) {
            Ok(l) => out.push(l),
            // A torn last line (no newline after it) is what a kill leaves.
            Err(_) if i + 1 == lines.len() && !text.ends_with('\n') => {}
            Err(e) => return Err((i + 1, e.to_string())),
        }
    }
    Ok(out)
}
