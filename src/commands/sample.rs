//! `indu sample`: samples from the begin token (induction) with the validity share, or
//! greedy completions of held-out prompts with correctness (other tasks).
use crate::cli::SampleArgs;
use anyhow::{bail, Result};
use indu::sampling::{complete, sample, SampleOptions};
use indu::tasks::Task;

pub fn run(a: SampleArgs) -> Result<()> {
    if a.n == 0 {
        bail!("-n 0: expected at least 1 sample");
    }
    if !(a.temperature.is_finite() && a.temperature >= 0.0) {
        bail!(
            "--temperature {}: expected a number >= 0 (0 = greedy)",
            a.temperature
        );
    }
    if a.top_k == Some(0) {
        bail!("--top-k 0: expected at least 1");
    }
    let lr = super::open_run(&a.run)?;
    super::at_most(
        "-n",
        a.n,
        (indu::config::MAX_STEP_FLOATS / lr.cfg.activation_floats_per_row().max(1))
            .clamp(1, 1_000_000),
        "samples for this model",
    )?;
    let report = match lr.cfg.task.task() {
        Task::Induction => sample(
            &lr,
            a.n,
            &SampleOptions {
                temperature: a.temperature,
                top_k: a.top_k,
                seed: a.seed,
            },
        )?,
        Task::Permutations | Task::Addition | Task::SkipTrigrams | Task::Repeated => {
            complete(&lr, a.n, a.seed)?
        }
    };
    let path = lr.run.path.join("samples.txt");
    let mut text = String::new();
    for (s, ok) in report.samples.iter().zip(&report.ok) {
        text.push_str(&format!("{} {s}\n", if *ok { "ok " } else { "BAD" }));
    }
    indu::report::atomic_write(&path, text.as_bytes())?;
    if a.run.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    print!("{text}");
    let good = report.ok.iter().filter(|&&b| b).count();
    let what = if lr.cfg.task.task() == Task::Induction {
        "valid"
    } else {
        "correct"
    };
    println!(
        "{}: {good} of {} {what} ({:.1}%) -> {}",
        report.mode,
        report.ok.len(),
        100.0 * report.share_ok,
        path.display()
    );
    Ok(())
}
