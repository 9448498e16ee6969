//! `[train] stop_when = "eval_det_acc >= 0.99"`: a condition on a held-out metric, checked
//! at every evaluation; training saves and stops at the first evaluation where it holds.
//!
//! The text is `KEY OP NUMBER`: `KEY` a held-out metric as `metrics.jsonl` writes it (the
//! task's metric name after `eval_`), `OP` `>=` or `<=`, `NUMBER` a finite number. It is
//! parsed once when the config loads ([`StopWhen::parse`], worded errors), the key is
//! checked against the metrics the task reports ([`StopWhen::check_task`]), and
//! `config.toml` writes it back as the same text.
use crate::error::{Error, Result};
use crate::tasks::metric::EVAL_PREFIX;
use crate::tasks::{Split, TaskSpec};
use crate::wording::did_you_mean;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

/// How the metric is compared with the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// `>=`: stop once the metric is at least the threshold (accuracies).
    AtLeast,
    /// `<=`: stop once the metric is at most the threshold (losses).
    AtMost,
}

impl Comparison {
    /// How the condition writes it.
    pub fn symbol(self) -> &'static str {
        match self {
            Comparison::AtLeast => ">=",
            Comparison::AtMost => "<=",
        }
    }

    /// Whether `value` satisfies it against `threshold` (never for NaN).
    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::AtLeast => value >= threshold,
            Comparison::AtMost => value <= threshold,
        }
    }
}

/// A parsed `stop_when` condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StopWhen {
    /// The task's metric name (`det_acc`), without the `eval_` prefix.
    metric: String,
    cmp: Comparison,
    threshold: f64,
}

/// What a condition looks like, for error messages.
const EXPECTED: &str = "expected \"METRIC >= NUMBER\" or \"METRIC <= NUMBER\" with METRIC a held-out metric of metrics.jsonl, e.g. \"eval_det_acc >= 0.99\"";

/// Operators a user might write instead of `>=` / `<=`, longest first.
const OTHER_OPERATORS: [&str; 6] = ["==", "!=", "=>", "=<", ">", "<"];

impl StopWhen {
    /// Parse `KEY OP NUMBER` (spaces around `OP` optional).
    pub fn parse(text: &str) -> Result<StopWhen> {
        let bad = |why: String| Error::Config(format!("{why}; {EXPECTED}"));
        let found = [Comparison::AtLeast, Comparison::AtMost]
            .into_iter()
            .filter_map(|c| text.find(c.symbol()).map(|at| (at, c)))
            .min_by_key(|&(at, _)| at);
        let Some((at, cmp)) = found else {
            return Err(match OTHER_OPERATORS.iter().find(|op| text.contains(*op)) {
                Some(op) => bad(format!("operator `{op}` is not supported")),
                None => bad("no comparison `>=` or `<=` found".into()),
            });
        };
        let key = text[..at].trim();
        let number = text[at + cmp.symbol().len()..].trim();
        if key.is_empty() {
            return Err(bad("the metric before the comparison is missing".into()));
        }
        if !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(bad(format!(
                "`{key}` is not a metric name (letters, digits and `_`)"
            )));
        }
        let Some(metric) = key.strip_prefix(EVAL_PREFIX).filter(|m| !m.is_empty()) else {
            return Err(bad(format!(
                "`{key}` is not a held-out metric (those start with `{EVAL_PREFIX}`)"
            )));
        };
        let threshold = match number.parse::<f64>() {
            Ok(v) if v.is_finite() => v,
            _ if number.is_empty() => {
                return Err(bad("the number after the comparison is missing".into()))
            }
            _ => return Err(bad(format!("`{number}` is not a finite number"))),
        };
        Ok(StopWhen {
            metric: metric.to_string(),
            cmp,
            threshold,
        })
    }

    /// The metric's key in metrics.jsonl (`eval_det_acc`).
    pub fn key(&self) -> String {
        format!("{EVAL_PREFIX}{}", self.metric)
    }

    /// The task's metric name (`det_acc`).
    pub fn metric(&self) -> &str {
        &self.metric
    }

    pub fn comparison(&self) -> Comparison {
        self.cmp
    }

    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// Whether the condition holds for an evaluation's metrics (task metric names, as
    /// `train::eval::evaluate` returns them). A metric the evaluation did not report, or
    /// reported as NaN, does not satisfy it.
    pub fn holds(&self, eval: &[(String, f64)]) -> bool {
        eval.iter()
            .find(|(k, _)| *k == self.metric)
            .is_some_and(|&(_, v)| self.cmp.holds(v, self.threshold))
    }

    /// Refuse a metric the task does not report: `path` names the key in the message.
    pub fn check_task(&self, spec: &TaskSpec, path: &str) -> Result<()> {
        let names = reported_metrics(spec);
        if names.contains(&self.metric) {
            return Ok(());
        }
        let keys: Vec<String> = names.iter().map(|m| format!("{EVAL_PREFIX}{m}")).collect();
        let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let listed: Vec<String> = keys.iter().map(|k| format!("`{k}`")).collect();
        Err(Error::Config(format!(
            "{path} = \"{self}\": task {} reports no metric `{}`: expected one of {}{}",
            spec.task(),
            self.key(),
            listed.join(", "),
            did_you_mean(&self.key(), &refs)
        )))
    }
}

