//! The head detectors of docs/tasks.md: every head gets a score in [0, 1] per detector and
//! variant.
//!
//! Each detector gives every query `q` of a sequence a set of target keys `S(q)`:
//! - current_token: `{q}`; previous_token: `{q-1}` for `q >= 1`; first_token: `{0}`;
//! - on the repeat probe (`Probe { t, k }`, `pos = 1 + t*k`), for queries in copies 1..
//!   (`c_q = (q-1)/t >= 1`): induction `{q - c*t + 1 : c = 1..=c_q}`, duplicate_token
//!   `{q - c*t : c = 1..=c_q}` (every earlier copy; seeds 001 and 004);
//! - on arbitrary data (no probe; `tokens` given): induction `{j+1 : j < q, tok[j] == tok[q]}`,
//!   duplicate_token `{j : j < q, tok[j] == tok[q]}` (TransformerLens's detection patterns).
//!
//! A query's contribution is `sum_{k in S(q)} A[q, k]` and it is *counted* when `S(q)` is
//! non-empty. The score is the mean contribution over every counted (sequence, query) pair
//! of the batch. For the positional and probe detectors every sequence counts the same
//! queries, so with `WithBos` this equals both the score of the batch-mean pattern and the
//! mean of the per-sequence scores (the scores are linear in A).
//!
//! `ExcludeBos` (seed 004): each row is renormalised over keys >= 1, `A'[q,k] = A[q,k] / m_q`
//! with `m_q = sum_{k>=1} A[q,k]`, and key 0 is dropped from every target set, so a query is
//! counted only if it keeps a target >= 1 (query 0 never is; previous_token starts at q = 2,
//! as `np.diag(A_adjusted, -1)[1:]` in seed 004; first_token counts no query at all).
//! A counted row with `m_q == 0` (all its mass on the begin token) contributes 0, not NaN.
//! A detector that counts no query is not applicable and scores NaN (reported as `null` /
//! "-" / "n/a"): first_token under `ExcludeBos` always, token-based induction on data
//! without repeats.
//!
//! Unlike ARENA's `diag(-(T)+1).mean()` (seed 001), which also averages two queries at the
//! end of copy 0, only queries in copies 1.. are counted.
use super::types::{Detector, HeadScores, Probe, Variant};
use super::Patterns;
use crate::error::{Error, Result};

/// Target keys of every query of every sequence: `[batch][pos] -> keys`.
type Targets = Vec<Vec<Vec<usize>>>;

/// Scores `[n_layers][n_heads]` of one detector under one variant.
///
/// `tokens` is `[batch, pos]` row-major; it is only read by duplicate_token / induction when
/// `probe` is `None` (and may be empty otherwise). With a probe, `pos` must be `1 + t*k`.
pub fn score_heads(
    p: &Patterns,
    tokens: &[u32],
    probe: Option<Probe>,
    detector: Detector,
    variant: Variant,
) -> Result<Vec<Vec<f64>>> {
    p.validate()?;
    let targets = targets(p, tokens, probe, detector, variant)?;
    let mut out = Vec::with_capacity(p.n_layers);
    for layer in 0..p.n_layers {
        let mut row = Vec::with_capacity(p.n_heads);
        for head in 0..p.n_heads {
            row.push(score_one(p, layer, head, &targets, variant)?);
        }
        out.push(row);
    }
    Ok(out)
}

/// Every detector under every variant. Needs a probe or `[batch, pos]` tokens (for
/// duplicate_token and induction).
pub fn score_all(p: &Patterns, tokens: &[u32], probe: Option<Probe>) -> Result<HeadScores> {
    let mut out = HeadScores::new(p.n_layers, p.n_heads);
    for detector in Detector::ALL {
        for variant in Variant::ALL {
            out.insert(
                detector,
                variant,
                score_heads(p, tokens, probe, detector, variant)?,
            );
        }
    }
    Ok(out)
}

/// Mean contribution of the counted queries of one head, pooled over the batch.
fn score_one(
    p: &Patterns,
    layer: usize,
    head: usize,
    targets: &Targets,
    variant: Variant,
) -> Result<f64> {
    let mut sum = 0.0f64;
    let mut count = 0usize;
    for (b, row_targets) in targets.iter().enumerate() {
        let a = p.head(layer, b, head)?;
        for (q, keys) in row_targets.iter().enumerate() {
            if keys.is_empty() {
                continue;
            }
            let row = &a[q * p.pos..(q + 1) * p.pos];
            let hit: f64 = keys.iter().map(|&k| f64::from(row[k])).sum();
            let value = match variant {
                Variant::WithBos => hit,
                Variant::ExcludeBos => {
                    let mass: f64 = row[1..].iter().map(|&x| f64::from(x)).sum();
                    if mass > 0.0 {
                        hit / mass
                    } else {
                        0.0
                    }
                }
            };
            sum += value;
            count += 1;
        }
    }
    Ok(if count == 0 {
        f64::NAN
    } else {
        sum / count as f64
    })
}

/// Build the target sets of every query (independent of layer and head).
fn targets(
    p: &Patterns,
    tokens: &[u32],
    probe: Option<Probe>,
    detector: Detector,
    variant: Variant,
) -> Result<Targets> {
    let pos = p.pos;
    if let Some(pr) = probe {
        if pr.t == 0 || pr.k == 0 || pr.len() != pos {
            return Err(Error::Invalid(format!(
                "repeat probe with period {} and {} copies has length {}, but the patterns \
                 have pos = {pos}",
                pr.t,
                pr.k,
                pr.len()
            )));
        }
    }
    let by_tokens = detector.needs_sequence() && probe.is_none();
    if by_tokens && tokens.len() != p.batch * pos {
        return Err(Error::Invalid(format!(
            "detector {detector} without a probe needs [batch, pos] = [{}, {pos}] tokens, got {}",
            p.batch,
            tokens.len()
        )));
    }
    let mut all = Vec::with_capacity(p.batch);
    for b in 0..p.batch {
        let row_tokens = if by_tokens {
            &tokens[b * pos..(b + 1) * pos]
        } else {
            &[][..]
        };
        let mut rows = Vec::with_capacity(pos);
        for q in 0..pos {
            let mut keys = query_targets(detector, q, row_tokens, probe);
            if variant == Variant::ExcludeBos {
                keys.retain(|&k| k >= 1);
            }
            // Keys beyond the row (impossible for the sets above) are dropped defensively.
            keys.retain(|&k| k < pos);
            rows.push(keys);
        }
        all.push(rows);
    }
    Ok(all)
}

/// `S(q)` before the begin-token rule. `row_tokens` is used only without a probe.
fn query_targets(
    detector: Detector,
    q: usize,
    row_tokens: &[u32],
    probe: Option<Probe>,
) -> Vec<usize> {
    match detector {
        Detector::CurrentToken => vec![q],
        Detector::PreviousToken => q.checked_sub(1).into_iter().collect(),
        Detector::FirstToken => vec![0],
        Detector::DuplicateToken | Detector::Induction => {
            let shift = usize::from(detector == Detector::Induction);
            match probe {
                Some(Probe { t, .. }) => {
                    let copy = if q >= 1 { (q - 1) / t } else { 0 };
                    (1..=copy).map(|c| q - c * t + shift).collect()
                }
                None => match row_tokens.get(q) {
                    Some(&tok) => (0..q)
                        .filter(|&j| row_tokens[j] == tok)
                        .map(|j| j + shift)
                        .collect(),
                    None => Vec::new(),
                },
            }
        }
    }
}
