//! What the rest of indu asks a task: its names, its begin and stop tokens, how completions
//! run, its metric names (the constants the task's `metrics` writes them with), its headline
//! metrics, its target (when a run counts as having solved it) and the metric groups
//! `plot-loss` draws one figure each for. One exhaustive `match` per question.
use super::{induction, repeated, skip_trigrams, Task};

/// Metric names, as the tasks' `metrics` write them (metrics.jsonl adds the `eval_` prefix).
pub mod metric {
    /// metrics.jsonl writes held-out metrics as their names with this prefix (`eval_loss`).
    pub const EVAL_PREFIX: &str = "eval_";
    /// Mean loss over every counted prediction (every task).
    pub const LOSS: &str = "loss";
    /// Share of counted predictions that are right (every task).
    pub const ACC: &str = "acc";
    /// Induction: loss on the positions the rule determines.
    pub const DET_LOSS: &str = "det_loss";
    /// Induction: accuracy on the positions the rule determines.
    pub const DET_ACC: &str = "det_acc";
    /// Induction: loss on the other positions.
    pub const NONDET_LOSS: &str = "nondet_loss";
    /// Induction: accuracy on the other positions.
    pub const NONDET_ACC: &str = "nondet_acc";
    /// Permutations: share of rows with every counted prediction right.
    pub const SEQ_ACC: &str = "seq_acc";
    /// Addition: share of rows with the whole answer right.
    pub const EXACT_ACC: &str = "exact_acc";
    /// Addition: `digit_loss_<i>`, the loss on answer digit i (0 is the leading carry).
    pub const DIGIT_LOSS: &str = "digit_loss_";
    /// Skip-trigrams: `loss_m<i>`, the loss on rows whose answer is i.
    pub const CLASS_LOSS: &str = "loss_m";
    /// Repeated: `loss_copy<i>`, the loss on copy i >= 1.
    pub const COPY_LOSS: &str = "loss_copy";
    /// Modular addition: the loss on the training pairs (`loss` is the held-out pairs').
    pub const TRAIN_LOSS: &str = "train_loss";
    /// Modular addition: the accuracy on the training pairs (`acc` is the held-out pairs').
    pub const TRAIN_ACC: &str = "train_acc";

    /// `digit_loss_<i>`.
    pub fn digit_loss(i: usize) -> String {
        format!("{DIGIT_LOSS}{i}")
    }
    /// `loss_m<i>`.
    pub fn class_loss(i: usize) -> String {
        format!("{CLASS_LOSS}{i}")
    }
    /// `loss_copy<i>`.
    pub fn copy_loss(i: usize) -> String {
        format!("{COPY_LOSS}{i}")
    }
}

/// A family of per-part metrics that `plot-loss` draws in a figure of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MetricGroup {
    /// Addition's per-digit losses.
    Digits,
    /// Skip-trigrams' per-class losses.
    Classes,
    /// Repeated's per-copy losses.
    Copies,
}

impl MetricGroup {
    /// Every group.
    pub const ALL: [MetricGroup; 3] = [
        MetricGroup::Digits,
        MetricGroup::Classes,
        MetricGroup::Copies,
    ];

    /// The group's name (`plot-loss` draws `loss_<name>.png`).
    pub fn name(self) -> &'static str {
        match self {
            MetricGroup::Digits => "digits",
            MetricGroup::Classes => "classes",
            MetricGroup::Copies => "copies",
        }
    }

    /// The figure's title.
    pub fn title(self) -> &'static str {
        match self {
            MetricGroup::Digits => "Eval loss per answer digit (0 = carry digit)",
            MetricGroup::Classes => "Eval loss per skip-trigram class m",
            MetricGroup::Copies => "Eval loss per copy",
        }
    }

    /// The start of every metric name in the group.
    pub fn prefix(self) -> &'static str {
        match self {
            MetricGroup::Digits => metric::DIGIT_LOSS,
            MetricGroup::Classes => metric::CLASS_LOSS,
            MetricGroup::Copies => metric::COPY_LOSS,
        }
    }

    /// The group a metric name belongs to, if any.
    pub fn of(name: &str) -> Option<MetricGroup> {
        MetricGroup::ALL
            .into_iter()
            .find(|g| name.starts_with(g.prefix()))
    }
}

