//! `metrics.jsonl`: the keys of its lines, the writer the training loop appends to (a
//! resumed run first drops the lines past its checkpoint) and the reader of its curves.
use crate::error::{Error, Result};
use crate::run_dir::RunDir;
use std::collections::BTreeMap;
use std::io::Write;

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

/// `metrics.jsonl`: one complete line per write. On resume, lines past the checkpoint
/// (and any torn last line) are dropped so the file matches an uninterrupted run.
pub(crate) struct MetricsLog {
    file: std::fs::File,
    path: std::path::PathBuf,
}

impl MetricsLog {
    pub(crate) fn open(
        run: &RunDir,
        start: usize,
        resume: bool,
        eval_every: usize,
    ) -> Result<MetricsLog> {
        let path = run.metrics();
        let mut kept = String::new();
        if resume {
            if let Ok(text) = std::fs::read_to_string(&path) {
                for line in text.lines() {
                    let Ok(serde_json::Value::Object(mut v)) = serde_json::from_str(line) else {
                        continue;
                    };
                    let Some(step) = v.get(STEP).and_then(|s| s.as_u64()).map(|s| s as usize)
                    else {
                        continue;
                    };
                    if step > start {
                        continue;
                    }
                    // A run that stopped early evaluated at its last step; an uninterrupted
                    // run only evaluates on the cadence, so drop that off-cadence eval.
                    if step == start && step % eval_every != 0 {
                        v.retain(|k, _| !k.starts_with(EVAL_PREFIX));
                        kept.push_str(&serde_json::Value::Object(v).to_string());
                    } else {
                        // The line as written: re-serialising could change a float's digits.
                        kept.push_str(line);
                    }
                    kept.push('\n');
                }
            }
        }
        crate::report::atomic_write(&path, kept.as_bytes())?;
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(Error::io(&path))?;
        Ok(MetricsLog { file, path })
    }

    pub(crate) fn append(
        &mut self,
        line: &serde_json::Map<String, serde_json::Value>,
    ) -> Result<()> {
        let mut text = serde_json::Value::Object(line.clone()).to_string();
        text.push('\n');
        self.file
            .write_all(text.as_bytes())
            .map_err(Error::io(&self.path))
    }
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
