//! The phase changes of a run, found in its curves (`summary.json`'s `phase_changes`, the
//! lines `indu train` prints at the end, the markers of `plot-dynamics`). Pure functions of
//! the metrics.jsonl curves and the dynamics.jsonl lines; no I/O.
//!
//! - **Loss drop**: the step of the eval loss's phase change (`run_dir::metrics::
//!   phase_change_after_plateau`: the midpoint of the interval where log(loss) falls
//!   fastest after the initial descent first slows down, i.e. the bump after the plateau;
//!   the fast fit of token statistics at the start is not it); the train loss when the run
//!   has fewer than two eval points.
//! - **Head formation** (a detector, variant `with_bos`): take the head with the highest
//!   final score `s_T` (ties: the first in layer-then-head order). With the threshold
//!   `θ = f · s_T` (`f` = `fraction`, default [`DEFAULT_FRACTION`]), the formation step is
//!   the first tracked step `t` with `s_u > θ` at every tracked step `u ≥ t`: the start of
//!   the final run above the threshold, so a score that rises, dips back below and rises
//!   again forms at the later crossing. A score equal to `θ` is not above it; a missing
//!   (NaN) score at any step breaks the run.
//!   The head's `steepest_rise` is also given: the midpoint of the tracked interval where
//!   its score rose most per step (parameter-free, where a slow head's threshold step lags).
//! - **In-context learning**: the same rule on the ICL score (late-position loss minus
//!   early-position loss, negative once the model uses its context): the first step from
//!   which `icl ≤ f · icl_T` holds to the end. Undefined unless `icl_T < 0`.
//!
//! Every undefined value (no lines, a NaN or non-positive final score) is `None`.
use super::line::DynamicsLine;
use crate::detect::{Detector, Variant};
use crate::run_dir::metrics::{self as log, eval_key, phase_change_after_plateau, Curves};
use crate::tasks::metric;
use serde::{Deserialize, Serialize};

/// The share of the final score a head must keep from its formation step on.
pub const DEFAULT_FRACTION: f64 = 0.5;

/// How much a head's score must have risen from step 0 to its final value for the head to
/// count as formed (scores lie in 0..=1): a head whose score barely moved (an ablated
/// run's) has no formation step, however its threshold is crossed.
pub const MIN_RISE: f64 = 0.1;

/// The detectors whose head formation `phase_changes` reports.
pub const DETECTORS: [Detector; 2] = [Detector::Induction, Detector::PreviousToken];

/// `summary.json`'s `phase_changes`: when each change happened (see the module doc).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhaseChanges {
    /// The share `f` of the final score the thresholds are set at.
    pub fraction: f64,
    /// The steepest drop of the loss.
    pub loss_drop: Option<LossDrop>,
    /// The formation of the strongest induction head.
    pub induction: Option<HeadFormation>,
    /// The formation of the strongest previous-token head.
    pub previous_token: Option<HeadFormation>,
    /// The step from which the ICL score stays at or below `fraction` of its final value.
    pub icl: Option<Crossing>,
}

/// The steepest drop of a loss curve.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LossDrop {
    /// Midpoint of the two logged steps the drop lies between.
    pub step: f64,
    /// The factor the loss fell by between them.
    pub factor: f64,
    /// The metrics.jsonl key of the curve (`eval_loss`, or `loss` without eval points).
    pub curve: String,
}

/// Where a tracked value crossed its threshold for good.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Crossing {
    /// The first tracked step from which the value stays past the threshold.
    pub step: usize,
    /// `fraction` times the final value.
    pub threshold: f64,
    /// The value at the last tracked step.
    #[serde(rename = "final")]
    pub final_value: f64,
    /// The value at step 0 (the initial weights); `None` when step 0 was not tracked or
    /// the value did not apply there.
    pub initial: Option<f64>,
}

