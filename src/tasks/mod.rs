//! The six tasks of docs/tasks.md: `Task` names them (and answers the questions of
//! `contract`), `TaskConfig` holds their parameters (the `[task]` section), `TaskSpec` is a
//! built generator. Rows are plain `u32`; no tensors here.
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

pub mod addition;
mod common;
mod contract;
pub mod induction;
pub mod modular_addition;
pub mod permutations;
pub mod repeated;
mod section;
pub mod skip_trigrams;
pub mod split;
pub mod tokenizer;

pub use contract::{metric, MetricGroup, Target};
pub use tokenizer::Tokenizer;

/// The task names, as written on the command line and in `[task] name = ...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Task {
    Induction,
    Permutations,
    Addition,
    SkipTrigrams,
    Repeated,
    ModularAddition,
}

impl Task {
    /// Every task, in preset order.
    pub const ALL: [Task; 6] = [
        Task::Induction,
        Task::Permutations,
        Task::Addition,
        Task::SkipTrigrams,
        Task::Repeated,
        Task::ModularAddition,
    ];

    /// The name used on the command line and in configs.
    pub fn name(self) -> &'static str {
        match self {
            Task::Induction => "induction",
            Task::Permutations => "permutations",
            Task::Addition => "addition",
            Task::SkipTrigrams => "skip_trigrams",
            Task::Repeated => "repeated",
            Task::ModularAddition => "modular_addition",
        }
    }
}

impl fmt::Display for Task {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Task {
    type Err = Error;
    fn from_str(s: &str) -> Result<Task> {
        let norm = s.trim().replace('-', "_");
        Task::ALL
            .into_iter()
            .find(|t| t.name() == norm)
            .ok_or_else(|| {
                let names = Task::names();
                let hint = crate::wording::closest(&norm, &names)
                    .map(|c| format!(" (did you mean {c}?)"))
                    .unwrap_or_default();
                Error::Invalid(format!(
                    "unknown task {s:?}: expected one of {}{hint}",
                    Task::list()
                ))
            })
    }
}

/// Which side of the train/test split a batch is drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

/// A batch of rows: `tokens`, `targets`, `mask`, each `[n, n_ctx]` row-major.
/// `targets[b, p]` is the token the prediction at position p should give (the next token,
/// or the task's answer); it only matters where `mask[b, p] == 1`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Rows {
    pub n_ctx: usize,
    pub tokens: Vec<u32>,
    pub targets: Vec<u32>,
    pub mask: Vec<f32>,
}

impl Rows {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.tokens.len().checked_div(self.n_ctx).unwrap_or(0)
    }
    /// True when there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The tokens of row `i`.
    pub fn row(&self, i: usize) -> &[u32] {
        &self.tokens[i * self.n_ctx..(i + 1) * self.n_ctx]
    }
    /// The targets of row `i`.
    pub fn targets_row(&self, i: usize) -> &[u32] {
        &self.targets[i * self.n_ctx..(i + 1) * self.n_ctx]
    }
    /// The mask of row `i`.
    pub fn mask_row(&self, i: usize) -> &[f32] {
        &self.mask[i * self.n_ctx..(i + 1) * self.n_ctx]
    }
    /// Rows `range` as their own batch (rows `start..end`, clamped to what there is).
    pub fn slice(&self, range: std::ops::Range<usize>) -> Rows {
        let end = range.end.min(self.len());
        let start = range.start.min(end);
        let r = start * self.n_ctx..end * self.n_ctx;
        Rows {
            n_ctx: self.n_ctx,
            tokens: self.tokens[r.clone()].to_vec(),
            targets: self.targets[r.clone()].to_vec(),
            mask: self.mask[r].to_vec(),
        }
    }
    /// No rows yet, rows of length `n_ctx`.
    pub fn new(n_ctx: usize) -> Rows {
        Rows {
            n_ctx,
            ..Rows::default()
        }
    }
    /// Room for `n` rows of length `n_ctx`.
    pub fn with_capacity(n: usize, n_ctx: usize) -> Rows {
        Rows {
            n_ctx,
            tokens: Vec::with_capacity(n * n_ctx),
            targets: Vec::with_capacity(n * n_ctx),
            mask: Vec::with_capacity(n * n_ctx),
        }
    }
    /// Add one row (callers pass three slices of length `n_ctx`).
    pub fn push_row(&mut self, tokens: &[u32], targets: &[u32], mask: &[f32]) {
        self.tokens.extend_from_slice(tokens);
        self.targets.extend_from_slice(targets);
        self.mask.extend_from_slice(mask);
    }
    /// Add all rows of `other` (an empty `self` takes `other`'s row length).
    pub fn append(&mut self, other: &Rows) -> Result<()> {
        if self.tokens.is_empty() {
            self.n_ctx = other.n_ctx;
        } else if other.n_ctx != self.n_ctx && !other.tokens.is_empty() {
            return Err(Error::Invalid(format!(
                "rows of length {} cannot join rows of length {}",
                other.n_ctx, self.n_ctx
            )));
        }
        self.push_row(&other.tokens, &other.targets, &other.mask);
        Ok(())
    }
}

