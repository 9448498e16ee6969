//! A sweep over seeds (`indu train --seeds`): each seed's final numbers read back from its
//! summary.json, and a sweep's throughput.
use crate::tasks::metric;
use std::path::PathBuf;

/// One seed's final numbers (None where its run wrote no summary or no such value).
#[derive(Debug, Clone, PartialEq)]
pub struct SeedResult {
    pub seed: u64,
    pub final_train_loss: Option<f64>,
    pub eval_loss: Option<f64>,
    pub eval_acc: Option<f64>,
}

/// Every seed's result, in the order given, read from the summary.json of its run dir.
pub fn results(runs: &[(u64, PathBuf)]) -> Vec<SeedResult> {
    runs.iter()
        .map(|(seed, dir)| {
            let p = crate::run_dir::RunDir::new(dir).summary();
            let text = std::fs::read_to_string(p).unwrap_or_default();
            from_summary(*seed, &text)
        })
        .collect()
}

/// A seed's result from the text of its summary.json (all None when it is not JSON).
pub fn from_summary(seed: u64, text: &str) -> SeedResult {
    let v: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    let eval = |k: &str| v["final_eval"][k].as_f64();
    SeedResult {
        seed,
        final_train_loss: v["final_train_loss"].as_f64(),
        eval_loss: eval(metric::LOSS),
        eval_acc: eval(metric::ACC),
    }
}

/// Runs per minute of `runs` runs that took `secs` seconds in all.
pub fn runs_per_minute(runs: usize, secs: f64) -> f64 {
    runs as f64 * 60.0 / secs.max(1e-9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_read_what_summary_json_holds() {
        let mut final_eval = serde_json::Map::new();
        final_eval.insert(metric::LOSS.into(), 0.5.into());
        final_eval.insert(metric::ACC.into(), 0.75.into());
        let s = super::super::Summary {
            task: "induction".into(),
            steps: 10,
            seed: 3,
            final_train_loss: 1.25,
            final_eval,
            wall_s: 1.0,
            train_s: 1.0,
            steps_per_s: 10.0,
            ms_per_step: 100.0,
            peak_rss_mb: 0.0,
            threads: 1,
            device: "Cpu".into(),
            indu_version: "0",
            candle_version: "0",
            flops_per_step: 0.0,
            gflops_per_s: 0.0,
            stop_when: None,
            stopped_at: None,
            ablate_heads: Vec::new(),
            tracking: None,
            tracking_s: 0.0,
            phase_changes: None,
            modular_addition: None,
        };
        let text = serde_json::to_string(&s).unwrap();
        let r = from_summary(3, &text);
        assert_eq!(
            r,
            SeedResult {
                seed: 3,
                final_train_loss: Some(1.25),
                eval_loss: Some(0.5),
                eval_acc: Some(0.75),
            }
        );
        let none = from_summary(4, "{\"final_tr");
        assert_eq!((none.final_train_loss, none.eval_loss), (None, None));
        assert!((runs_per_minute(3, 30.0) - 6.0).abs() < 1e-12);
    }
}
