//! `indu eval`: the task's metrics on fresh held-out rows -> eval.json and a summary.
use crate::cli::EvalArgs;
use anyhow::Result;
use indu::experiments::eval::{self, EvalOptions};

pub fn run(a: EvalArgs) -> Result<()> {
    let o = EvalOptions {
        n: a.n,
        seed: a.seed,
        samples: a.samples,
    };
    o.check()?;
    super::each_run(&a.run, |lr| {
        let report = eval::run(lr, &o)?;
        let wrote = report.write(lr)?;
        Ok((report, wrote))
    })
}
