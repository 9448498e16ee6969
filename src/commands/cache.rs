//! `indu cache`: run-with-cache export of chosen hooks to safetensors.
use crate::cli::CacheArgs;
use anyhow::Result;
use indu::experiments::cache::{self, CacheOptions};

pub fn run(mut a: CacheArgs) -> Result<()> {
    let lr = super::open_run(&a.run)?;
    let o = CacheOptions {
        hooks: a.hooks.clone(),
        source: a.source(),
        given: a.given(),
        seed: a.seed,
        out: a.out,
    };
    let report = cache::run(&lr, &o)?;
    super::emit(&report, a.run.json, &[])
}
