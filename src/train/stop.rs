//! `[train] stop_when` in the loop: after each evaluation, whether training saves and
//! stops there (the condition itself is `config::StopWhen`).
use crate::config::TrainConfig;

/// The step to stop at after the evaluation at `done` steps: `Some(done)` when
/// `tc.stop_when` holds for `eval` (the task's metrics, as `eval::evaluate` returns them)
/// before the last step; `None` to go on (no condition, it does not hold, or the run ends
/// here anyway).
pub(crate) fn stop_after(tc: &TrainConfig, eval: &[(String, f64)], done: usize) -> Option<usize> {
    let cond = tc.stop_when.as_ref()?;
    (done < tc.steps && cond.holds(eval)).then_some(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::StopWhen;

    #[test]
    fn stops_only_early_and_only_when_the_condition_holds() {
        let mut tc = TrainConfig {
            steps: 100,
            ..TrainConfig::default()
        };
        let ev = vec![("det_acc".to_string(), 0.995)];
        assert_eq!(stop_after(&tc, &ev, 50), None);
        tc.stop_when = Some(StopWhen::parse("eval_det_acc >= 0.99").unwrap());
        assert_eq!(stop_after(&tc, &ev, 50), Some(50));
        assert_eq!(stop_after(&tc, &ev, 100), None);
        assert_eq!(stop_after(&tc, &[("det_acc".to_string(), 0.5)], 50), None);
    }
}
