//! `RunConfig`: the whole description of a run (task, model, training, seed), its TOML form,
//! the embedded presets, `--set key=value` overrides and `validate()`.
use crate::error::{Error, Result};
use crate::tasks::{Task, TaskConfig};
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

/// Activation function of the MLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ActFn {
    Relu,
    Gelu,
}

/// Normalisation before attention/MLP and before the unembedding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Normalization {
    #[serde(rename = "none")]
    None,
    /// TransformerLens "LN": LayerNorm with learned weight and bias.
    #[serde(rename = "LN")]
    LN,
}

/// How positions enter the model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Positional {
    /// Learned `W_pos` added to the residual stream.
    Standard,
    /// `W_pos` added to the query and key inputs only (seed 001).
    Shortformer,
}

/// How a block's attention output joins the residual stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Residual {
    /// `resid_post = resid_pre + attn_out` (TransformerLens).
    Standard,
    /// Seed 003's notebook model: its `forward` adds the block's output, which already holds
    /// the residual, to the residual again, so `resid_post = 2 * resid_pre + attn_out`. Not a
    /// TransformerLens model: runs with it get no `tl_config.json`.
    Notebook,
}

/// Initialisation scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Init {
    /// TransformerLens "gpt2": every matrix N(0, init_range), biases 0.
    Tl,
    /// Seed 003 notebook: N(0,1)/sqrt(d_model) (W_U: /sqrt(d_vocab)), biases 0.
    Scaled,
}

/// Transformer shape and options. `n_ctx`, `d_vocab`, `d_vocab_out` default to the task's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    pub n_layers: usize,
    pub n_heads: usize,
    pub d_model: usize,
    pub d_head: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n_ctx: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub d_vocab: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub d_vocab_out: Option<usize>,
    pub attn_only: bool,
    pub d_mlp: usize,
    pub act_fn: ActFn,
    pub normalization: Normalization,
    pub positional: Positional,
    pub init: Init,
    /// How attention outputs join the residual stream.
    pub residual: Residual,
    /// Standard deviation for `init = "tl"`; absent = TransformerLens's 0.8 / sqrt(d_model).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_range: Option<f64>,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            n_layers: 2,
            n_heads: 1,
            d_model: 64,
            d_head: 64,
            n_ctx: None,
            d_vocab: None,
            d_vocab_out: None,
            attn_only: true,
            d_mlp: 256,
            act_fn: ActFn::Relu,
            normalization: Normalization::None,
            positional: Positional::Standard,
            init: Init::Tl,
            residual: Residual::Standard,
            init_range: None,
        }
    }
}

impl ModelConfig {
    /// Context length (after `RunConfig::resolve`, always set).
    pub fn n_ctx(&self) -> usize {
        self.n_ctx.unwrap_or(0)
    }
    /// Input vocabulary size (after `RunConfig::resolve`, always set).
    pub fn d_vocab(&self) -> usize {
        self.d_vocab.unwrap_or(0)
    }
    /// Output vocabulary size (after `RunConfig::resolve`, always set).
    pub fn d_vocab_out(&self) -> usize {
        self.d_vocab_out.or(self.d_vocab).unwrap_or(0)
    }
    /// Factor by which the final residual stream carries what was written into it before
    /// layer `written_before` (`n_layers` = written by the last layer; 0 = the embeddings).
    /// 1 for the standard residual; `2^(n_layers - written_before)` for the notebook's, which
    /// doubles the stream at every layer. Exact in f32 (a power of two).
    pub fn stream_gain(&self, written_before: usize) -> f64 {
        match self.residual {
            Residual::Standard => 1.0,
            Residual::Notebook => {
                let doublings = self.n_layers.saturating_sub(written_before).min(1000);
                2f64.powi(doublings as i32)
            }
        }
    }
    /// The standard deviation of `init = "tl"`.
    pub fn init_range(&self) -> f64 {
        self.init_range
            .unwrap_or(0.8 / (self.d_model.max(1) as f64).sqrt())
    }
}

/// Learning-rate schedule after the warm-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    Constant,
    Cosine,
}

/// Which parameters AdamW's weight decay applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DecayOn {
    /// Matrices only (rank >= 2): not biases, not LayerNorm.
    Matrices,
    /// Every parameter, as `torch.optim.AdamW(model.parameters())` in the seed notebooks.
    All,
}

/// Optimiser, schedule and loop settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    pub steps: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub weight_decay: f64,
    /// Which parameters weight decay applies to.
    pub decay_on: DecayOn,
    pub betas: [f64; 2],
    pub eps: f64,
    pub warmup_steps: usize,
    pub schedule: Schedule,
    /// Clip the global gradient norm to this value; 0 disables clipping.
    pub grad_clip: f64,
    /// Evaluate on held-out data every this many steps (and at the end).
    pub eval_every: usize,
    /// Held-out rows per evaluation.
    pub eval_size: usize,
    /// Write a checkpoint every this many steps (and at the end).
    pub checkpoint_every: usize,
    /// Log training loss to metrics.jsonl every this many steps.
    pub log_every: usize,
    /// Finite training set of this many rows (absent = fresh data every step).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub num_data: Option<usize>,
    /// Threads for the CPU backend (1 = one per process; runs in parallel are processes).
    pub threads: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            steps: 2000,
            batch_size: 32,
            lr: 5e-4,
            weight_decay: 0.01,
            decay_on: DecayOn::Matrices,
            betas: [0.9, 0.99],
            eps: 1e-8,
            warmup_steps: 0,
            schedule: Schedule::Constant,
            grad_clip: 0.0,
            eval_every: 100,
            eval_size: 1000,
            checkpoint_every: 500,
            log_every: 10,
            num_data: None,
            threads: 1,
        }
    }
}

