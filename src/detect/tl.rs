//! TransformerLens `detect_head` semantics (head_detector.py), for parity with Python.
//!
//! One sequence of `L` tokens, one `[L, L]` pattern per head, a 0/1 lower-triangular
//! detection pattern `D`:
//! - previous_token_head: ones at `(i, i-1)`;
//! - duplicate_token_head: ones at `(i, j)`, `j < i`, `tok[j] == tok[i]`;
//! - induction_head: the duplicate pattern shifted one column right (column 0 zero, the
//!   wrapped last column dropped), then lower-triangular: ones at `(i, j+1)` for the
//!   duplicates `j` of `i`. This includes the diagonal `(i, i)` when `tok[i-1] == tok[i]`.
//!
//! Scores (`mul`): zero column 0 of the pattern (`exclude_bos`) and its diagonal
//! (`exclude_current_token`), then `sum(A * D) / sum(A)` over the whole matrix. The
//! denominator is the remaining mass of all `L` rows (so `L` without exclusions), not the
//! number of rows that have a target; when it is 0 the score is NaN (0/0 in torch).
//! `abs`: `|A - D|` (TransformerLens asserts it is 0 above the diagonal; a pattern with mass
//! above the diagonal is rejected here), column 0 / diagonal of the difference zeroed by the
//! same flags, then `1 - round(mean(|A - D|) * L, 3)` with Python's `round` (half to even on
//! the exact binary value). TransformerLens documents it as lying in [-1, 1], but that only
//! holds when each row of `D` has at most one 1: with repeated tokens a duplicate/induction
//! row can hold several, `sum |A - D|` per row exceeds 2 and the score drops below -1
//! (e.g. -1.5 on `[a, a, a, a]`).
//!
//! TransformerLens quirks not reproduced: with a *list* of prompts and a head name,
//! `detect_head` recurses with default keyword arguments, so `exclude_bos`,
//! `exclude_current_token` and `error_measure` are silently ignored and the mean `mul`
//! score is returned; `exclude_bos` in `mul` also zeroes column 0 of a caller's cache in
//! place. Here every call applies its options to one sequence and never mutates input.
use super::types::ScoreTable;
use super::Patterns;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// TransformerLens's built-in detection patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TlHead {
    PreviousToken,
    DuplicateToken,
    Induction,
}

impl TlHead {
    /// All three, in TransformerLens's `HEAD_NAMES` order.
    pub const ALL: [TlHead; 3] = [
        TlHead::PreviousToken,
        TlHead::DuplicateToken,
        TlHead::Induction,
    ];

    /// TransformerLens's name (`previous_token_head`, ...).
    pub fn name(self) -> &'static str {
        match self {
            TlHead::PreviousToken => "previous_token_head",
            TlHead::DuplicateToken => "duplicate_token_head",
            TlHead::Induction => "induction_head",
        }
    }
}

/// `error_measure` of `detect_head`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorMeasure {
    Mul,
    Abs,
}

/// The keyword arguments of `detect_head` (defaults: `mul`, no exclusions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TlOptions {
    pub exclude_bos: bool,
    pub exclude_current_token: bool,
    pub error_measure: ErrorMeasure,
}

impl Default for TlOptions {
    fn default() -> Self {
        TlOptions {
            exclude_bos: false,
            exclude_current_token: false,
            error_measure: ErrorMeasure::Mul,
        }
    }
}

impl TlOptions {
    /// The four keyword sets `detect-heads` reports, named as in the fixtures'
    /// `head_detector.json`: `mul`, `mul_exclude_bos`, `mul_exclude_bos_and_current`, `abs`.
    pub const REPORTED: [(&'static str, TlOptions); 4] = [
        ("mul", TlOptions::new(false, false, ErrorMeasure::Mul)),
        (
            "mul_exclude_bos",
            TlOptions::new(true, false, ErrorMeasure::Mul),
        ),
        (
            "mul_exclude_bos_and_current",
            TlOptions::new(true, true, ErrorMeasure::Mul),
        ),
        ("abs", TlOptions::new(false, false, ErrorMeasure::Abs)),
    ];

    /// The keyword arguments as a value.
    pub const fn new(
        exclude_bos: bool,
        exclude_current_token: bool,
        error_measure: ErrorMeasure,
    ) -> Self {
        TlOptions {
            exclude_bos,
            exclude_current_token,
            error_measure,
        }
    }
}

/// TransformerLens `detect_head` scores of every head over a batch, as `heads.json`'s
/// `tl_detect_head`: `scores[tl head name][variant name][layer][head]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TlReport {
    /// How the scores were pooled over the batch.
    pub description: String,
    /// The keyword arguments behind each variant name.
    pub variants: std::collections::BTreeMap<String, TlOptions>,
    #[serde(deserialize_with = "super::types::nan_as_null")]
    pub scores: ScoreTable,
}