/// The `[task]` section: `name` selects the task, the other keys are its parameters
/// (read by `section`, which names the bad key).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "name", rename_all = "snake_case")]
pub enum TaskConfig {
    Induction(induction::InductionConfig),
    Permutations(permutations::PermutationsConfig),
    Addition(addition::AdditionConfig),
    SkipTrigrams(skip_trigrams::SkipTrigramsConfig),
    Repeated(repeated::RepeatedConfig),
    ModularAddition(modular_addition::ModularAdditionConfig),
}

/// A built task generator (per-task tables, such as the held-out symbol sets, precomputed).
#[derive(Debug, Clone)]
pub enum TaskSpec {
    Induction(induction::Induction),
    Permutations(permutations::Permutations),
    Addition(addition::Addition),
    SkipTrigrams(skip_trigrams::SkipTrigrams),
    Repeated(repeated::Repeated),
    ModularAddition(modular_addition::ModularAddition),
}

impl TaskConfig {
    /// Which task this section describes.
    pub fn task(&self) -> Task {
        match self {
            TaskConfig::Induction(_) => Task::Induction,
            TaskConfig::Permutations(_) => Task::Permutations,
            TaskConfig::Addition(_) => Task::Addition,
            TaskConfig::SkipTrigrams(_) => Task::SkipTrigrams,
            TaskConfig::Repeated(_) => Task::Repeated,
            TaskConfig::ModularAddition(_) => Task::ModularAddition,
        }
    }

    /// Check the task's parameters (names the key, value and allowed range).
    pub fn validate(&self) -> Result<()> {
        match self {
            TaskConfig::Induction(c) => c.validate(),
            TaskConfig::Permutations(c) => c.validate(),
            TaskConfig::Addition(c) => c.validate(),
            TaskConfig::SkipTrigrams(c) => c.validate(),
            TaskConfig::Repeated(c) => c.validate(),
            TaskConfig::ModularAddition(c) => c.validate(),
        }
    }

    /// Build the generator; `seed` fixes any seed-dependent table (held-out sets).
    pub fn spec(&self, seed: u64) -> Result<TaskSpec> {
        self.validate()?;
        Ok(match self {
            TaskConfig::Induction(c) => TaskSpec::Induction(induction::Induction::new(c, seed)?),
            TaskConfig::Permutations(c) => {
                TaskSpec::Permutations(permutations::Permutations::new(c, seed)?)
            }
            TaskConfig::Addition(c) => TaskSpec::Addition(addition::Addition::new(c, seed)?),
            TaskConfig::SkipTrigrams(c) => {
                TaskSpec::SkipTrigrams(skip_trigrams::SkipTrigrams::new(c, seed)?)
            }
            TaskConfig::Repeated(c) => TaskSpec::Repeated(repeated::Repeated::new(c, seed)?),
            TaskConfig::ModularAddition(c) => {
                TaskSpec::ModularAddition(modular_addition::ModularAddition::new(c, seed)?)
            }
        })
    }
}

/// Dispatch one method to the task's generator.
macro_rules! dispatch {
    ($self:ident, $t:ident => $e:expr) => {
        match $self {
            TaskSpec::Induction($t) => $e,
            TaskSpec::Permutations($t) => $e,
            TaskSpec::Addition($t) => $e,
            TaskSpec::SkipTrigrams($t) => $e,
            TaskSpec::Repeated($t) => $e,
            TaskSpec::ModularAddition($t) => $e,
        }
    };
}

