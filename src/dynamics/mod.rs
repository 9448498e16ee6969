//! The time axis of a run: what training tracks at its tracked steps (`dynamics.jsonl`,
//! one `DynamicsLine` per step), the weight snapshots it keeps, and the phase changes found
//! in those curves.
//! - `line`: the line's type (the file's schema) and its reader.
//! - `phases`: the phase changes (loss drop, head formation, ICL) found in the curves.
//! - `track`: the tracked pass (what a line measures) on the model being trained.
//! - `snapshots`: the weights kept at snapshot steps and the one `--step N` means.
pub mod line;
pub mod phases;
pub mod snapshots;
pub mod track;

pub use line::{read_lines, DynamicsLine, SCHEMA_VERSION};
