//! `RunConfig`: the whole description of a run (task, model, training, seed), read from
//! TOML with overrides, resolved against its task, and written back as `config.toml`.
use super::document::parse_document;
use super::keys::check_config;
use super::overrides::apply_override;
use super::presets::Preset;
use super::train::TrainConfig;
use crate::error::{Error, Result};
use crate::model::config::ModelConfig;
use crate::tasks::TaskConfig;
use crate::wording::one_line;
use serde::{Deserialize, Serialize};

/// Everything that determines a run. Serialised as `config.toml` in the run directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Seed of every random choice: initial weights, data, held-out split.
    #[serde(default)]
    pub seed: u64,
    pub task: TaskConfig,
    #[serde(default)]
    pub model: ModelConfig,
    #[serde(default)]
    pub train: TrainConfig,
}

impl Default for RunConfig {
    /// The induction task with the default model and training settings, seed 0 (resolved:
    /// `n_ctx`, `d_vocab` and `d_vocab_out` are the task's). The presets in `configs/`
    /// carry the seeds' settings; this is the neutral starting point for code.
    fn default() -> Self {
        let mut cfg = RunConfig {
            seed: 0,
            task: TaskConfig::Induction(crate::tasks::induction::InductionConfig::default()),
            model: ModelConfig::default(),
            train: TrainConfig::default(),
        };
        // The default induction task always builds; the fallback keeps `default` panic-free.
        if cfg.resolve().is_err() {
            cfg.model.n_ctx = Some(32);
            cfg.model.d_vocab = Some(27);
            cfg.model.d_vocab_out = Some(27);
        }
        cfg
    }
}

impl RunConfig {
    /// Parse a config from TOML text, applying `overrides` (`key.path=value`) first.
    /// The result is resolved against its task and validated.
    pub fn from_toml(text: &str, overrides: &[String]) -> Result<RunConfig> {
        let cfg = Self::parse(text, overrides)?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Like `from_toml`, for generating data only (`indu data`): every value is checked
    /// except the training-only limits (the memory of a training step or of a model).
    pub fn from_toml_for_data(text: &str, overrides: &[String]) -> Result<RunConfig> {
        let cfg = Self::parse(text, overrides)?;
        cfg.validate_values()?;
        Ok(cfg)
    }

    /// Parse, apply overrides, deserialise and resolve (not validated).
    fn parse(text: &str, overrides: &[String]) -> Result<RunConfig> {
        let mut table = parse_document(text)?;
        for o in overrides {
            apply_override(&mut table, o)?;
        }
        check_config(&table)?;
        // Every key and type was checked above; serde only reads the values.
        let mut cfg =
            RunConfig::deserialize(table).map_err(|e| Error::Config(one_line(&e.to_string())))?;
        cfg.resolve()?;
        Ok(cfg)
    }

    /// An embedded preset (a `Preset`, or a `Task` for the task's own preset), with
    /// overrides.
    pub fn preset(preset: impl Into<Preset>, overrides: &[String]) -> Result<RunConfig> {
        Self::from_toml(preset.into().text(), overrides)
    }

    /// Fill `n_ctx`, `d_vocab`, `d_vocab_out` from the task where absent.
    pub fn resolve(&mut self) -> Result<()> {
        let spec = self.task.spec(self.seed)?;
        let m = &mut self.model;
        m.n_ctx.get_or_insert(spec.n_ctx());
        m.d_vocab.get_or_insert(spec.d_vocab());
        m.d_vocab_out.get_or_insert(spec.d_vocab_out());
        Ok(())
    }

    /// The resolved config as TOML (what `config.toml` holds).
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self)
            .map_err(|e| Error::Config(format!("cannot serialise config: {e}")))
    }
}
