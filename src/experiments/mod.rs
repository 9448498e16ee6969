//! Every analysis a command runs, as one library call returning a typed report:
//! `experiments::<name>::run(&LoadedRun, &Options) -> Report`, and `Report::write` to put its
//! files into the run directory (through `report::Outputs`, so a failure leaves nothing
//! half-written). The commands only turn arguments into options and print the report
//! (`report::Report`). Numerics live below: `circuits`, `detect`, `sampling`, `train::eval`.
use crate::error::{Error, Result};

pub mod ablate;
pub mod attention;
pub mod attribute;
pub mod cache;
pub mod circuits;
pub mod data;
pub mod detect;
pub mod eval;
pub mod loss;
pub mod patch;
pub mod plot_dynamics;
pub mod sample;
pub mod sweep_report;
pub mod view;

/// Refuse a count above `max` (a memory or sanity limit), naming the option.
pub fn at_most(option: &str, value: usize, max: usize, what: &str) -> Result<()> {
    if value > max {
        return Err(Error::Invalid(format!(
            "{option} {value} is too large: expected at most {max} {what}"
        )));
    }
    Ok(())
}

/// The error of an analysis that pools over many rows when asked to run on one text.
fn rows_only(command: &str) -> Error {
    Error::Invalid(format!(
        "{command} runs on the probe or on task rows (--on probe|task), not on a text or token ids"
    ))
}