/// The formation of one head: which head, and its crossing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadFormation {
    /// "layer.head", e.g. "1.0".
    pub head: String,
    /// Whether the score rose by at least `MIN_RISE` from step 0 (without step 0: whether
    /// the final score is at least `MIN_RISE`) and crossed its threshold after step 0 (a head
    /// already above it at initialisation did not form in training); the step below only
    /// means something then.
    pub formed: bool,
    /// Midpoint of the tracked interval where the head's score rose fastest per step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steepest_rise: Option<f64>,
    #[serde(flatten)]
    pub crossing: Crossing,
}

/// The phase changes of a run from its metrics.jsonl `curves` and its dynamics.jsonl
/// `lines` (any order), thresholds at `fraction` (in (0, 1); [`DEFAULT_FRACTION`]).
pub fn phase_changes(curves: &Curves, lines: &[DynamicsLine], fraction: f64) -> PhaseChanges {
    let [induction, previous_token] = DETECTORS.map(|d| head_formation(lines, d, fraction));
    PhaseChanges {
        fraction,
        loss_drop: loss_drop(curves),
        induction,
        previous_token,
        icl: icl_crossing(lines, fraction),
    }
}

/// The steepest eval-loss drop, or the train loss's where there are under two eval points.
pub fn loss_drop(curves: &Curves) -> Option<LossDrop> {
    let eval = eval_key(metric::LOSS);
    let key = match curves.get(&eval) {
        Some(points) if points.len() >= 2 => eval,
        _ => log::LOSS.to_string(),
    };
    let (step, factor) = phase_change_after_plateau(curves.get(&key)?)?;
    Some(LossDrop {
        step,
        factor,
        curve: key,
    })
}

/// The formation of the head with the highest final `detector` score (variant `with_bos`).
pub fn head_formation(
    lines: &[DynamicsLine],
    detector: Detector,
    fraction: f64,
) -> Option<HeadFormation> {
    let lines = by_step(lines);
    let score = |l: &DynamicsLine, layer: usize, head: usize| -> Option<f64> {
        let m = l
            .scores
            .get(detector.name())?
            .get(Variant::WithBos.name())?;
        m.get(layer)?.get(head).copied().filter(|s| s.is_finite())
    };
    let last = lines.last()?;
    let finals = last
        .scores
        .get(detector.name())?
        .get(Variant::WithBos.name())?;
    let mut best: Option<(usize, usize, f64)> = None;
    for (layer, heads) in finals.iter().enumerate() {
        for (head, &s) in heads.iter().enumerate() {
            if s.is_finite() && best.is_none_or(|(_, _, b)| s > b) {
                best = Some((layer, head, s));
            }
        }
    }
    let (layer, head, final_value) = best?;
    let threshold = fraction * final_value;
    let values: Vec<(usize, Option<f64>)> = lines
        .iter()
        .map(|l| (l.step, score(l, layer, head)))
        .collect();
    let step = first_lasting(&values, |v| v > threshold)?;
    let initial = at_step_zero(&values);
    Some(HeadFormation {
        head: format!("{layer}.{head}"),
        formed: final_value - initial.unwrap_or(0.0) >= MIN_RISE && (step > 0 || initial.is_none()),
        steepest_rise: steepest_rise(&values),
        crossing: Crossing {
            step,
            threshold,
            final_value,
            initial,
        },
    })
}

/// The step from which the ICL score stays at or below `fraction` of its (negative) final
/// value.
pub fn icl_crossing(lines: &[DynamicsLine], fraction: f64) -> Option<Crossing> {
    let lines = by_step(lines);
    let values: Vec<(usize, Option<f64>)> = lines
        .iter()
        .map(|l| (l.step, l.icl.filter(|v| v.is_finite())))
        .collect();
    let final_value = values.last()?.1.filter(|v| *v < 0.0)?;
    let threshold = fraction * final_value;
    let step = first_lasting(&values, |v| v <= threshold)?;
    Some(Crossing {
        step,
        threshold,
        final_value,
        initial: at_step_zero(&values),
    })
}

/// The lines in step order (stable: lines of one step keep their file order).
fn by_step(lines: &[DynamicsLine]) -> Vec<&DynamicsLine> {
    let mut v: Vec<&DynamicsLine> = lines.iter().collect();
    v.sort_by_key(|l| l.step);
    v
}

