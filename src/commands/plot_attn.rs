//! `indu plot-attn`: attention heatmaps of one input with token labels.
use crate::cli::PlotAttnArgs;
use anyhow::Result;
use indu::experiments::attention::{self, AttentionOptions};

pub fn run(mut a: PlotAttnArgs) -> Result<()> {
    let lr = super::open_run(&a.run)?;
    let o = AttentionOptions {
        source: a.source(),
        given: a.given(),
        layer: a.layer,
        head: a.head,
        seed: a.seed,
        out: a.out,
    };
    let report = attention::run(&lr, &o)?;
    super::emit(&report, a.run.json, &report.files)
}
