//! The modular-addition task of grokking (seed 003, "Training Details"): a row is `a b =`
//! with `a, b` in `0..p` and `=` = token `p`; the prediction made at `=` (the last position)
//! should be `(a + b) mod p`, and only it counts.
//!
//! The data set is finite and exact: all `p²` pairs, split once by the run's seed. The pairs
//! are listed `(a, b)` in row-major order (pair index `a * p + b`), shuffled by a ChaCha8
//! stream seeded from the seed, and the first `floor(frac_train * p²)` are the training set
//! (the seed's `gen_train_test`: shuffle, `div = int(frac_train * len(pairs))`); the rest
//! are held out. Training uses the whole training set every step (`exact_split`); the
//! evaluation runs on all `p²` pairs and reports the held-out and the training side apart.
use super::common::{check_len, strip_eol, Mean};
use super::{metric, Rows, Split, Tokenizer};
use crate::error::{Error, Result};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

/// Largest `p` (p² pairs are listed; 1000² rows are ten million tokens).
pub const MAX_P: usize = 1000;
/// Seed stream of the train/held-out split.
const SPLIT_STREAM: u64 = 0x4d4f_4441_4444;

/// `[task]` keys of `name = "modular_addition"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModularAdditionConfig {
    /// The modulus (seed: 113).
    pub p: usize,
    /// Share of the p² pairs in the training set (seed: 0.3).
    pub frac_train: f64,
}

impl Default for ModularAdditionConfig {
    fn default() -> Self {
        ModularAdditionConfig {
            p: 113,
            frac_train: 0.3,
        }
    }
}

impl ModularAdditionConfig {
    /// `p` in 2..=1000; `frac_train` leaves at least one pair on each side.
    pub fn validate(&self) -> Result<()> {
        if !(2..=MAX_P).contains(&self.p) {
            return Err(Error::Config(format!(
                "task.p = {} is out of range: expected 2..={MAX_P}",
                self.p
            )));
        }
        let total = self.p * self.p;
        let n = n_train(self.p, self.frac_train);
        if !(self.frac_train > 0.0 && self.frac_train < 1.0) || n == 0 || n >= total {
            return Err(Error::Config(format!(
                "task.frac_train = {} puts {n} of the {total} pairs in the training set: it \
                 must be in (0, 1) and leave at least one pair on each side",
                self.frac_train
            )));
        }
        Ok(())
    }
}

/// `floor(frac_train * p²)`, as the seed's `int(frac_train * len(pairs))`.
fn n_train(p: usize, frac_train: f64) -> usize {
    let n = (frac_train * (p * p) as f64).floor();
    if n.is_finite() && n > 0.0 {
        n as usize
    } else {
        0
    }
}

/// The built task: `p`, and the seeded split of the pairs.
#[derive(Debug, Clone)]
pub struct ModularAddition {
    p: u32,
    /// Pair indices `a * p + b` of the training set, in shuffled order.
    train: Vec<u32>,
    /// Pair indices of the held-out set, in shuffled order.
    test: Vec<u32>,
    /// `is_train[a * p + b]`.
    is_train: Vec<bool>,
    tokenizer: Tokenizer,
}

impl ModularAddition {
    /// Build from the config; `seed` chooses the split.
    pub fn new(c: &ModularAdditionConfig, seed: u64) -> Result<Self> {
        c.validate()?;
        let p = c.p as u32; // validated <= 1000
        let mut pairs: Vec<u32> = (0..p * p).collect();
        let mut rng =
            rand_chacha::ChaCha8Rng::seed_from_u64(crate::train::splitmix(seed ^ SPLIT_STREAM));
        pairs.shuffle(&mut rng);
        let test = pairs.split_off(n_train(c.p, c.frac_train));
        let mut is_train = vec![false; pairs.len() + test.len()];
        for &i in &pairs {
            is_train[i as usize] = true;
        }
        let mut words: Vec<String> = (0..p).map(|i| i.to_string()).collect();
        words.push("=".into());
        Ok(ModularAddition {
            p,
            train: pairs,
            test,
            is_train,
            tokenizer: Tokenizer::words(words),
        })
    }
    /// The modulus.
    pub fn p(&self) -> usize {
        self.p as usize
    }
    /// The `=` token (`p`).
    pub fn equals(&self) -> u32 {
        self.p
    }
    /// 3: `a b =`.
    pub fn n_ctx(&self) -> usize {
        3
    }
    /// `p + 1`: the residues and `=`.
    pub fn d_vocab(&self) -> usize {
        self.p as usize + 1
    }
    /// `p + 1`, as the seed's model (its unembedding has d_vocab outputs; `=` is never a
    /// target).
    pub fn d_vocab_out(&self) -> usize {
        self.p as usize + 1
    }
    /// Whether the pair `(a, b)` is in the training set.
    pub fn is_train(&self, a: u32, b: u32) -> bool {
        a < self.p && b < self.p && self.is_train[(a * self.p + b) as usize]
    }
    /// Pair indices `a * p + b` of the training set (shuffled order).
    pub fn train_pairs(&self) -> &[u32] {
        &self.train
    }
    /// Pair indices of the held-out set (shuffled order).
    pub fn test_pairs(&self) -> &[u32] {
        &self.test
    }