impl TaskSpec {
    /// Which task.
    pub fn task(&self) -> Task {
        match self {
            TaskSpec::Induction(_) => Task::Induction,
            TaskSpec::Permutations(_) => Task::Permutations,
            TaskSpec::Addition(_) => Task::Addition,
            TaskSpec::SkipTrigrams(_) => Task::SkipTrigrams,
            TaskSpec::Repeated(_) => Task::Repeated,
            TaskSpec::ModularAddition(_) => Task::ModularAddition,
        }
    }
    /// The modular-addition task, for what only it has (the grokking progress measures).
    pub fn modular_addition(&self) -> Option<&modular_addition::ModularAddition> {
        match self {
            TaskSpec::ModularAddition(t) => Some(t),
            TaskSpec::Induction(_)
            | TaskSpec::Permutations(_)
            | TaskSpec::Addition(_)
            | TaskSpec::SkipTrigrams(_)
            | TaskSpec::Repeated(_) => None,
        }
    }
    /// A task whose data set is finite and exact (modular addition: all p² pairs, split by
    /// the seed): the training rows, used whole every step, and the evaluation rows. None
    /// for the tasks that draw fresh rows.
    pub fn exact_split(&self) -> Option<(Rows, Rows)> {
        match self {
            TaskSpec::ModularAddition(t) => Some(t.exact_split()),
            TaskSpec::Induction(_)
            | TaskSpec::Permutations(_)
            | TaskSpec::Addition(_)
            | TaskSpec::SkipTrigrams(_)
            | TaskSpec::Repeated(_) => None,
        }
    }
    /// Row length.
    pub fn n_ctx(&self) -> usize {
        dispatch!(self, t => t.n_ctx())
    }
    /// Number of input tokens.
    pub fn d_vocab(&self) -> usize {
        dispatch!(self, t => t.d_vocab())
    }
    /// Number of output classes (targets are below this).
    pub fn d_vocab_out(&self) -> usize {
        dispatch!(self, t => t.d_vocab_out())
    }
    /// `n` rows from the given split; a pure function of `self` and the RNG state.
    pub fn generate<R: rand::Rng + ?Sized>(&self, n: usize, split: Split, rng: &mut R) -> Rows {
        dispatch!(self, t => t.generate(n, split, rng))
    }
    /// Encoder/decoder between tokens and readable text.
    pub fn tokenizer(&self) -> Tokenizer {
        dispatch!(self, t => t.tokenizer())
    }
    /// Whether a row obeys the task's rule, where the task has one (None otherwise).
    pub fn is_valid(&self, row: &[u32]) -> Option<bool> {
        dispatch!(self, t => t.is_valid(row))
    }
    /// Task metrics from per-position loss and argmax predictions (`[n, n_ctx]` each,
    /// only masked positions are read). Always includes `loss` and `acc`.
    pub fn metrics(&self, rows: &Rows, loss: &[f32], pred: &[u32]) -> Vec<(String, f64)> {
        dispatch!(self, t => t.metrics(rows, loss, pred))
    }
    /// One row (its tokens and mask) as a line of a data file; `from_line` reads it back.
    /// Induction writes makemore's format (the letters without the start token); the other
    /// tasks write the decoded row, and `repeated` appends ` | ` and the start of each
    /// copy 1.. (read off the mask, which the tokens alone do not determine).
    pub fn to_line(&self, row: &[u32], mask: &[f32]) -> String {
        dispatch!(self, t => t.to_line(row, mask))
    }
    /// Every row of `rows` as a line.
    pub fn to_lines(&self, rows: &Rows) -> Vec<String> {
        (0..rows.len())
            .map(|i| self.to_line(rows.row(i), rows.mask_row(i)))
            .collect()
    }
    /// One line of a data file back to a row with its targets and mask. The error names
    /// the bad character (or word) and its column, or the wrong length.
    pub fn from_line(&self, line: &str) -> Result<Rows> {
        dispatch!(self, t => t.from_line(line))
    }
    /// Every line of a data file (blank lines skipped); errors name the 1-based line.
    pub fn from_lines<'a>(&self, lines: impl IntoIterator<Item = &'a str>) -> Result<Rows> {
        let mut rows = Rows::new(self.n_ctx());
        for (i, line) in lines.into_iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let row = self
                .from_line(line)
                .map_err(|e| Error::Invalid(format!("line {}: {e}", i + 1)))?;
            rows.append(&row)?;
        }
        Ok(rows)
    }
}
