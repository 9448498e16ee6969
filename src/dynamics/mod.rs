//! The time axis of a run: what training tracks at its tracked steps (`dynamics.jsonl`,
//! one `DynamicsLine` per step) and the phase changes found in those curves (the weight
//! snapshots are part of the run's layout: `run_dir::snapshots`).
//! - `line`: the line's type (the file's schema) and its reader.
//! - `phases`: the phase changes (loss drop, head formation, ICL) found in the curves.
//! - `track`: the tracked pass (what a line measures) on the model being trained.
//! - `fourier`, `grokking`: the Fourier basis over `0..p` and the grokking progress
//!   measures (restricted and excluded loss, embedding Fourier norms) of modular addition.
pub mod fourier;
pub mod grokking;
pub mod line;
pub mod phases;
pub mod track;

pub use line::{read_lines, DynamicsLine, SCHEMA_VERSION};
