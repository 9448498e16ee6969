//! `indu cache`: run-with-cache export of chosen hooks to safetensors.
use crate::cli::CacheArgs;
use anyhow::Result;
use indu::experiments::cache::{self, CacheOptions};
use indu::given::Given;

pub fn run(a: CacheArgs) -> Result<()> {
    let lr = super::open_run(&a.run)?;
    let source = a.source();
    let given = match (a.text.as_slice(), a.tokens) {
        ([], None) => None,
        ([], Some(ids)) => Some(Given::Tokens(ids.0)),
        ([one], _) => Some(Given::Text(one.clone())),
        (many, _) => Some(Given::Tokens(lr.encode_texts(many)?)),
    };
    let o = CacheOptions {
        hooks: a.hooks.clone(),
        source,
        given,
        batch: a.batch,
        seed: a.seed,
        out: a.out,
    };
    let report = cache::run(&lr, &o)?;
    super::emit(&report, a.run.json, &[])
}
