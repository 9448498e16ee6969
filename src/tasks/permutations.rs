//! The permutations task (seed 002): "> " + every permutation of n symbols (itertools
//! order) + ".", over the 65-character vocabulary, with a seeded held-out 20% of symbol
//! sets (see `split.rs`) for testing generalisation to unseen symbols.
use super::common::{self, check_len, push_mean, strip_eol, Mean};
use super::split::HeldOut;
use super::{metric, Rows, Split, Tokenizer};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The vocabulary: three specials, then the 62 symbols.
pub const VOCAB: &str = "> .abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/// `>`: begin.
pub const BEGIN: u32 = 0;
/// ` `: separator.
pub const SPACE: u32 = 1;
/// `.`: end.
pub const END: u32 = 2;
/// Token of the first symbol.
pub const FIRST_SYMBOL: u32 = 3;
/// Number of symbols.
pub const N_SYMBOLS: usize = 62;
/// Largest `n_symbols`.
pub const MAX_N: usize = 5;

/// `[task]` keys of `name = "permutations"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PermutationsConfig {
    /// Symbols per row (1..=5).
    pub n_symbols: usize,
    /// Share of the C(62, n) symbol sets held out for testing, in (0, 1).
    pub test_fraction: f64,
}

impl Default for PermutationsConfig {
    fn default() -> Self {
        PermutationsConfig {
            n_symbols: 4,
            test_fraction: 0.2,
        }
    }
}

fn factorial(n: usize) -> Option<usize> {
    (1..=n).try_fold(1usize, |acc, k| acc.checked_mul(k))
}

/// `2 + n!·(n+1)`, None on overflow.
fn n_ctx_for(n: usize) -> Option<usize> {
    factorial(n)?.checked_mul(n + 1)?.checked_add(2)
}

impl PermutationsConfig {
    /// `n_symbols` in 1..=5; `test_fraction` in (0, 1) holding out at least one set and
    /// leaving at least one for training.
    pub fn validate(&self) -> Result<()> {
        let n = self.n_symbols;
        if !(1..=MAX_N).contains(&n) {
            let size = match n_ctx_for(n) {
                Some(c) if n > MAX_N => {
                    format!(
                        ": n_ctx would be 2 + {n}!*{} = {c}, which is too large",
                        n + 1
                    )
                }
                None => format!(": n_ctx would be 2 + {n}!*{}, which overflows", n + 1),
                Some(_) => String::new(),
            };
            return Err(Error::Config(format!(
                "task.n_symbols = {n} is out of range: expected 1..={MAX_N}{size}"
            )));
        }
        let f = self.test_fraction;
        if !(f.is_finite() && f > 0.0 && f < 1.0) {
            return Err(Error::Config(format!(
                "task.test_fraction = {f} is out of range: expected a number in (0, 1)"
            )));
        }
        HeldOut::count_for(N_SYMBOLS, n, f).map(|_| ())
    }
}

/// The built permutations generator.
#[derive(Debug, Clone)]
pub struct Permutations {
    n: usize,
    /// Every permutation of `0..n` in itertools order, flattened (`n!` × `n`).
    perms: Vec<u8>,
    held_out: HeldOut,
    tokenizer: Tokenizer,
}

/// Index permutations of `0..n` in lexicographic (= itertools.permutations) order.
fn all_perms(n: usize) -> Vec<u8> {
    let mut cur: Vec<u8> = (0..n as u8).collect();
    let mut out = cur.clone();
    loop {
        // next_permutation: rightmost i with cur[i] < cur[i+1].
        let Some(i) = (0..n.saturating_sub(1))
            .rev()
            .find(|&i| cur[i] < cur[i + 1])
        else {
            return out;
        };
        // cur[i] < cur[i+1], so some j > i has cur[j] > cur[i].
        let j = (i + 1..n).rev().find(|&j| cur[j] > cur[i]).unwrap_or(i + 1);
        cur.swap(i, j);
        cur[i + 1..].reverse();
        out.extend_from_slice(&cur);
    }
}

