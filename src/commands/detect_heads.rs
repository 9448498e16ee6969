//! `indu detect-heads`: every detector on every head -> heads.json,
//! plots/head_scores.png, a table.
use crate::cli::DetectArgs;
use anyhow::Result;
use indu::experiments::detect::{self, DetectOptions};

pub fn run(a: DetectArgs) -> Result<()> {
    let o = DetectOptions {
        source: a.on,
        probe: a.probe.request(),
        batch: a.probe.batch,
        seed: a.probe.seed,
        threshold_token: a.threshold_token,
        threshold_induction: a.threshold_induction,
    };
    o.check()?;
    super::each_run(&a.run, |lr| {
        let report = detect::run(lr, &o)?;
        let wrote = report.write(lr)?;
        Ok((report, wrote))
    })
}