    fn push(&self, a: u32, b: u32, rows: &mut Rows) {
        let target = (a + b) % self.p;
        rows.push_row(&[a, b, self.p], &[0, 0, target], &[0.0, 0.0, 1.0]);
    }

    /// The rows of the pairs `indices` (`a * p + b`), in that order.
    pub fn rows_of(&self, indices: &[u32]) -> Rows {
        let mut rows = Rows::with_capacity(indices.len(), 3);
        for &i in indices {
            self.push(i / self.p, i % self.p, &mut rows);
        }
        rows
    }

    /// Every pair in row-major order (`a * p + b`): the input of the progress measures.
    pub fn all_rows(&self) -> Rows {
        let all: Vec<u32> = (0..self.p * self.p).collect();
        self.rows_of(&all)
    }

    /// The exact data set: the training rows (the whole training set, in shuffled order)
    /// and the evaluation rows (all p² pairs, row-major; `metrics` tells the sides apart).
    pub fn exact_split(&self) -> (Rows, Rows) {
        (self.rows_of(&self.train), self.all_rows())
    }

    /// `n` pairs drawn uniformly (with replacement) from the split's side.
    pub fn generate<R: rand::Rng + ?Sized>(&self, n: usize, s: Split, rng: &mut R) -> Rows {
        let side = match s {
            Split::Train => &self.train,
            Split::Test => &self.test,
        };
        let mut rows = Rows::with_capacity(n, 3);
        for _ in 0..n {
            let i = side[rng.random_range(0..side.len())];
            self.push(i / self.p, i % self.p, &mut rows);
        }
        rows
    }
    /// Words `0 .. p-1` and `=`.
    pub fn tokenizer(&self) -> Tokenizer {
        self.tokenizer.clone()
    }
    /// No rule to check.
    pub fn is_valid(&self, _row: &[u32]) -> Option<bool> {
        None
    }
    /// `loss`, `acc` over the counted predictions of held-out pairs; `train_loss`,
    /// `train_acc` over those of training pairs (NaN for a side with no rows).
    pub fn metrics(&self, rows: &Rows, loss: &[f32], pred: &[u32]) -> Vec<(String, f64)> {
        let [mut test_l, mut test_a, mut train_l, mut train_a] = [Mean::default(); 4];
        for c in super::common::counted(rows, loss, pred) {
            let row = rows.row(c.b);
            let (l, a) = if self.is_train(row[0], row[1]) {
                (&mut train_l, &mut train_a)
            } else {
                (&mut test_l, &mut test_a)
            };
            l.add(c.loss);
            a.add(f64::from(u8::from(c.correct)));
        }
        let mut out = vec![
            (metric::LOSS.into(), test_l.get().unwrap_or(f64::NAN)),
            (metric::ACC.into(), test_a.get().unwrap_or(f64::NAN)),
        ];
        out.push((metric::TRAIN_LOSS.into(), train_l.get().unwrap_or(f64::NAN)));
        out.push((metric::TRAIN_ACC.into(), train_a.get().unwrap_or(f64::NAN)));
        out
    }
    /// The decoded row (`5 17 =`).
    pub fn to_line(&self, row: &[u32], _mask: &[f32]) -> String {
        self.tokenizer.decode(row)
    }
    /// A line `a b =`.
    pub fn from_line(&self, line: &str) -> Result<Rows> {
        let row = self.tokenizer.encode(strip_eol(line))?;
        check_len(row.len(), 3, "word", "modular_addition")?;
        let bad = |pos: usize, want: String| {
            Error::Invalid(format!(
                "word {:?} at position {pos}: expected {want}",
                self.tokenizer.decode(&row[pos..=pos])
            ))
        };
        for (pos, &t) in row.iter().take(2).enumerate() {
            if t >= self.p {
                return Err(bad(pos, format!("a residue 0..{}", self.p)));
            }
        }
        if row[2] != self.p {
            return Err(bad(2, "=".into()));
        }
        let mut rows = Rows::with_capacity(1, 3);
        self.push(row[0], row[1], &mut rows);
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(p: usize, frac_train: f64, seed: u64) -> ModularAddition {
        ModularAddition::new(&ModularAdditionConfig { p, frac_train }, seed).unwrap()
    }

    #[test]
    fn the_split_is_exact_disjoint_and_seeded() {
        let t = task(113, 0.3, 0);
        // The seed's int(0.3 * 12769) = 3830.
        assert_eq!((t.train_pairs().len(), t.test_pairs().len()), (3830, 8939));
        let mut all: Vec<u32> = t.train_pairs().to_vec();
        all.extend_from_slice(t.test_pairs());
        all.sort_unstable();
        assert_eq!(all, (0..113 * 113).collect::<Vec<u32>>());
        assert!(t
            .train_pairs()
            .iter()
            .all(|&i| t.is_train(i / 113, i % 113)));
        assert!(t
            .test_pairs()
            .iter()
            .all(|&i| !t.is_train(i / 113, i % 113)));
        let again = task(113, 0.3, 0);
        assert_eq!(again.train_pairs(), t.train_pairs());
        let other = task(113, 0.3, 1);
        assert_ne!(other.train_pairs(), t.train_pairs());
        assert_eq!(other.train_pairs().len(), 3830);
    }

    #[test]
    fn rows_targets_and_mask() {
        let t = task(7, 0.5, 3);
        assert_eq!((t.n_ctx(), t.d_vocab(), t.d_vocab_out()), (3, 8, 8));
        let (train, eval) = t.exact_split();
        assert_eq!((train.len(), eval.len()), (24, 49));
        for i in 0..eval.len() {
            let (row, tg, m) = (eval.row(i), eval.targets_row(i), eval.mask_row(i));
            assert_eq!(row, &[i as u32 / 7, i as u32 % 7, 7]);
            assert_eq!(tg[2], (row[0] + row[1]) % 7);
            assert_eq!(m, &[0.0, 0.0, 1.0]);
        }
        let rows = t.from_line("5 4 =").unwrap();
        assert_eq!((rows.row(0), rows.targets_row(0)[2]), (&[5, 4, 7][..], 2));
        assert_eq!(t.to_line(rows.row(0), rows.mask_row(0)), "5 4 =");
        let e = t.from_line("5 = =").unwrap_err().to_string();
        assert!(e.contains("position 1"), "{e}");
        let e = t.from_line("5 4 3").unwrap_err().to_string();
        assert!(e.contains("position 2"), "{e}");
        // generate draws from its side only.
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(2);
        let g = t.generate(200, Split::Test, &mut rng);
        assert!((0..g.len()).all(|i| !t.is_train(g.row(i)[0], g.row(i)[1])));
    }

    #[test]
    fn metrics_tell_the_sides_apart() {
        let t = task(5, 0.4, 1);
        let (_, eval) = t.exact_split();
        // Loss 1 on training pairs and 3 on held-out ones; every prediction right.
        let loss: Vec<f32> = (0..eval.len())
            .flat_map(|i| {
                let r = eval.row(i);
                let l = if t.is_train(r[0], r[1]) { 1.0 } else { 3.0 };
                [0.0, 0.0, l]
            })
            .collect();
        let m = t.metrics(&eval, &loss, &eval.targets);
        let get = |k: &str| m.iter().find(|(n, _)| n == k).unwrap().1;
        assert_eq!((get("loss"), get("train_loss")), (3.0, 1.0));
        assert_eq!((get("acc"), get("train_acc")), (1.0, 1.0));
    }

    #[test]
    fn bad_options_are_named() {
        let c = |p, frac_train| ModularAdditionConfig { p, frac_train }.validate();
        assert!(c(1, 0.3).unwrap_err().to_string().contains("task.p = 1"));
        assert!(c(5, 1.0)
            .unwrap_err()
            .to_string()
            .contains("task.frac_train"));
        assert!(c(5, 0.01).unwrap_err().to_string().contains("0 of the 25"));
        assert!(c(113, 0.3).is_ok());
    }
}
