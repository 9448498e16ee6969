//! The skip-trigram task (seed 003): `<s>`, S random tokens with one special token `m<i>`
//! hidden among them, then the query `q`; the answer at the last position is i.
//! Tokens: 0 `<s>`, 1 `q`, 2..=R+1 `t0..t<R-1>`, R+2..=2R+1 `m0..m<R-1>`.
use super::common::{self, check_len, push_mean, strip_eol, Mean};
use super::{metric, Rows, Split, Tokenizer};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Begin token.
pub const BEGIN: u32 = 0;
/// Query token.
pub const QUERY: u32 = 1;
/// Largest `rand_size`.
pub const MAX_RAND_SIZE: usize = 10_000;
/// Largest `seq_len`.
pub const MAX_SEQ_LEN: usize = 8192;

/// `[task]` keys of `name = "skip_trigrams"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SkipTrigramsConfig {
    /// R: number of random tokens and of answers.
    pub rand_size: usize,
    /// S: random tokens per row (n_ctx = S + 2).
    pub seq_len: usize,
}

impl Default for SkipTrigramsConfig {
    fn default() -> Self {
        SkipTrigramsConfig {
            rand_size: 10,
            seq_len: 40,
        }
    }
}

impl SkipTrigramsConfig {
    /// `rand_size` in 1..=10000, `seq_len` in 1..=8192.
    pub fn validate(&self) -> Result<()> {
        for (key, v, max) in [
            ("rand_size", self.rand_size, MAX_RAND_SIZE),
            ("seq_len", self.seq_len, MAX_SEQ_LEN),
        ] {
            if !(1..=max).contains(&v) {
                return Err(Error::Config(format!(
                    "task.{key} = {v} is out of range: expected 1..={max}"
                )));
            }
        }
        Ok(())
    }
}

/// The built skip-trigram generator.
#[derive(Debug, Clone)]
pub struct SkipTrigrams {
    r: u32,
    s: usize,
    tokenizer: Tokenizer,
}

impl SkipTrigrams {
    /// Build from the config.
    pub fn new(c: &SkipTrigramsConfig, _seed: u64) -> Result<Self> {
        c.validate()?;
        let r = c.rand_size;
        let mut words = vec!["<s>".to_string(), "q".to_string()];
        words.extend((0..r).map(|i| format!("t{i}")));
        words.extend((0..r).map(|i| format!("m{i}")));
        Ok(SkipTrigrams {
            r: r as u32, // validated <= 10000
            s: c.seq_len,
            tokenizer: Tokenizer::words(words),
        })
    }
    /// `S + 2`.
    pub fn n_ctx(&self) -> usize {
        self.s + 2
    }
    /// `2R + 2`.
    pub fn d_vocab(&self) -> usize {
        2 * self.r as usize + 2
    }
    /// `R`.
    pub fn d_vocab_out(&self) -> usize {
        self.r as usize
    }
    /// The token of special `m`: `R + 2 + m`.
    pub fn special(&self, m: u32) -> u32 {
        self.r + 2 + m
    }
    /// The answer of a special token (`token - R - 2`), None for other tokens.
    pub fn answer_of(&self, token: u32) -> Option<u32> {
        token.checked_sub(self.r + 2).filter(|&m| m < self.r)
    }

    fn push(&self, row: &[u32], m: u32, rows: &mut Rows) {
        let n_ctx = self.n_ctx();
        let mut targets = vec![0; n_ctx];
        targets[n_ctx - 1] = m;
        let mut mask = vec![0.0; n_ctx];
        mask[n_ctx - 1] = 1.0;
        rows.push_row(row, &targets, &mask);
    }