/// Most trainable parameters a config may have (1 GiB of f32 per copy; training keeps four).
pub const MAX_PARAMS: usize = 1 << 28;
/// Most f32 activations one training step may need (4 GiB).
pub const MAX_STEP_FLOATS: usize = 1 << 30;
/// Most tokens a held-out or finite training set may hold in memory.
pub const MAX_DATA_TOKENS: usize = 1 << 26;

const PRESETS: [(Task, &str); 5] = [
    (Task::Induction, include_str!("../configs/induction.toml")),
    (
        Task::Permutations,
        include_str!("../configs/permutations.toml"),
    ),
    (Task::Addition, include_str!("../configs/addition.toml")),
    (
        Task::SkipTrigrams,
        include_str!("../configs/skip_trigrams.toml"),
    ),
    (Task::Repeated, include_str!("../configs/repeated.toml")),
];

/// The TOML text of a task's embedded preset.
pub fn preset_text(task: Task) -> &'static str {
    PRESETS
        .iter()
        .find(|(t, _)| *t == task)
        .map(|(_, s)| *s)
        .unwrap_or("") // every Task has a row in PRESETS (checked by a test)
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
        let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            let msg = one_line(&e.to_string()).replace(
                "u64 value was too large",
                "the integer is too large: expected at most 9223372036854775807",
            );
            Error::Config(format!("invalid TOML: {msg}"))
        })?;
        for o in overrides {
            apply_override(&mut table, o)?;
        }
        let mut cfg: RunConfig = RunConfig::deserialize(table)
            .map_err(|e| Error::Config(explain_serde(&e.to_string())))?;
        cfg.resolve()?;
        Ok(cfg)
    }

    /// The embedded preset of a task, with overrides.
    pub fn preset(task: Task, overrides: &[String]) -> Result<RunConfig> {
        Self::from_toml(preset_text(task), overrides)
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
            ("train.threads", t.threads, 1, 1024),
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
        crate::model::param_shapes(&self.model)
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

    /// The resolved config as TOML (what `config.toml` holds).
    pub fn to_toml(&self) -> Result<String> {
        toml::to_string_pretty(self)
            .map_err(|e| Error::Config(format!("cannot serialise config: {e}")))
    }
}

fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Apply one `a.b.c=value` override to a TOML table. The value is parsed as TOML
/// (`1e-3`, `true`, `[0.9, 0.98]`, `"LN"`), or taken as a bare string.
pub fn apply_override(table: &mut toml::Table, spec: &str) -> Result<()> {
    let Some((key, raw)) = spec.split_once('=') else {
        return Err(Error::Config(format!(
            "--set {spec:?}: expected KEY=VALUE, e.g. train.lr=1e-3"
        )));
    };
    let key = key.trim();
    let raw = raw.trim();
    let value: toml::Value = match format!("v = {raw}").parse::<toml::Table>() {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or(toml::Value::String(raw.to_string())),
        Err(_) => {
            let digits = raw.strip_prefix(['-', '+']).unwrap_or(raw);
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
                // A whole number TOML cannot hold (its integers are 64-bit signed).
                return Err(Error::Config(format!(
                    "{key} = {raw} is out of range: expected at most 9223372036854775807"
                )));
            }
            toml::Value::String(raw.to_string())
        }
    };
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(Error::Config(format!("--set {spec:?}: empty key segment")));
    }
    let mut cur = table;
    for p in &parts[..parts.len() - 1] {
        let entry = cur
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = match entry {
            toml::Value::Table(t) => t,
            _ => {
                return Err(Error::Config(format!(
                    "--set {key}: `{p}` is a value, not a section"
                )))
            }
        };
    }
    cur.insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}

/// serde's Rust type names in "expected usize" / "expected u64" said as what a user types.
pub(crate) fn plain_number_words(msg: &str) -> String {
    msg.replace("expected usize", "expected a whole number >= 0")
        .replace("expected u64", "expected a whole number >= 0")
}

/// Turn a serde error into one line, adding "did you mean" for unknown fields/variants.
fn explain_serde(msg: &str) -> String {
    let mut msg = plain_number_words(&one_line(msg));
    // `section` already named the key (`task.length: ...`).
    if msg.starts_with("task.") {
        if let Some(m) = msg.strip_suffix(" in `task`") {
            msg = m.to_string();
        }
    }
    for kind in ["unknown field `", "unknown variant `"] {
        if let Some(start) = msg.find(kind) {
            let rest = &msg[start + kind.len()..];
            let Some(end) = rest.find('`') else { break };
            let bad = &rest[..end];
            let candidates: Vec<&str> = rest[end + 1..].split('`').skip(1).step_by(2).collect();
            if let Some(best) = closest(bad, &candidates) {
                return format!("{msg} (did you mean `{best}`?)");
            }
        }
    }
    msg
}

/// The candidate with the smallest edit distance to `word`, if reasonably close.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        // Ties go to the candidate with the same first letter (`n_head` -> `n_heads`).
        .map(|c| {
            (
                levenshtein(word, c),
                c.chars().next() != word.chars().next(),
                *c,
            )
        })
        .min()
        .filter(|(d, _, c)| *d <= (c.len().max(word.len()) / 2).max(2))
        .map(|(_, _, c)| c)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
