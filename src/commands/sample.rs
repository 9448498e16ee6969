//! `indu sample`: samples from the begin token (induction) with the validity share, or
//! greedy completions of held-out prompts with correctness (other tasks), or the greedy
//! completion of one `--prompt`.
use crate::cli::SampleArgs;
use anyhow::{bail, Result};
use indu::sampling::{complete, complete_prompt, sample, PromptReport, SampleOptions};
use indu::tasks::Task;

pub fn run(a: SampleArgs) -> Result<()> {
    if a.n == 0 {
        bail!("-n 0: expected at least 1 sample");
    }
    if let Some(t) = a.temperature {
        if !(t.is_finite() && t >= 0.0) {
            bail!("--temperature {t}: expected a number >= 0 (0 = greedy)");
        }
    }
    if a.top_k == Some(0) {
        bail!("--top-k 0: expected at least 1");
    }
    let lr = super::open_run(&a.run)?;
    let task = lr.cfg.task.task();
    let sampling = a.temperature.is_some() || a.top_k.is_some();
    if sampling && (a.prompt.is_some() || task != Task::Induction) {
        let flag = if a.temperature.is_some() {
            "--temperature"
        } else {
            "--top-k"
        };
        let why = if a.prompt.is_some() {
            "--prompt completes greedily".to_string()
        } else {
            format!("{task} is completed greedily (only induction samples)")
        };
        bail!("{flag} does not apply here: {why}; drop it");
    }
    if let Some(p) = &a.prompt {
        let tokens = lr
            .encode_text(p)
            .map_err(|e| anyhow::anyhow!("--prompt {p:?}: {e}"))?;
        let r = complete_prompt(&lr, &tokens)?;
        if a.run.json {
            println!("{}", serde_json::to_string_pretty(&r)?);
        } else {
            print_prompt(&r, task == Task::Induction);
        }
        return Ok(());
    }
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
                temperature: a.temperature.unwrap_or(1.0),
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

fn print_prompt(r: &PromptReport, rule: bool) {
    let verdict = match (r.correct, rule) {
        (Some(true), true) => "valid",
        (Some(false), true) => "INVALID: a character is followed by two different ones",
        (Some(true), false) => "correct",
        (Some(false), false) => "WRONG",
        (None, _) => "no check for this task",
    };
    match &r.answer {
        Some(ans) => println!("{} -> {ans} ({verdict})", r.prompt),
        None => println!("{} | {} ({verdict})", r.prompt, r.completion),
    }
}