    /// `n` rows (both splits draw fresh rows). Only the last prediction counts; its
    /// target is m.
    pub fn generate<R: rand::Rng + ?Sized>(&self, n: usize, _s: Split, rng: &mut R) -> Rows {
        let mut rows = Rows::with_capacity(n, self.n_ctx());
        let mut row = vec![0; self.n_ctx()];
        for _ in 0..n {
            row[0] = BEGIN;
            for t in &mut row[1..=self.s] {
                *t = rng.random_range(2..self.r + 2);
            }
            let m = rng.random_range(0..self.r);
            let at = rng.random_range(1..=self.s);
            row[at] = self.special(m);
            row[self.s + 1] = QUERY;
            self.push(&row, m, &mut rows);
        }
        rows
    }
    /// Words `<s> q t0.. m0..`, space-separated.
    pub fn tokenizer(&self) -> Tokenizer {
        self.tokenizer.clone()
    }
    /// No rule to check.
    pub fn is_valid(&self, _row: &[u32]) -> Option<bool> {
        None
    }
    /// `loss`, `acc`, and `loss_m<i>`: the loss on rows whose answer is i.
    pub fn metrics(&self, rows: &Rows, loss: &[f32], pred: &[u32]) -> Vec<(String, f64)> {
        let mut out = common::loss_acc(rows, loss, pred);
        let mut per = vec![Mean::default(); self.r as usize];
        for c in common::counted(rows, loss, pred) {
            if let Some(m) = per.get_mut(c.target as usize) {
                m.add(c.loss);
            }
        }
        for (i, m) in per.into_iter().enumerate() {
            push_mean(&mut out, metric::class_loss(i), m);
        }
        out
    }
    /// The decoded row (`<s> t3 m1 t0 q`).
    pub fn to_line(&self, row: &[u32], _mask: &[f32]) -> String {
        self.tokenizer.decode(row)
    }
    /// A line `<s>`, S words `t<j>` of which exactly one is `m<i>`, `q`.
    pub fn from_line(&self, line: &str) -> Result<Rows> {
        let row = self.tokenizer.encode(strip_eol(line))?;
        check_len(row.len(), self.n_ctx(), "word", "skip_trigrams")?;
        let bad = |pos: usize, want: &str| {
            Error::Invalid(format!(
                "word {:?} at position {pos}: expected {want}",
                self.tokenizer.decode(&row[pos..=pos])
            ))
        };
        if row[0] != BEGIN {
            return Err(bad(0, "<s>"));
        }
        if row[self.s + 1] != QUERY {
            return Err(bad(self.s + 1, "q"));
        }
        let mut answer = None;
        for (pos, &t) in row.iter().enumerate().take(self.s + 1).skip(1) {
            match self.answer_of(t) {
                Some(_) if answer.is_some() => return Err(bad(pos, "t<j> (one m<i> only)")),
                Some(m) => answer = Some(m),
                None if (2..self.r + 2).contains(&t) => {}
                None => return Err(bad(pos, "t<j> or m<i>")),
            }
        }
        let Some(m) = answer else {
            return Err(Error::Invalid(format!(
                "no special token m<i> among positions 1..={}",
                self.s
            )));
        };
        let mut rows = Rows::with_capacity(1, self.n_ctx());
        self.push(&row, m, &mut rows);
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(r: usize, s: usize) -> SkipTrigrams {
        let c = SkipTrigramsConfig {
            rand_size: r,
            seq_len: s,
        };
        SkipTrigrams::new(&c, 0).unwrap()
    }

    #[test]
    fn shapes_and_example() {
        let t = SkipTrigrams::new(&SkipTrigramsConfig::default(), 0).unwrap();
        assert_eq!((t.n_ctx(), t.d_vocab(), t.d_vocab_out()), (42, 22, 10));
        let t = task(3, 3);
        let rows = t.from_line("<s> t2 m1 t0 q").unwrap();
        assert_eq!(rows.row(0), &[0, 4, 6, 2, 1]);
        assert_eq!(rows.mask, vec![0., 0., 0., 0., 1.]);
        assert_eq!(rows.targets_row(0)[4], 1);
        assert_eq!(t.answer_of(6), Some(1));
    }

    #[test]
    fn line_errors() {
        let t = task(3, 3);
        let e = t.from_line("<s> t2 m1 m0 q").unwrap_err().to_string();
        assert!(e.contains("\"m0\"") && e.contains("position 3"), "{e}");
        let e = t.from_line("<s> t2 t1 t0 q").unwrap_err().to_string();
        assert!(e.contains("no special"), "{e}");
        let e = t.from_line("<s> t2 m1 t0 t0").unwrap_err().to_string();
        assert!(e.contains("position 4"), "{e}");
        let e = t.from_line("<s> t2 m1 t7 q").unwrap_err().to_string();
        assert!(e.contains("\"t7\"") && e.contains("position 3"), "{e}");
        let e = SkipTrigramsConfig {
            rand_size: 0,
            seq_len: 4,
        };
        assert!(e
            .validate()
            .unwrap_err()
            .to_string()
            .contains("task.rand_size = 0"));
    }
}
