//! `indu sample`: samples (generative tasks), greedy completions of held-out prompts, or
//! the completion of one `--prompt`, each with the task's check.
use crate::cli::SampleArgs;
use anyhow::Result;
use indu::experiments::sample::{self, Outcome, SampleCommand};

pub fn run(a: SampleArgs) -> Result<()> {
    let o = SampleCommand {
        n: a.n,
        temperature: a.temperature,
        top_k: a.top_k,
        prompt: a.prompt,
        seed: a.seed,
    };
    o.check()?;
    let lr = super::open_run(&a.run)?;
    match sample::run(&lr, &o)? {
        Outcome::Completion(c) => super::emit(&c, a.run.json, &[]),
        Outcome::Samples(s) => {
            s.write()?;
            super::emit(&s, a.run.json, &[])
        }
    }
}
