//! The induction task (seed 000): Markov strings with memory over `a..z`, tokenised as in
//! makemore (0 = start/stop, a..z = 1..26), the validity rule, and the det/nondet metrics.
use super::common::{self, check_len, push_mean, strip_eol, Mean};
use super::{metric, Rows, Split, Tokenizer};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Letters in the alphabet.
pub const N_LETTERS: u32 = 26;
/// The start/stop token.
pub const STOP: u32 = 0;
/// Longest allowed string.
pub const MAX_LENGTH: usize = 4096;

/// `[task]` keys of `name = "induction"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InductionConfig {
    /// Characters per string (the row adds the start token: n_ctx = length + 1).
    pub length: usize,
}

impl Default for InductionConfig {
    fn default() -> Self {
        InductionConfig { length: 31 }
    }
}

impl InductionConfig {
    /// `length` must be in 1..=4096.
    pub fn validate(&self) -> Result<()> {
        if !(1..=MAX_LENGTH).contains(&self.length) {
            return Err(Error::Config(format!(
                "task.length = {} is out of range: expected 1..={MAX_LENGTH} characters",
                self.length
            )));
        }
        Ok(())
    }
}

/// The built induction generator.
#[derive(Debug, Clone)]
pub struct Induction {
    length: usize,
    tokenizer: Tokenizer,
}

/// Whether a string of letters (tokens 1..=26) obeys the rule: a character is never
/// followed by two different characters (seed 000's `validate_string`).
pub fn obeys_rule(chars: &[u32]) -> bool {
    let mut next = [None::<u32>; (N_LETTERS + 1) as usize];
    for w in chars.windows(2) {
        let Some(slot) = next.get_mut(w[0] as usize) else {
            return false;
        };
        match *slot {
            Some(n) if n != w[1] => return false,
            Some(_) => {}
            None => *slot = Some(w[1]),
        }
    }
    chars.iter().all(|&c| (1..=N_LETTERS).contains(&c))
}

/// Positions whose next character is forced: p >= 1 where `row[p]` occurred in `row[1..p]`.
pub fn deterministic(row: &[u32]) -> Vec<bool> {
    let mut seen = [false; (N_LETTERS + 1) as usize];
    row.iter()
        .enumerate()
        .map(|(p, &c)| {
            if p == 0 {
                return false;
            }
            match seen.get_mut(c as usize) {
                Some(s) => std::mem::replace(s, true),
                None => false,
            }
        })
        .collect()
}

impl Induction {
    /// Build from the config (no seed-dependent tables).
    pub fn new(c: &InductionConfig, _seed: u64) -> Result<Self> {
        c.validate()?;
        let mut alphabet = String::from(".");
        alphabet.extend('a'..='z');
        Ok(Induction {
            length: c.length,
            tokenizer: Tokenizer::chars(&alphabet),
        })
    }
    /// `length + 1`.
    pub fn n_ctx(&self) -> usize {
        self.length + 1
    }
    /// 27: stop + a..z.
    pub fn d_vocab(&self) -> usize {
        (N_LETTERS + 1) as usize
    }
    /// 27.
    pub fn d_vocab_out(&self) -> usize {
        self.d_vocab()
    }

    /// One string of `length` letters (tokens 1..=26) by the rule.
    pub fn string<R: rand::Rng + ?Sized>(&self, rng: &mut R) -> Vec<u32> {
        let mut chain = [0u32; (N_LETTERS + 1) as usize]; // 0 = not chosen yet
        let mut s = Vec::with_capacity(self.length);
        let mut cur = rng.random_range(1..=N_LETTERS);
        s.push(cur);
        while s.len() < self.length {
            let slot = &mut chain[cur as usize]; // cur is in 1..=26 by construction
            if *slot == 0 {
                *slot = rng.random_range(1..=N_LETTERS);
            }
            cur = *slot;
            s.push(cur);
        }
        s
    }

    fn row_from_string(&self, chars: &[u32], rows: &mut Rows) {
        let mut tokens = Vec::with_capacity(self.n_ctx());
        tokens.push(STOP);
        tokens.extend_from_slice(chars);
        let targets = common::next_token_targets(&tokens, self.d_vocab_out());
        rows.push_row(&tokens, &targets, &vec![1.0; tokens.len()]);
    }

