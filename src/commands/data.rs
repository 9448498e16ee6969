//! `indu data`: write a task's data set (one line per row) to a file or stdout.
use crate::cli::{DataArgs, DataFormat};
use anyhow::{bail, Context, Result};
use indu::experiments::data::{lines, Format};
use indu::tasks::Split;
use std::io::Write;

pub fn run(a: DataArgs) -> Result<()> {
    let task = super::parse_task(&a.task)?;
    if a.n == 0 {
        bail!("--n 0: expected at least 1 row");
    }
    // Only the task matters here: no training-only limits (activation memory, model size).
    let cfg = indu::config::RunConfig::from_toml_for_data(indu::config::preset_text(task), &a.set)
        .with_context(|| format!("preset {task}"))?;
    let spec = cfg.task.spec(cfg.seed)?;
    // The data set is built in memory before the atomic write.
    indu::experiments::at_most(
        "--n",
        a.n,
        indu::config::MAX_DATA_TOKENS / spec.n_ctx().max(1),
        &format!("rows of {task} (the data set is built in memory)"),
    )?;
    let split = if a.test { Split::Test } else { Split::Train };
    let format = match a.format {
        DataFormat::Text => Format::Text,
        DataFormat::Jsonl => Format::Jsonl,
    };
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| format!("data/{task}.{}", format.extension()).into());
    let to_stdout = out.as_os_str() == "-";
    let bar = (a.n >= 200_000 && !to_stdout).then(|| {
        let b = indicatif::ProgressBar::new(a.n as u64);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} rows {per_sec} ETA {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        b
    });
    let text = lines(&spec, a.n, split, a.seed, format, |done| {
        if let Some(b) = &bar {
            b.set_position(done as u64);
        }
    });
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if to_stdout {
        std::io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .context("writing to stdout")?;
        return Ok(());
    }
    let mut outputs = indu::report::Outputs::new();
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        outputs
            .dir(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    indu::report::atomic_write(&out, text.as_bytes())
        .with_context(|| format!("writing {}", out.display()))?;
    outputs.keep();
    eprintln!("wrote {} rows of {task} to {}", a.n, out.display());
    Ok(())
}
