//! Where training rows come from: fresh seeded rows every step (default), a fixed set of
//! `train.num_data` rows, or a data file from `indu data` (last lines held out for eval).
//! A task with an exact data set (`TaskSpec::exact_split`: modular addition) ignores all
//! three: its training set is the seeded split of all pairs, used whole when `batch_size`
//! is at least its size, and every evaluation runs on all pairs.
use super::{splitmix, step_seed};
use crate::config::RunConfig;
use crate::error::{Error, Result};
use crate::tasks::{Rows, Split, TaskSpec};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::Path;

/// Seed stream of the held-out evaluation rows.
const EVAL_STREAM: u64 = 0x4556_414c;
/// Seed stream of the finite training set.
const TRAIN_SET_STREAM: u64 = 0x5345_5421;

/// The training data of a run and its held-out evaluation rows.
#[derive(Debug)]
pub struct DataSource {
    spec: TaskSpec,
    seed: u64,
    /// `Some` in finite mode (num_data or a file).
    fixed: Option<Rows>,
    eval: Rows,
}

impl DataSource {
    pub fn new(cfg: &RunConfig, spec: &TaskSpec, file: Option<&Path>) -> Result<DataSource> {
        let seed = cfg.seed;
        let eval_size = cfg.train.eval_size;
        let mut eval_rng = ChaCha8Rng::seed_from_u64(splitmix(seed ^ EVAL_STREAM));
        let (fixed, eval) = match (spec.exact_split(), file, cfg.train.num_data) {
            (Some((train, eval)), _, _) => (Some(train), eval),
            (None, Some(path), _) => {
                let all = read_rows(spec, path)?;
                let n = all.len();
                if n < 2 {
                    return Err(Error::Invalid(format!(
                        "{}: {n} rows; need at least 2 (train + held out)",
                        path.display()
                    )));
                }
                // makemore holds out min(1000, 10%) rows as the test set.
                let n_test = 1000.min(n / 10).max(1);
                let (train, test) = split_rows(&all, n - n_test);
                (Some(train), test)
            }
            (None, None, Some(n)) => {
                let mut rng = ChaCha8Rng::seed_from_u64(splitmix(seed ^ TRAIN_SET_STREAM));
                (
                    Some(spec.generate(n, Split::Train, &mut rng)),
                    spec.generate(eval_size, Split::Test, &mut eval_rng),
                )
            }
            (None, None, None) => (None, spec.generate(eval_size, Split::Test, &mut eval_rng)),
        };
        Ok(DataSource {
            spec: spec.clone(),
            seed,
            fixed,
            eval,
        })
    }

    /// The rows of training step `step` (a pure function of seed and step).
    pub fn train_batch(&self, step: usize, batch_size: usize) -> Rows {
        let mut rng = ChaCha8Rng::seed_from_u64(step_seed(self.seed, step));
        match &self.fixed {
            None => self.spec.generate(batch_size, Split::Train, &mut rng),
            Some(set) if set.len() <= batch_size => set.clone(),
            Some(set) => {
                let n_ctx = set.n_ctx;
                let mut out = Rows {
                    n_ctx,
                    ..Rows::default()
                };
                for _ in 0..batch_size {
                    let i = rng.random_range(0..set.len());
                    let r = i * n_ctx..(i + 1) * n_ctx;
                    out.tokens.extend_from_slice(&set.tokens[r.clone()]);
                    out.targets.extend_from_slice(&set.targets[r.clone()]);
                    out.mask.extend_from_slice(&set.mask[r]);
                }
                out
            }
        }
    }

    /// The fixed held-out rows used at every evaluation.
    pub fn eval_rows(&self) -> &Rows {
        &self.eval
    }

    /// Whether training computes the last position only (`Task::trains_last_position_only`).
    pub fn last_position_only(&self) -> bool {
        self.spec.task().trains_last_position_only()
    }

    /// The training set, in finite mode (a task's exact split, `num_data` or a file).
    pub fn train_set(&self) -> Option<&Rows> {
        self.fixed.as_ref()
    }
}

/// Parse every non-empty line of a data file with the task's `from_line`.
pub fn read_rows(spec: &TaskSpec, path: &Path) -> Result<Rows> {
    let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
    spec.from_lines(text.lines()).map_err(|e| Error::Format {
        path: path.to_path_buf(),
        msg: e.to_string(),
    })
}

fn split_rows(all: &Rows, at: usize) -> (Rows, Rows) {
    let c = at * all.n_ctx;
    let part = |r: std::ops::Range<usize>| Rows {
        n_ctx: all.n_ctx,
        tokens: all.tokens[r.clone()].to_vec(),
        targets: all.targets[r.clone()].to_vec(),
        mask: all.mask[r].to_vec(),
    };
    (part(0..c), part(c..all.tokens.len()))
}