    /// `n` rows `[0, c1 .. cL]`; every position counts, the last one predicts the stop
    /// token. Both splits draw fresh strings.
    pub fn generate<R: rand::Rng + ?Sized>(&self, n: usize, _s: Split, rng: &mut R) -> Rows {
        let mut rows = Rows::with_capacity(n, self.n_ctx());
        for _ in 0..n {
            let s = self.string(rng);
            self.row_from_string(&s, &mut rows);
        }
        rows
    }
    /// `.` (start/stop) then `a..z`, decoded by concatenation as in makemore.
    pub fn tokenizer(&self) -> Tokenizer {
        self.tokenizer.clone()
    }
    /// The rule on `[0, c1 .. cL]`: a leading start token is skipped and the string ends
    /// at the next stop token; any other token makes the row invalid.
    pub fn is_valid(&self, row: &[u32]) -> Option<bool> {
        let body = row.strip_prefix(&[STOP]).unwrap_or(row);
        let end = body.iter().position(|&t| t == STOP).unwrap_or(body.len());
        Some(obeys_rule(&body[..end]))
    }
    /// `loss`, `acc` over every position; `det_*` / `nondet_*` over the deterministic
    /// positions and the others.
    pub fn metrics(&self, rows: &Rows, loss: &[f32], pred: &[u32]) -> Vec<(String, f64)> {
        let mut out = common::loss_acc(rows, loss, pred);
        let mut m = [Mean::default(); 4]; // in the order of the keys below
        let mut det_row = (usize::MAX, Vec::new());
        for c in common::counted(rows, loss, pred) {
            if det_row.0 != c.b {
                det_row = (c.b, deterministic(rows.row(c.b)));
            }
            let k = if det_row.1.get(c.p).copied().unwrap_or(false) {
                0
            } else {
                2
            };
            m[k].add(c.loss);
            m[k + 1].add(f64::from(u8::from(c.correct)));
        }
        let keys = [
            metric::DET_LOSS,
            metric::DET_ACC,
            metric::NONDET_LOSS,
            metric::NONDET_ACC,
        ];
        for (key, mean) in keys.iter().zip(m) {
            push_mean(&mut out, *key, mean);
        }
        out
    }
    /// makemore's input format: the letters without the start token (up to a stop token).
    pub fn to_line(&self, row: &[u32], _mask: &[f32]) -> String {
        let body = row.strip_prefix(&[STOP]).unwrap_or(row);
        let end = body.iter().position(|&t| t == STOP).unwrap_or(body.len());
        self.tokenizer.decode(&body[..end])
    }
    /// A line of exactly `length` letters `a..z`.
    pub fn from_line(&self, line: &str) -> Result<Rows> {
        let line = strip_eol(line);
        let mut chars = Vec::with_capacity(self.length);
        for (col, ch) in line.chars().enumerate() {
            if !ch.is_ascii_lowercase() {
                return Err(Error::Invalid(format!(
                    "character {ch:?} at column {col} is not a letter a..z"
                )));
            }
            chars.push(u32::from(ch) - u32::from('a') + 1);
        }
        check_len(chars.len(), self.length, "character", "induction")?;
        let mut rows = Rows::with_capacity(1, self.n_ctx());
        self.row_from_string(&chars, &mut rows);
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn task(length: usize) -> Induction {
        Induction::new(&InductionConfig { length }, 0).unwrap()
    }

    #[test]
    fn shapes_and_mask() {
        let t = task(31);
        assert_eq!((t.n_ctx(), t.d_vocab(), t.d_vocab_out()), (32, 27, 27));
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let rows = t.generate(3, Split::Train, &mut rng);
        assert_eq!(rows.len(), 3);
        assert!(rows.mask.iter().all(|&m| m == 1.0));
        assert_eq!(rows.targets_row(0)[31], 0);
        assert_eq!(rows.targets_row(0)[..31], rows.row(0)[1..]);
    }

    #[test]
    fn rule_examples() {
        let t = task(5);
        let enc = |s: &str| t.tokenizer().encode(s).unwrap();
        assert!(obeys_rule(&enc("abab")));
        assert!(obeys_rule(&enc("aaaa")));
        assert!(!obeys_rule(&enc("abac")));
        // A row stops at a stop token: what follows is not checked.
        let mut row = vec![0];
        row.extend(enc("abab"));
        row.extend([0, 1, 3]);
        assert_eq!(t.is_valid(&row), Some(true));
        assert_eq!(t.to_line(&row, &[]), "abab");
    }

    #[test]
    fn deterministic_positions() {
        // [0, a, b, a, b, c]: positions 3 and 4 have seen their character before.
        let det = deterministic(&[0, 1, 2, 1, 2, 3]);
        assert_eq!(det, vec![false, false, false, true, true, false]);
    }

    #[test]
    fn line_errors() {
        let t = task(4);
        let e = t.from_line("abCd").unwrap_err().to_string();
        assert!(e.contains("'C'") && e.contains("column 2"), "{e}");
        let e = t.from_line("abc").unwrap_err().to_string();
        assert!(e.contains("3 characters") && e.contains("has 4"), "{e}");
        assert_eq!(t.from_line("abcd\n").unwrap().row(0), &[0, 1, 2, 3, 4]);
    }

    #[test]
    fn config_errors_name_key() {
        let e = InductionConfig { length: 0 }
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("task.length = 0"), "{e}");
    }
}