/// The first step of the final run of `values` (in step order) where `holds`; `None` when
/// the last value does not hold or is missing.
fn first_lasting(values: &[(usize, Option<f64>)], holds: impl Fn(f64) -> bool) -> Option<usize> {
    let mut first = None;
    for &(step, v) in values.iter().rev() {
        match v {
            Some(v) if holds(v) => first = Some(step),
            _ => break,
        }
    }
    first
}

/// Midpoint of the interval between consecutive known values where the value rose most
/// per step; `None` when it never rose.
fn steepest_rise(values: &[(usize, Option<f64>)]) -> Option<f64> {
    let known: Vec<(f64, f64)> = values
        .iter()
        .filter_map(|&(s, v)| Some((s as f64, v?)))
        .collect();
    known
        .windows(2)
        .filter(|w| w[1].0 > w[0].0 && w[1].1 > w[0].1)
        .map(|w| {
            (
                (w[1].1 - w[0].1) / (w[1].0 - w[0].0),
                0.5 * (w[0].0 + w[1].0),
            )
        })
        .fold(None, |best: Option<(f64, f64)>, r| match best {
            Some(b) if b.0 >= r.0 => Some(b),
            _ => Some(r),
        })
        .map(|(_, step)| step)
}

/// The value at step 0, when tracked.
fn at_step_zero(values: &[(usize, Option<f64>)]) -> Option<f64> {
    values.iter().find(|(s, _)| *s == 0).and_then(|(_, v)| *v)
}

impl PhaseChanges {
    /// One human line per phase change found, in the order loss, heads, ICL: "eval loss's
    /// steepest drop at step 430", "induction head 1.0 formed at step 450 (score 0.04 ->
    /// 0.87; threshold 0.44)".
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(d) = &self.loss_drop {
            let which = if d.curve == log::LOSS {
                "train"
            } else {
                "eval"
            };
            out.push(format!(
                "{which} loss's phase change at step {:.0} (its steepest drop after the plateau)",
                d.step
            ));
        }
        for (detector, f) in DETECTORS
            .iter()
            .zip([&self.induction, &self.previous_token])
        {
            if let Some(f) = f.as_ref().filter(|f| !f.formed) {
                out.push(format!(
                    "no {} head formed (best head {}: {})",
                    detector.name(),
                    f.head,
                    f.crossing.values("score")
                ));
            }
            if let Some(f) = f.as_ref().filter(|f| f.formed) {
                let rise = f
                    .steepest_rise
                    .map(|r| format!(", rose fastest at step {r:.0}"))
                    .unwrap_or_default();
                out.push(format!(
                    "{} head {} formed at step {} ({}{rise})",
                    detector.name(),
                    f.head,
                    f.crossing.step,
                    f.crossing.values("score")
                ));
            }
        }
        // A crossing at step 0 is where the run started, not a change during training.
        if let Some(c) = self.icl.as_ref().filter(|c| c.step > 0) {
            out.push(format!(
                "in-context learning from step {} ({})",
                c.step,
                c.values("ICL score")
            ));
        }
        out
    }

    /// The formation of `detector`'s strongest head, when `phase_changes` reports one that
    /// formed.
    pub fn head(&self, detector: Detector) -> Option<&HeadFormation> {
        let f = match detector {
            Detector::Induction => self.induction.as_ref(),
            Detector::PreviousToken => self.previous_token.as_ref(),
            Detector::CurrentToken | Detector::FirstToken | Detector::DuplicateToken => None,
        };
        f.filter(|f| f.formed)
    }
}

impl Crossing {
    /// "score 0.04 -> 0.87; threshold 0.44" (without the start when step 0 is unknown).
    fn values(&self, what: &str) -> String {
        let t = self.threshold;
        match self.initial {
            Some(i) => format!("{what} {i:.2} -> {:.2}; threshold {t:.2}", self.final_value),
            None => format!("final {what} {:.2}; threshold {t:.2}", self.final_value),
        }
    }
}

#[cfg(test)]
mod tests;