impl Permutations {
    /// Build the permutation table and the held-out sets chosen by `seed`.
    pub fn new(c: &PermutationsConfig, seed: u64) -> Result<Self> {
        c.validate()?;
        Ok(Permutations {
            n: c.n_symbols,
            perms: all_perms(c.n_symbols),
            held_out: HeldOut::new(N_SYMBOLS, c.n_symbols, c.test_fraction, seed)?,
            tokenizer: Tokenizer::chars(VOCAB),
        })
    }
    /// `2 + n!·(n+1)`.
    pub fn n_ctx(&self) -> usize {
        2 + self.perms.len() + self.perms.len() / self.n.max(1)
    }
    /// 65.
    pub fn d_vocab(&self) -> usize {
        VOCAB.len()
    }
    /// 65.
    pub fn d_vocab_out(&self) -> usize {
        VOCAB.len()
    }
    /// Symbols per row.
    pub fn n_symbols(&self) -> usize {
        self.n
    }
    /// The held-out symbol sets.
    pub fn held_out(&self) -> &HeldOut {
        &self.held_out
    }
    /// Whether a set of symbol tokens (any order) is one of the held-out sets.
    pub fn is_held_out(&self, symbols: &[u32]) -> bool {
        let idx: Option<Vec<usize>> = symbols
            .iter()
            .map(|&t| t.checked_sub(FIRST_SYMBOL).map(|i| i as usize))
            .collect();
        idx.is_some_and(|i| self.held_out.contains(&i))
    }
    /// The sorted symbol tokens of a row (its first term, sorted).
    pub fn symbols_of(&self, row: &[u32]) -> Vec<u32> {
        let mut s: Vec<u32> = row.iter().skip(2).take(self.n).copied().collect();
        s.sort_unstable();
        s
    }

    /// The row listing every permutation of `symbols` (tokens, in the given order; callers
    /// pass exactly `n_symbols` of them).
    pub fn listing(&self, symbols: &[u32]) -> Vec<u32> {
        let mut row = Vec::with_capacity(self.n_ctx());
        row.extend([BEGIN, SPACE]);
        for (k, perm) in self.perms.chunks(self.n.max(1)).enumerate() {
            if k > 0 {
                row.push(SPACE);
            }
            // perm holds indices < n = symbols.len()
            row.extend(perm.iter().map(|&i| symbols[i as usize]));
        }
        row.push(END);
        row
    }

    /// Mask: predictions at positions `n+1 ..= n_ctx-2` (every token after the first term).
    fn mask(&self) -> Vec<f32> {
        let n_ctx = self.n_ctx();
        (0..n_ctx)
            .map(|p| f32::from(u8::from(p > self.n && p + 1 < n_ctx)))
            .collect()
    }

