//! The tasks: presets and their config keys, and generator properties.
mod config;
mod props;
