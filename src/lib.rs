//! indu: an experiment runner for small transformers (library half; the binary is thin).
//! Data flows config -> task generator -> batch -> model (+ hooks) -> metrics / cache ->
//! detectors -> report -> JSON / PNG.
pub mod config;
pub mod error;
pub mod tasks;

pub use error::{Error, Result};
pub mod data;
pub mod plot;
pub mod report;