    /// `n` rows; Train draws symbol sets outside the held-out ones, Test only held-out ones.
    pub fn generate<R: rand::Rng + ?Sized>(&self, n: usize, split: Split, rng: &mut R) -> Rows {
        let mut rows = Rows::with_capacity(n, self.n_ctx());
        let mask = self.mask();
        for _ in 0..n {
            let set = self.held_out.sample(split == Split::Test, rng);
            let symbols: Vec<u32> = set.iter().map(|&i| FIRST_SYMBOL + i as u32).collect();
            let row = self.listing(&symbols);
            rows.push_row(&row, &common::next_token_targets(&row, VOCAB.len()), &mask);
        }
        rows
    }
    /// The 65-character vocabulary, decoded by concatenation.
    pub fn tokenizer(&self) -> Tokenizer {
        self.tokenizer.clone()
    }
    /// True when the row is the full listing of the permutations of its first term: n
    /// distinct symbols, then every permutation of them in itertools order.
    pub fn is_valid(&self, row: &[u32]) -> Option<bool> {
        let first: Vec<u32> = row.iter().skip(2).take(self.n).copied().collect();
        let mut sorted = first.clone();
        sorted.sort_unstable();
        sorted.dedup();
        let distinct = sorted.len() == self.n && sorted.iter().all(|&t| t >= FIRST_SYMBOL);
        Some(distinct && self.listing(&first) == row)
    }
    /// `loss`, `acc` and `seq_acc` (share of rows with every counted prediction right).
    pub fn metrics(&self, rows: &Rows, loss: &[f32], pred: &[u32]) -> Vec<(String, f64)> {
        let mut out = common::loss_acc(rows, loss, pred);
        let mut row_ok = vec![true; rows.len()];
        let mut seen = vec![false; rows.len()];
        for c in common::counted(rows, loss, pred) {
            if let (Some(s), Some(ok)) = (seen.get_mut(c.b), row_ok.get_mut(c.b)) {
                *s = true;
                *ok &= c.correct;
            }
        }
        let mut seq = Mean::default();
        for (ok, s) in row_ok.iter().zip(&seen) {
            if *s {
                seq.add(f64::from(u8::from(*ok)));
            }
        }
        push_mean(&mut out, metric::SEQ_ACC, seq);
        out
    }
    /// The decoded row (`> ab ba.`).
    pub fn to_line(&self, row: &[u32], _mask: &[f32]) -> String {
        self.tokenizer.decode(row)
    }
    /// A line of `n_ctx` characters of the vocabulary.
    pub fn from_line(&self, line: &str) -> Result<Rows> {
        let row = self.tokenizer.encode(strip_eol(line))?;
        check_len(row.len(), self.n_ctx(), "character", "permutations")?;
        let mut rows = Rows::with_capacity(1, self.n_ctx());
        rows.push_row(
            &row,
            &common::next_token_targets(&row, VOCAB.len()),
            &self.mask(),
        );
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(n: usize) -> Permutations {
        let c = PermutationsConfig {
            n_symbols: n,
            ..Default::default()
        };
        Permutations::new(&c, 7).unwrap()
    }

    #[test]
    fn hand_examples() {
        let t = task(2);
        let tok = t.tokenizer();
        let ab = tok.encode("ab").unwrap();
        assert_eq!(tok.decode(&t.listing(&ab)), "> ab ba.");
        let t3 = task(3);
        let abc = tok.encode("abc").unwrap();
        assert_eq!(tok.decode(&t3.listing(&abc)), "> abc acb bac bca cab cba.");
        assert_eq!(tok.decode(&task(1).listing(&[3])), "> a.");
    }

    #[test]
    fn n_ctx_formula() {
        let got: Vec<usize> = (1..=5).map(|n| task(n).n_ctx()).collect();
        assert_eq!(got, vec![4, 8, 26, 122, 722]);
    }

    #[test]
    fn mask_positions() {
        // "> ab ba.": predictions at 3 (-> ' '), 4, 5, 6 (-> '.') count.
        assert_eq!(task(2).mask(), vec![0., 0., 0., 1., 1., 1., 1., 0.]);
    }

    #[test]
    fn validity() {
        let t = task(3);
        let tok = t.tokenizer();
        let good = tok.encode("> cab cba acb abc bca bac.").unwrap();
        assert_eq!(t.is_valid(&good), Some(true));
        let bad = tok.encode("> abc acb bac bca cba cab.").unwrap();
        assert_eq!(t.is_valid(&bad), Some(false));
        let dup = tok.encode("> aab aba aab aba baa baa.").unwrap();
        assert_eq!(t.is_valid(&dup), Some(false));
    }

    #[test]
    fn config_errors() {
        let c = PermutationsConfig {
            n_symbols: 9,
            ..Default::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("task.n_symbols = 9") && e.contains("3628802"),
            "{e}"
        );
        let c = PermutationsConfig {
            test_fraction: 1.5,
            ..Default::default()
        };
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("task.test_fraction"));
        let c = PermutationsConfig {
            n_symbols: 1,
            test_fraction: 0.001,
        };
        assert!(c.validate().is_err());
    }

    #[test]
    fn line_errors() {
        let t = task(2);
        assert!(t.from_line("> ab ba.").is_ok());
        let e = t.from_line("> ab b!.").unwrap_err().to_string();
        assert!(e.contains("'!'") && e.contains("column 6"), "{e}");
        assert!(t.from_line("> ab ba").is_err());
    }
}
