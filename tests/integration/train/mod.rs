//! `indu train` through the binary on tiny budgets: run directory contents, determinism,
//! resume, Ctrl-C and SIGKILL against an uninterrupted run, the run lock, divergence, disk
//! space, --force.
use crate::util::indu;
use std::path::Path;

mod disk;
mod divergence;
mod interrupt;
mod makemore;
mod options;
mod run_dir;
mod stop_when;

const TINY: [&str; 8] = [
    "--set",
    "train.eval_every=5",
    "--set",
    "train.eval_size=32",
    "--set",
    "train.checkpoint_every=5",
    "--set",
    "train.log_every=1",
];

/// `indu train` of the induction task for `steps` steps into `out` with the TINY settings
/// and `extra` flags (the caller checks the outcome).
fn train(dir: &Path, out: &str, steps: usize, extra: &[&str]) -> std::process::Output {
    indu(dir)
        .args([
            "train",
            "--task",
            "induction",
            "--quiet",
            "--steps",
            &steps.to_string(),
            "--out",
            out,
        ])
        .args(TINY)
        .args(extra)
        .output()
        .expect("runs")
}

/// `indu train --resume` of `run`.
#[cfg(unix)]
fn resume(dir: &Path, run: &str) -> std::process::Output {
    indu(dir)
        .args(["train", "--resume", "--run", run, "--quiet"])
        .output()
        .unwrap()
}
