//! `metrics.jsonl`'s layout: the keys of its lines, the reader of its curves and the
//! phase-change rules read off them (pure functions; `train::log` writes the file).
use std::collections::BTreeMap;

/// The step a line was written after (every line has it).
pub const STEP: &str = "step";
/// The training loss of that step.
pub const LOSS: &str = "loss";
/// The learning rate of that step.
pub const LR: &str = "lr";
/// Held-out metrics are the task's metric names with this prefix (`eval_loss`).
pub const EVAL_PREFIX: &str = crate::tasks::metric::EVAL_PREFIX;

/// The line key of the task metric `metric` on held-out rows.
pub fn eval_key(metric: &str) -> String {
    format!("{EVAL_PREFIX}{metric}")
}

/// Every numeric metric of metrics.jsonl, by key, as (step, value) points in file order.
pub type Curves = BTreeMap<String, Vec<(f64, f64)>>;

/// The curves of metrics.jsonl's `text` (every key but the step and the learning rate);
/// lines that are not JSON objects with a step (a torn last line) are skipped.
pub fn curves(text: &str) -> Curves {
    let mut out = Curves::new();
    for line in text.lines() {
        let Ok(serde_json::Value::Object(obj)) = serde_json::from_str::<serde_json::Value>(line)
        else {
            continue;
        };
        let Some(step) = obj.get(STEP).and_then(|s| s.as_f64()) else {
            continue;
        };
        for (k, v) in &obj {
            if let (Some(v), true) = (v.as_f64(), k != STEP && k != LR) {
                out.entry(k.clone()).or_default().push((step, v));
            }
        }
    }
    out
}

/// The step of the steepest drop of log(loss) between consecutive evaluations, when the
/// drop is clear (loss falls by more than a factor 1.5 in one interval).
pub fn phase_change(points: &[(f64, f64)]) -> Option<f64> {
    let mut best: Option<(f64, f64)> = None;
    for w in points.windows(2) {
        let (a, b) = (w[0], w[1]);
        if a.1 > 0.0 && b.1 > 0.0 && b.0 > a.0 {
            let drop = (a.1 / b.1).ln();
            if drop > 1.5f64.ln() && best.is_none_or(|(d, _)| drop > d) {
                best = Some((drop, 0.5 * (a.0 + b.0)));
            }
        }
    }
    best.map(|(_, s)| s)
}

/// The step of a loss curve's phase change: the steepest drop of log(loss) per step
/// between consecutive points *after the first slowdown* (the first interval whose drop
/// rate is no larger than the next one's: the end of the initial descent, where a plateau
/// starts), so that the fast fit of the token statistics at the start of training is not
/// taken for the phase change; a curve whose drop only ever slows down has none. Returns
/// the midpoint of the interval and the factor the loss fell by in it.
pub fn phase_change_after_plateau(points: &[(f64, f64)]) -> Option<(f64, f64)> {
    let rates: Vec<(f64, f64, f64)> = points
        .windows(2)
        .filter(|w| w[0].1 > 0.0 && w[1].1 > 0.0 && w[1].0 > w[0].0)
        .map(|w| {
            let drop = (w[0].1 / w[1].1).ln();
            (drop / (w[1].0 - w[0].0), 0.5 * (w[0].0 + w[1].0), drop)
        })
        .collect();
    let plateau = rates.windows(2).position(|r| r[0].0 <= r[1].0)?;
    rates[plateau + 1..]
        .iter()
        .filter(|r| r.0 > 0.0)
        .fold(None, |best: Option<&(f64, f64, f64)>, r| match best {
            Some(b) if b.0 >= r.0 => Some(b),
            _ => Some(r),
        })
        .map(|&(_, step, drop)| (step, drop.exp()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phase_change_is_the_steepest_clear_drop() {
        // Drops by factors 1.2, 4 and 2: the factor-4 drop between steps 200 and 300.
        let pts = [(100.0, 4.8), (200.0, 4.0), (300.0, 1.0), (400.0, 0.5)];
        assert_eq!(phase_change(&pts), Some(250.0));
        // Order of the drops does not matter, only their size (log ratio).
        let pts = [(0.0, 8.0), (10.0, 1.0), (20.0, 0.5)];
        assert_eq!(phase_change(&pts), Some(5.0));
        // No drop by more than a factor 1.5: no phase change.
        let flat = [(0.0, 2.0), (1.0, 1.5), (2.0, 1.2), (3.0, 1.0)];
        assert_eq!(phase_change(&flat), None);
        // Rising loss, non-positive values and steps out of order are ignored.
        assert_eq!(phase_change(&[(0.0, 1.0), (1.0, 5.0)]), None);
        assert_eq!(phase_change(&[(0.0, 0.0), (1.0, 1e-3)]), None);
        assert_eq!(phase_change(&[(5.0, 9.0), (4.0, 1.0)]), None);
        assert_eq!(phase_change(&[]), None);
        assert_eq!(phase_change(&[(1.0, 3.0)]), None);
    }

    #[test]
    fn the_phase_change_after_a_plateau_is_the_bump_not_the_first_descent() {
        // Fast initial descent (rates 0.3, 0.1), a plateau (0.05, then 0.08: the slowdown
        // ends at the third interval), the bump (0.2 between 400 and 500), then slower.
        let loss = |drops: &[f64]| {
            let mut l = 3.0;
            let mut pts = vec![(0.0, l)];
            for (i, d) in drops.iter().enumerate() {
                l /= (d * 100.0f64).exp();
                pts.push((100.0 * (i + 1) as f64, l));
            }
            pts
        };
        let pts = loss(&[0.003, 0.001, 0.0005, 0.0008, 0.002, 0.001, 0.0004]);
        let (step, factor) = phase_change_after_plateau(&pts).unwrap();
        assert_eq!(step, 450.0);
        assert!((factor - 0.2f64.exp()).abs() < 1e-9, "{factor}");
        // A descent that only slows down has no phase change.
        assert_eq!(
            phase_change_after_plateau(&loss(&[0.003, 0.002, 0.001, 0.0005])),
            None
        );
        assert_eq!(phase_change_after_plateau(&[]), None);
        assert_eq!(phase_change_after_plateau(&[(0.0, 1.0), (1.0, 0.5)]), None);
    }

    #[test]
    fn curves_skip_torn_lines_the_step_and_the_learning_rate() {
        let text = "{\"step\":1,\"loss\":2.0,\"lr\":0.1}\n\
                    {\"step\":2,\"loss\":1.0,\"eval_loss\":1.5}\n{\"step\":3,\"lo";
        let c = curves(text);
        let keys: Vec<&str> = c.keys().map(String::as_str).collect();
        assert_eq!(keys, ["eval_loss", "loss"]);
        assert_eq!(c[LOSS], [(1.0, 2.0), (2.0, 1.0)]);
        assert_eq!(c[&eval_key(LOSS)], [(2.0, 1.5)]);
    }
}