/// What solving a task means: the held-out metric `metric` (a task metric name, without the
/// `eval_` prefix) at least `at_least`. `indu sweep report`'s `steps_to_target` is the first
/// evaluation step of metrics.jsonl where it holds.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Target {
    pub metric: &'static str,
    pub at_least: f64,
}

impl Task {
    /// Every task's name, in preset order.
    pub fn names() -> Vec<&'static str> {
        Task::ALL.iter().map(|t| t.name()).collect()
    }

    /// The names as a comma-separated list: "induction, permutations, ...".
    pub fn list() -> String {
        Task::names().join(", ")
    }

    /// The token every row starts with, where there is one.
    pub fn begin_token(self) -> Option<u32> {
        match self {
            Task::Induction => Some(induction::STOP),
            Task::SkipTrigrams => Some(skip_trigrams::BEGIN),
            Task::Repeated => Some(repeated::BEGIN),
            Task::Permutations | Task::Addition | Task::ModularAddition => None,
        }
    }

    /// The token that ends a generated row early, where there is one.
    pub fn stop_token(self) -> Option<u32> {
        match self {
            Task::Induction => Some(induction::STOP),
            Task::Permutations
            | Task::Addition
            | Task::SkipTrigrams
            | Task::Repeated
            | Task::ModularAddition => None,
        }
    }

    /// Whether the counted predictions are the row's next tokens, so that a completion of a
    /// held-out prompt feeds each prediction back (otherwise predictions are teacher-forced).
    pub fn feeds_back(self) -> bool {
        match self {
            Task::Permutations | Task::Addition => true,
            Task::Induction | Task::SkipTrigrams | Task::Repeated | Task::ModularAddition => false,
        }
    }

    /// Whether the task's mechanism is copying from earlier in the context, so that the
    /// repeated-token probe is where its heads show (training tracks head scores on it);
    /// the others are tracked on their own held-out rows.
    pub fn copies_in_context(self) -> bool {
        match self {
            Task::Induction | Task::Repeated => true,
            Task::Permutations | Task::Addition | Task::SkipTrigrams | Task::ModularAddition => {
                false
            }
        }
    }

    /// Whether the model is sampled from the begin token (its rows are free strings under a
    /// rule, checked by the task) rather than completing held-out prompts.
    pub fn generative(self) -> bool {
        match self {
            Task::Induction => true,
            Task::Permutations
            | Task::Addition
            | Task::SkipTrigrams
            | Task::Repeated
            | Task::ModularAddition => false,
        }
    }

    /// How a generated string breaks the task's rule (the verdict on an invalid sample),
    /// for a generative task.
    pub fn rule_broken(self) -> Option<&'static str> {
        match self {
            Task::Induction => Some("a character is followed by two different ones"),
            Task::Permutations
            | Task::Addition
            | Task::SkipTrigrams
            | Task::Repeated
            | Task::ModularAddition => None,
        }
    }

    /// Whether the model predicts only an answer class at the last position (its output
    /// vocabulary is not its input's), so a prompt must be a whole row.
    pub fn answers_last_only(self) -> bool {
        match self {
            Task::SkipTrigrams | Task::ModularAddition => true,
            Task::Induction | Task::Permutations | Task::Addition | Task::Repeated => false,
        }
    }

    /// Whether training computes the MLP and the unembedding at the last position only
    /// (`Transformer::forward_last`): every counted prediction is there. Only modular
    /// addition, whose 1-layer MLP model it makes about twice as fast; skip-trigrams would
    /// qualify, but its figures were measured with the full pass.
    pub fn trains_last_position_only(self) -> bool {
        match self {
            Task::ModularAddition => true,
            Task::Induction
            | Task::Permutations
            | Task::Addition
            | Task::SkipTrigrams
            | Task::Repeated => false,
        }
    }

    /// The metrics a one-line summary shows, in order.
    pub fn headline_metrics(self) -> &'static [&'static str] {
        use metric::*;
        match self {
            Task::Induction => &[LOSS, ACC, DET_ACC],
            Task::Permutations => &[LOSS, ACC, SEQ_ACC],
            Task::Addition => &[LOSS, ACC, EXACT_ACC],
            Task::SkipTrigrams | Task::Repeated => &[LOSS, ACC],
            Task::ModularAddition => &[LOSS, ACC, TRAIN_LOSS, TRAIN_ACC],
        }
    }

    /// The task's target: its strictest accuracy at 0.99 (induction's is the preset's
    /// `stop_when = "eval_det_acc >= 0.99"`; TASKS.md's "first reaches 0.99"). `repeated`
    /// has none: its seed judges it by the masked loss curve alone.
    pub fn target(self) -> Option<Target> {
        use metric::*;
        let at = |metric| {
            Some(Target {
                metric,
                at_least: 0.99,
            })
        };
        match self {
            Task::Induction => at(DET_ACC),
            Task::Permutations => at(SEQ_ACC),
            Task::Addition => at(EXACT_ACC),
            Task::SkipTrigrams | Task::ModularAddition => at(ACC),
            Task::Repeated => None,
        }
    }

    /// The per-part metric groups the task reports.
    pub fn metric_groups(self) -> &'static [MetricGroup] {
        match self {
            Task::Addition => &[MetricGroup::Digits],
            Task::SkipTrigrams => &[MetricGroup::Classes],
            Task::Repeated => &[MetricGroup::Copies],
            Task::Induction | Task::Permutations | Task::ModularAddition => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_list_every_task_in_order() {
        assert_eq!(
            Task::list(),
            "induction, permutations, addition, skip_trigrams, repeated, modular_addition"
        );
    }

    #[test]
    fn the_contract_matches_what_the_generators_write() {
        use rand::SeedableRng;
        for t in Task::ALL {
            let cfg: super::super::TaskConfig = toml::from_str(&format!("name = \"{t}\"")).unwrap();
            let spec = cfg.spec(0).unwrap();
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
            let rows = spec.generate(8, super::super::Split::Test, &mut rng);
            for i in 0..rows.len() {
                let (row, targets, mask) = (rows.row(i), rows.targets_row(i), rows.mask_row(i));
                if let Some(b) = t.begin_token() {
                    assert_eq!(row[0], b, "{t}: row {i} does not open with the begin token");
                }
                if t.feeds_back() {
                    // Every counted target is the next token, so a prediction can be fed back.
                    for p in (0..row.len() - 1).filter(|&p| mask[p] > 0.0) {
                        assert_eq!(targets[p], row[p + 1], "{t}: row {i} position {p}");
                    }
                }
            }
            let loss = vec![0.5; rows.tokens.len()];
            let keys: Vec<String> = spec
                .metrics(&rows, &loss, &rows.targets)
                .into_iter()
                .map(|(k, _)| k)
                .collect();
            for h in t.headline_metrics() {
                assert!(keys.iter().any(|k| k == h), "{t}: {h} not in {keys:?}");
            }
            if let Some(target) = t.target() {
                let m = target.metric;
                assert!(
                    keys.iter().any(|k| k == m),
                    "{t}: target {m} not in {keys:?}"
                );
            }
            for g in MetricGroup::ALL {
                let has = keys.iter().any(|k| MetricGroup::of(k) == Some(g));
                assert_eq!(
                    has,
                    t.metric_groups().contains(&g),
                    "{t}: {g:?} in {keys:?}"
                );
            }
        }
    }

    #[test]
    fn groups_are_found_by_their_metric_names() {
        assert_eq!(
            MetricGroup::of(&metric::digit_loss(3)),
            Some(MetricGroup::Digits)
        );
        assert_eq!(
            MetricGroup::of(&metric::class_loss(0)),
            Some(MetricGroup::Classes)
        );
        assert_eq!(
            MetricGroup::of(&metric::copy_loss(1)),
            Some(MetricGroup::Copies)
        );
        assert_eq!(MetricGroup::of(metric::LOSS), None);
        assert_eq!(MetricGroup::of(metric::DET_LOSS), None);
        for t in Task::ALL {
            for g in t.metric_groups() {
                assert_eq!(MetricGroup::of(g.prefix()), Some(*g));
            }
        }
    }
}
