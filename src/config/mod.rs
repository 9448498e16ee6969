//! The configuration of a run: `RunConfig` (task, model, training, seed) and its TOML form,
//! the embedded presets, `--set key=value` overrides, the checks of every key's type
//! (`keys`) and of every value's range (`limits`), and `stop_when` conditions.
mod document;
mod keys;
mod limits;
mod overrides;
mod presets;
mod run;
mod stop_when;
mod train;

pub use limits::{MAX_DATA_TOKENS, MAX_PARAMS, MAX_STEP_FLOATS};
pub use overrides::{apply_override, parse_override_value};
pub use presets::{preset_text, Preset};
pub use run::RunConfig;
pub use stop_when::{Comparison, StopWhen};
pub use train::{DecayOn, Schedule, TrainConfig};
