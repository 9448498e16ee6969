//! `TrainConfig`: the `[train]` section (optimiser, schedule and loop settings) and its enums.
use super::stop_when::StopWhen;
use crate::model::config::option_names;
use serde::{Deserialize, Serialize};

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

option_names!(Schedule { Constant = "constant", Cosine = "cosine" });
option_names!(DecayOn { Matrices = "matrices", All = "all" });

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
    /// Save and stop at the first evaluation where this holds (`"eval_det_acc >= 0.99"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_when: Option<StopWhen>,
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
    /// Data-parallel worker threads on the CPU (`train::parallel`: the batch is split over
    /// them); 0 = one per core. Sweeps and `--seeds` run one per process.
    pub threads: usize,
    /// Track head scores and progress measures (`dynamics.jsonl`) every this many steps
    /// (and at step 0 and the end); 0 turns tracking off; absent = `eval_every`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub track_every: Option<usize>,
    /// Keep the weights every this many steps (and at step 0) in `snapshots/`; 0 = none.
    pub snapshot_every: usize,
    /// Heads (`"layer.head"`) whose output is zero-ablated in every training forward pass
    /// and tracked pass (Singh et al.'s causal test of head formation).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ablate_heads: Vec<String>,
}

impl TrainConfig {
    /// The data-parallel workers `threads` asks for: itself, or one per core for 0.
    pub fn workers(&self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }

    /// The tracking cadence in steps (0: off).
    pub fn track_every(&self) -> usize {
        self.track_every.unwrap_or(self.eval_every)
    }

    /// Whether `step` (steps done, 0 = the initial weights) is tracked.
    pub fn is_tracked(&self, step: usize) -> bool {
        let every = self.track_every();
        every > 0 && (step.is_multiple_of(every) || step == self.steps)
    }

    /// Whether the weights after `step` steps are kept as a snapshot.
    pub fn is_snapshot(&self, step: usize) -> bool {
        self.snapshot_every > 0 && step.is_multiple_of(self.snapshot_every)
    }
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
            stop_when: None,
            eval_every: 100,
            eval_size: 1000,
            checkpoint_every: 500,
            log_every: 10,
            num_data: None,
            threads: 0,
            track_every: None,
            snapshot_every: 0,
            ablate_heads: Vec::new(),
        }
    }
}
