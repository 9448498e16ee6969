//! The one-row input of `plot-attn` and `cache`: `--text`, one probe row (`--probe`) or a
//! fresh task sample (`--sample`, the default). clap makes the three mutually exclusive.
use anyhow::{bail, Context, Result};
use indu::analysis::{probe_for, LoadedRun};
use indu::tasks::Rows;

/// One input row, a phrase naming it ("a fresh induction sample") and a note for stderr.
pub struct Input {
    pub rows: Rows,
    pub source: String,
    pub note: Option<String>,
}

/// Build the input row; `seed` seeds the probe or the sample.
pub fn input_row(lr: &LoadedRun, text: Option<&str>, probe: bool, seed: u64) -> Result<Input> {
    if let Some(text) = text {
        let tokens = lr.encode_text(text).context("--text")?;
        if tokens.is_empty() {
            bail!("--text is empty: give at least one token");
        }
        let n = tokens.len();
        let rows = Rows {
            n_ctx: n,
            targets: tokens.clone(),
            mask: vec![0.0; n],
            tokens,
        };
        let shown: String = text.chars().take(40).collect();
        let ellipsis = if text.chars().count() > 40 { "…" } else { "" };
        return Ok(Input {
            rows,
            source: format!("\"{shown}{ellipsis}\""),
            note: None,
        });
    }
    if probe {
        let (probe, note) = probe_for(lr.n_ctx(), None, 2)?;
        return Ok(Input {
            rows: lr.probe_rows(probe, 1, seed)?,
            source: format!("the repeat probe (T = {}, k = {})", probe.t, probe.k),
            note,
        });
    }
    Ok(Input {
        rows: lr.showcase_row(seed),
        source: format!("a fresh {} sample", lr.cfg.task.task()),
        note: None,
    })
}