/// The metric names `spec.metrics` reports, read off an evaluation of a fixed sample of
/// held-out rows (so the list is the one the task's own code writes). Per-part metrics
/// appear when their part occurs; 256 rows hold every part of every preset.
fn reported_metrics(spec: &TaskSpec) -> Vec<String> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let rows = spec.generate(256, Split::Test, &mut rng);
    let loss = vec![1.0f32; rows.tokens.len()];
    spec.metrics(&rows, &loss, &rows.targets)
        .into_iter()
        .map(|(k, _)| k)
        .collect()
}

impl std::fmt::Display for StopWhen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.key(), self.cmp.symbol(), self.threshold)
    }
}

impl TryFrom<String> for StopWhen {
    type Error = Error;
    fn try_from(s: String) -> Result<StopWhen> {
        StopWhen::parse(&s)
    }
}

impl From<StopWhen> for String {
    fn from(s: StopWhen) -> String {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        StopWhen::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn parses_both_comparisons_with_or_without_spaces() {
        let s = StopWhen::parse("eval_det_acc >= 0.99").unwrap();
        assert_eq!(
            (s.metric(), s.comparison(), s.threshold()),
            ("det_acc", Comparison::AtLeast, 0.99)
        );
        assert_eq!(s.key(), "eval_det_acc");
        let s = StopWhen::parse("  eval_loss<=1e-2 ").unwrap();
        assert_eq!(
            (s.metric(), s.comparison(), s.threshold()),
            ("loss", Comparison::AtMost, 0.01)
        );
        // config.toml writes it back as text that parses to the same condition.
        assert_eq!(s.to_string(), "eval_loss <= 0.01");
        assert_eq!(StopWhen::parse(&s.to_string()).unwrap(), s);
    }

    #[test]
    fn bad_conditions_say_what_is_wrong() {
        assert!(err("eval_acc > 0.9").starts_with("operator `>` is not supported"));
        assert!(err("eval_acc == 0.9").starts_with("operator `==` is not supported"));
        assert!(err("eval_acc 0.9").starts_with("no comparison"));
        assert!(err(">= 0.9").contains("metric before the comparison is missing"));
        assert!(err("eval_acc >=").contains("number after the comparison is missing"));
        assert!(err("eval_acc >= high").contains("`high` is not a finite number"));
        assert!(err("eval_acc >= inf").contains("`inf` is not a finite number"));
        assert!(err("acc >= 0.9").contains("`acc` is not a held-out metric"));
        assert!(err("eval_ >= 0.9").contains("not a held-out metric"));
        assert!(err("eval acc >= 0.9").contains("not a metric name"));
        assert!(err("").contains(EXPECTED));
    }

    #[test]
    fn holds_compares_the_named_metric_only() {
        let at_least = StopWhen::parse("eval_det_acc >= 0.99").unwrap();
        let ev = |v: f64| vec![("loss".to_string(), 0.1), ("det_acc".to_string(), v)];
        assert!(at_least.holds(&ev(0.99)));
        assert!(at_least.holds(&ev(1.0)));
        assert!(!at_least.holds(&ev(0.98)));
        assert!(!at_least.holds(&ev(f64::NAN)));
        assert!(!at_least.holds(&[("loss".to_string(), 5.0)]));
        let at_most = StopWhen::parse("eval_loss <= 0.5").unwrap();
        assert!(at_most.holds(&ev(0.0)));
        assert!(!at_most.holds(&[("loss".to_string(), 0.6)]));
    }

    #[test]
    fn the_metric_must_be_one_the_task_reports() {
        let spec = |toml_text: &str| {
            let t: crate::tasks::TaskConfig = toml::from_str(toml_text).unwrap();
            t.spec(0).unwrap()
        };
        let induction = spec("name = \"induction\"");
        let ok = StopWhen::parse("eval_det_acc >= 0.99").unwrap();
        ok.check_task(&induction, "train.stop_when").unwrap();
        let typo = StopWhen::parse("eval_det_ac >= 0.99").unwrap();
        let msg = typo
            .check_task(&induction, "train.stop_when")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("reports no metric `eval_det_ac`"), "{msg}");
        assert!(msg.contains("did you mean `eval_det_acc`"), "{msg}");
        let addition = spec("name = \"addition\"");
        StopWhen::parse("eval_digit_loss_0 <= 0.1")
            .unwrap()
            .check_task(&addition, "train.stop_when")
            .unwrap();
        assert!(ok.check_task(&addition, "train.stop_when").is_err());
    }
}
