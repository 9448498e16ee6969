//! The integration tests, one binary: the `indu` binary end to end (one module per command
//! or area) and the library checked against references (TransformerLens parity, finite
//! differences, hooks, detectors, tasks, plots). Shared helpers are in `util`.
mod util;

mod ablate;
mod analysis;
mod bad_input;
mod circuits;
mod cli;
mod detect;
mod dynamics;
mod eval_sample;
mod fuzz_inputs;
mod grokking;
mod import;
mod model;
mod patch;
mod plot;
mod plot_dynamics;
mod sweep;
mod sweep_report;
mod tasks;
mod train;
mod view;
