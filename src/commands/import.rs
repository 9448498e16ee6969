//! `indu import`: a TransformerLens checkpoint and its config -> a run directory.
use crate::cli::ImportArgs;
use anyhow::Result;
use indu::import::{self, ImportOptions};
use std::path::{Path, PathBuf};

pub fn run(a: ImportArgs) -> Result<()> {
    let out = a.out.unwrap_or_else(|| default_out(&a.weights));
    let o = ImportOptions {
        weights: a.weights,
        tl_config: a.tl_config,
        out,
        force: a.force,
        tokenizer: a.tokenizer,
    };
    let report = import::run(&o)?;
    super::emit(&report, a.json, &[])
}

/// `runs/<file stem>` of the checkpoint.
fn default_out(weights: &Path) -> PathBuf {
    let stem = weights
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "imported".into());
    Path::new(indu::run_dir::RUNS).join(stem)
}
