//! The limits a config is checked against: every value's allowed range, the task's needs,
//! and the memory of a model and of one training step.
use super::run::RunConfig;
use crate::error::{Error, Result};
use crate::model::config::param_shapes;

/// Most trainable parameters a config may have (1 GiB of f32 per copy; training keeps four).
pub const MAX_PARAMS: usize = 1 << 28;
/// Most f32 activations one training step may need (4 GiB).
pub const MAX_STEP_FLOATS: usize = 1 << 30;
/// Most tokens a held-out or finite training set may hold in memory.
pub const MAX_DATA_TOKENS: usize = 1 << 26;

impl RunConfig {
    /// Check every value against its allowed range and the task's needs, and that training
    /// fits in memory.
    pub fn validate(&self) -> Result<()> {
        self.validate_values()?;
        self.check_resources()
    }

    /// Check every value against its allowed range and the task's needs.
    pub fn validate_values(&self) -> Result<()> {
        self.task.validate()?;
        let spec = self.task.spec(self.seed)?;
        let m = &self.model;
        let t = &self.train;
        let positive = [
            ("model.n_layers", m.n_layers, 1, 64),
            ("model.n_heads", m.n_heads, 1, 256),
            ("model.d_model", m.d_model, 1, 1 << 16),
            ("model.d_head", m.d_head, 1, 1 << 16),
            ("train.batch_size", t.batch_size, 1, 1 << 20),
            ("train.eval_every", t.eval_every, 1, usize::MAX),
            ("train.eval_size", t.eval_size, 1, 1 << 24),
            ("train.checkpoint_every", t.checkpoint_every, 1, usize::MAX),
            ("train.log_every", t.log_every, 1, usize::MAX),
            ("train.threads", t.threads, 0, 1024),
        ];
        for (name, v, lo, hi) in positive {
            if v < lo || v > hi {
                return Err(Error::Config(format!(
                    "{name} = {v} is out of range: expected {lo}..={hi}"
                )));
            }
        }
        if !m.attn_only && m.d_mlp == 0 {
            return Err(Error::Config(
                "model.d_mlp = 0 but model.attn_only = false: an MLP needs d_mlp >= 1".into(),
            ));
        }
        let need = [
            (
                "model.n_ctx",
                m.n_ctx(),
                spec.n_ctx(),
                "the task's rows are",
            ),
            (
                "model.d_vocab",
                m.d_vocab(),
                spec.d_vocab(),
                "the task's vocabulary is",
            ),
            (
                "model.d_vocab_out",
                m.d_vocab_out(),
                spec.d_vocab_out(),
                "the task's answers need",
            ),
        ];
        for (name, v, needed, what) in need {
            if v < needed {
                return Err(Error::Config(format!(
                    "{name} = {v} is too small: {what} {needed} (task {})",
                    self.task.task()
                )));
            }
        }
        if let Some(r) = m.init_range {
            if !(r.is_finite() && r > 0.0) {
                return Err(Error::Config(format!(
                    "model.init_range = {r} must be a positive number"
                )));
            }
        }
        if let Some(s) = &t.stop_when {
            s.check_task(&spec, "train.stop_when")?;
        }
        let floats = [
            ("train.lr", t.lr, 0.0, 10.0, false),
            ("train.weight_decay", t.weight_decay, 0.0, 100.0, true),
            ("train.betas[0]", t.betas[0], 0.0, 1.0, true),
            ("train.betas[1]", t.betas[1], 0.0, 1.0, true),
            ("train.eps", t.eps, 0.0, 1.0, false),
            ("train.grad_clip", t.grad_clip, 0.0, 1e12, true),
        ];
        for (name, v, lo, hi, lo_ok) in floats {
            let ok = v.is_finite() && (v > lo || (lo_ok && v == lo)) && v <= hi;
            if !ok {
                let open = if lo_ok { "[" } else { "(" };
                return Err(Error::Config(format!(
                    "{name} = {v} is out of range: expected {open}{lo}, {hi}]"
                )));
            }
        }
        if t.betas[0] >= 1.0 || t.betas[1] >= 1.0 {
            return Err(Error::Config(format!(
                "train.betas = {:?}: each beta must be below 1",
                t.betas
            )));
        }
        for item in &t.ablate_heads {
            crate::hooks::parse_head("train.ablate_heads", item, m.n_layers, m.n_heads)
                .map_err(|e| Error::Config(e.to_string()))?;
        }
        if t.num_data == Some(0) {
            return Err(Error::Config(
                "train.num_data = 0: expected at least 1 row (or remove the key for fresh data)"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Refuse configs whose parameters, per-step activations or data sets would not fit in
    /// memory, before anything is allocated.
    fn check_resources(&self) -> Result<()> {
        let (m, t) = (&self.model, &self.train);
        let params = self.n_params();
        if params > MAX_PARAMS {
            return Err(Error::Config(format!(
                "the model has {params} parameters (n_layers = {}, n_heads = {}, d_model = {}, d_head = {}, n_ctx = {}, d_vocab = {}): the limit is {MAX_PARAMS} (1 GiB of f32); make it smaller",
                m.n_layers, m.n_heads, m.d_model, m.d_head, m.n_ctx(), m.d_vocab()
            )));
        }
        let n_ctx = m.n_ctx().max(1);
        for (name, rows) in [
            ("train.eval_size", Some(t.eval_size)),
            ("train.num_data", t.num_data),
        ] {
            let Some(rows) = rows else { continue };
            if rows.saturating_mul(n_ctx) > MAX_DATA_TOKENS {
                return Err(Error::Config(format!(
                    "{name} = {rows} rows of {n_ctx} tokens is too much data to hold: expected at most {} rows",
                    MAX_DATA_TOKENS / n_ctx
                )));
            }
        }
        // Training keeps about three copies of every activation (forward, gradient, temp).
        let per_row = self.activation_floats_per_row();
        let need = per_row.saturating_mul(t.batch_size).saturating_mul(3);
        if need > MAX_STEP_FLOATS {
            return Err(Error::Config(format!(
                "train.batch_size = {} needs about {} GiB of activations per step with this model: the limit is {} GiB, so expected train.batch_size <= {}",
                t.batch_size,
                need / (1 << 28),
                MAX_STEP_FLOATS / (1 << 28),
                (MAX_STEP_FLOATS / per_row.saturating_mul(3).max(1)).max(1)
            )));
        }
        Ok(())
    }

    /// Number of trainable parameters (saturating).
    pub fn n_params(&self) -> usize {
        param_shapes(&self.model)
            .iter()
            .map(|(_, s)| s.iter().fold(1usize, |a, &d| a.saturating_mul(d)))
            .fold(0usize, usize::saturating_add)
    }

    /// Rough count of f32 activations one row of `n_ctx` tokens makes in a forward pass
    /// (q, k, v, z, patterns, residuals, MLP, logits). Used for memory limits only.
    pub fn activation_floats_per_row(&self) -> usize {
        let m = &self.model;
        let n_ctx = m.n_ctx();
        let heads = m.n_heads.saturating_mul(m.d_head).saturating_mul(4);
        let pattern = m.n_heads.saturating_mul(n_ctx).saturating_mul(2);
        let mlp = if m.attn_only {
            0
        } else {
            m.d_mlp.saturating_mul(2)
        };
        let layer = heads
            .saturating_add(pattern)
            .saturating_add(mlp)
            .saturating_add(m.d_model.saturating_mul(4));
        let per_token = layer
            .saturating_mul(m.n_layers)
            .saturating_add(m.d_vocab_out().saturating_mul(2))
            .saturating_add(m.d_model.saturating_mul(2));
        per_token.saturating_mul(n_ctx)
    }
}