/// Every TransformerLens detection pattern under every `TlOptions::REPORTED` variant on a
/// batch: `tokens` is `[batch, pos]` row-major, `p` the patterns of those rows. Each
/// sequence is scored with `detect_head` on its own tokens, then the scores are averaged
/// over the sequences where they are defined (NaN, e.g. 0/0 when everything is excluded,
/// is skipped; NaN when no sequence has a score).
pub fn score_batch(p: &Patterns, tokens: &[u32]) -> Result<TlReport> {
    p.validate()?;
    if tokens.len() != p.batch * p.pos {
        return Err(Error::Invalid(format!(
            "TransformerLens scores need [batch, pos] = [{}, {}] tokens, got {}",
            p.batch,
            p.pos,
            tokens.len()
        )));
    }
    let mut scores = ScoreTable::new();
    for head in TlHead::ALL {
        for (name, opts) in TlOptions::REPORTED {
            let mut sum = vec![vec![0.0f64; p.n_heads]; p.n_layers];
            let mut count = vec![vec![0usize; p.n_heads]; p.n_layers];
            for b in 0..p.batch {
                let row = &tokens[b * p.pos..(b + 1) * p.pos];
                let s = detect_head(p, b, row, head, opts)?;
                for (l, hs) in s.iter().enumerate() {
                    for (h, &x) in hs.iter().enumerate() {
                        if x.is_finite() {
                            sum[l][h] += x;
                            count[l][h] += 1;
                        }
                    }
                }
            }
            let mean = sum
                .iter()
                .zip(&count)
                .map(|(s, c)| {
                    s.iter()
                        .zip(c)
                        .map(|(&s, &c)| if c == 0 { f64::NAN } else { s / c as f64 })
                        .collect()
                })
                .collect();
            scores
                .entry(head.name().to_string())
                .or_default()
                .insert(name.to_string(), mean);
        }
    }
    Ok(TlReport {
        description: format!(
            "TransformerLens detect_head on each of the {} sequences, averaged",
            p.batch
        ),
        variants: TlOptions::REPORTED
            .iter()
            .map(|(n, o)| (n.to_string(), *o))
            .collect(),
        scores,
    })
}

/// The `[L, L]` 0/1 detection pattern of `head` for `tokens` (row-major).
pub fn detection_pattern(head: TlHead, tokens: &[u32]) -> Vec<f32> {
    let l = tokens.len();
    let mut d = vec![0.0f32; l * l];
    for i in 0..l {
        match head {
            TlHead::PreviousToken => {
                if i >= 1 {
                    d[i * l + i - 1] = 1.0;
                }
            }
            TlHead::DuplicateToken | TlHead::Induction => {
                let shift = usize::from(head == TlHead::Induction);
                for j in 0..i {
                    // j + shift <= i < l: inside the row and on or below the diagonal.
                    if tokens[j] == tokens[i] {
                        d[i * l + j + shift] = 1.0;
                    }
                }
            }
        }
    }
    d
}

/// `compute_head_attention_similarity_score` for one `[l, l]` pattern and detection pattern.
pub fn similarity_score(
    pattern: &[f32],
    detection: &[f32],
    l: usize,
    opts: TlOptions,
) -> Result<f64> {
    if pattern.len() != l * l || detection.len() != l * l {
        return Err(Error::Invalid(format!(
            "pattern ({}) and detection pattern ({}) must both hold {l} x {l} values",
            pattern.len(),
            detection.len()
        )));
    }
    let excluded =
        |i: usize, j: usize| (opts.exclude_bos && j == 0) || (opts.exclude_current_token && i == j);
    match opts.error_measure {
        ErrorMeasure::Mul => {
            let (mut hit, mut mass) = (0.0f64, 0.0f64);
            for i in 0..l {
                for j in 0..l {
                    if excluded(i, j) {
                        continue;
                    }
                    let a = f64::from(pattern[i * l + j]);
                    hit += a * f64::from(detection[i * l + j]);
                    mass += a;
                }
            }
            // 0 / 0 is NaN, as in torch.
            Ok(hit / mass)
        }
        ErrorMeasure::Abs => {
            let mut total = 0.0f64;
            for i in 0..l {
                for j in 0..l {
                    let diff =
                        (f64::from(pattern[i * l + j]) - f64::from(detection[i * l + j])).abs();
                    if j > i && diff != 0.0 {
                        return Err(Error::Invalid(format!(
                            "attention pattern is not causal: |A - D| = {diff} at query {i}, key {j}"
                        )));
                    }
                    if !excluded(i, j) {
                        total += diff;
                    }
                }
            }
            // mean over l*l entries, times l.
            Ok(1.0 - python_round3(total / l as f64))
        }
    }
}

/// `detect_head(model, seq, head, exclude_bos=.., exclude_current_token=.., error_measure=..)`
/// on the patterns of sequence `row` of `p` (whose `pos` must equal `tokens.len()`; cut with
/// `Patterns::prefix` first): `[n_layers][n_heads]` scores.
pub fn detect_head(
    p: &Patterns,
    row: usize,
    tokens: &[u32],
    head: TlHead,
    opts: TlOptions,
) -> Result<Vec<Vec<f64>>> {
    p.validate()?;
    let l = tokens.len();
    if l < 2 || l != p.pos {
        return Err(Error::Invalid(format!(
            "detect_head needs 2 or more tokens matching the pattern length {}, got {l}",
            p.pos
        )));
    }
    let detection = detection_pattern(head, tokens);
    let mut out = Vec::with_capacity(p.n_layers);
    for layer in 0..p.n_layers {
        let mut scores = Vec::with_capacity(p.n_heads);
        for h in 0..p.n_heads {
            scores.push(similarity_score(
                p.head(layer, row, h)?,
                &detection,
                l,
                opts,
            )?);
        }
        out.push(scores);
    }
    Ok(out)
}

/// Python's `round(x, 3)`: the exact binary value rounded to 3 decimals, ties to even.
/// Rust's `{:.3}` formatting rounds the exact value the same way.
pub fn python_round3(x: f64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    format!("{x:.3}").parse().unwrap_or(x)
}
