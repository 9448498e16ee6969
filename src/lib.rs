//! indu: an experiment runner for small transformers (library half; the binary is thin).
//! Data flows config -> task generator -> batch -> model (+ hooks) -> metrics / cache ->
//! detectors -> report -> JSON / PNG.
pub mod analysis;
pub mod circuits;
pub mod config;
pub mod data;
pub mod detect;
pub mod device;
pub mod dynamics;
pub mod error;
pub mod experiments;
pub mod given;
pub mod hooks;
pub mod import;
pub mod model;
pub mod plot;
pub mod probe;
pub mod report;
pub mod run_dir;
pub mod sampling;
pub mod st_io;
pub mod sweep;
pub mod tasks;
pub mod train;
pub mod wording;

pub use error::{Error, Result};
