//! The library's typed error: every failure carries the data a user needs to fix it.
use std::path::PathBuf;

/// Errors returned by the indu library. The binary maps every variant to exit code 2.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration key or value is wrong (message names the key, value and expectation).
    #[error("{0}")]
    Config(String),
    /// Bad user input other than configuration (CLI value, text, run directory contents).
    #[error("{0}")]
    Invalid(String),
    /// A file could not be read or written.
    /// (The I/O error is part of the message, not a `source`, so a context chain prints it once.)
    #[error("{}: {err}", path.display())]
    Io { path: PathBuf, err: std::io::Error },
    /// A file exists but its contents are not what indu expects (corrupt or foreign).
    #[error("{}: {msg}", path.display())]
    Format { path: PathBuf, msg: String },
    /// A tensor operation failed (shape mismatch, device problem).
    #[error("tensor error: {0}")]
    Candle(#[from] candle_core::Error),
    /// Training stopped because the loss became NaN or infinite.
    #[error(
        "loss became {value} at step {step}; {kept} (try a smaller train.lr or model.init_range)"
    )]
    Diverged {
        step: usize,
        value: f32,
        kept: String,
    },
    /// The user interrupted (Ctrl-C); state was saved.
    #[error("interrupted at step {step}; checkpoint saved, continue with --resume")]
    Interrupted { step: usize },
}

/// Library result type.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Helper for `map_err` on I/O results.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |err| Error::Io { path, err }
    }
}
