//! Repeated random tokens (seeds 001, 003, 004): the training task (one random subsequence
//! copied into each of `num_repeats` intervals, counted where a copy can be looked up) and
//! the detector probe `[begin] + r * k`. Tokens: 0 = `<s>`, others written as numbers.
use super::common::{self, check_len, push_mean, strip_eol, Mean};
use super::{metric, Rows, Split, Tokenizer};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// The begin token.
pub const BEGIN: u32 = 0;
/// Largest `d_vocab`.
pub const MAX_VOCAB: usize = 1 << 20;
/// Largest `seq_len`.
pub const MAX_SEQ_LEN: usize = 1 << 16;

/// `[task]` keys of `name = "repeated"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RepeatedConfig {
    /// Row length (n_ctx), begin token included.
    pub seq_len: usize,
    /// Length of the repeated subsequence.
    pub subseq_len: usize,
    /// Copies of the subsequence (copy 0 plus num_repeats - 1 repeats).
    pub num_repeats: usize,
    /// Vocabulary size, begin token included.
    pub d_vocab: usize,
}

impl Default for RepeatedConfig {
    fn default() -> Self {
        RepeatedConfig {
            seq_len: 85,
            subseq_len: 16,
            num_repeats: 3,
            d_vocab: 128,
        }
    }
}

impl RepeatedConfig {
    /// Ranges: d_vocab 2..=2^20, seq_len 3..=2^16, subseq_len >= 2, num_repeats >= 2, and
    /// the subsequence must fit its interval of (seq_len - 1) / num_repeats positions.
    pub fn validate(&self) -> Result<()> {
        let ranges = [
            ("d_vocab", self.d_vocab, 2, MAX_VOCAB),
            ("seq_len", self.seq_len, 3, MAX_SEQ_LEN),
            ("num_repeats", self.num_repeats, 2, MAX_SEQ_LEN),
            ("subseq_len", self.subseq_len, 2, MAX_SEQ_LEN),
        ];
        for (key, v, lo, hi) in ranges {
            if !(lo..=hi).contains(&v) {
                return Err(Error::Config(format!(
                    "task.{key} = {v} is out of range: expected {lo}..={hi}"
                )));
            }
        }
        let interval = (self.seq_len - 1) / self.num_repeats;
        if self.subseq_len > interval {
            return Err(Error::Config(format!(
                "task.subseq_len = {} does not fit its interval: (seq_len - 1) / num_repeats \
                 = ({} - 1) / {} = {interval} positions; expected subseq_len <= {interval}",
                self.subseq_len, self.seq_len, self.num_repeats
            )));
        }
        Ok(())
    }
}

/// The built repeated-token generator.
#[derive(Debug, Clone)]
pub struct Repeated {
    c: RepeatedConfig,
    interval: usize,
    tokenizer: Tokenizer,
}

/// Words for a vocabulary of `d_vocab`: `<s>`, then the numbers `1..d_vocab`.
pub fn number_tokenizer(d_vocab: usize) -> Tokenizer {
    let mut words = vec!["<s>".to_string()];
    words.extend((1..d_vocab).map(|i| i.to_string()));
    Tokenizer::words(words)
}

impl Repeated {
    /// Build from the config.
    pub fn new(c: &RepeatedConfig, _seed: u64) -> Result<Self> {
        c.validate()?;
        Ok(Repeated {
            interval: (c.seq_len - 1) / c.num_repeats,
            tokenizer: number_tokenizer(c.d_vocab),
            c: c.clone(),
        })
    }
    /// `seq_len`.
    pub fn n_ctx(&self) -> usize {
        self.c.seq_len
    }
    /// `d_vocab`.
    pub fn d_vocab(&self) -> usize {
        self.c.d_vocab
    }
    /// `d_vocab`.
    pub fn d_vocab_out(&self) -> usize {
        self.c.d_vocab
    }
    /// Positions per interval: (seq_len - 1) / num_repeats.
    pub fn interval(&self) -> usize {
        self.interval
    }
    /// The allowed starts of copy `i`: `1 + i·I ..= (i+1)·I + 1 - subseq_len`.
    pub fn start_range(&self, i: usize) -> std::ops::RangeInclusive<usize> {
        1 + i * self.interval..=(i + 1) * self.interval + 1 - self.c.subseq_len
    }
    /// Which interval (copy index) a position is in; None for 0 and the leftover tail.
    pub fn copy_of(&self, pos: usize) -> Option<usize> {
        let i = pos.checked_sub(1)? / self.interval;
        (i < self.c.num_repeats).then_some(i)
    }

    /// Mask for copies 1.. starting at `starts[i-1]`: their first subseq_len - 1 positions.
    fn mask(&self, starts: &[usize]) -> Vec<f32> {
        let mut mask = vec![0.0; self.n_ctx()];
        for &s in starts {
            for m in mask.iter_mut().skip(s).take(self.c.subseq_len - 1) {
                *m = 1.0;
            }
        }
        mask
    }

    fn push(&self, row: &[u32], starts: &[usize], rows: &mut Rows) {
        let targets = common::next_token_targets(row, self.d_vocab_out());
        rows.push_row(row, &targets, &self.mask(starts));
    }

    /// `n` rows (both splits draw fresh rows).
    pub fn generate<R: rand::Rng + ?Sized>(&self, n: usize, _s: Split, rng: &mut R) -> Rows {
        self.generate_with_starts(n, rng).0
    }

    /// `generate`, also returning where each row's copies start (copy 0 first): the same
    /// rows for the same RNG state, for checks that need copy 0's position.
    pub fn generate_with_starts<R: rand::Rng + ?Sized>(
        &self,
        n: usize,
        rng: &mut R,
    ) -> (Rows, Vec<Vec<usize>>) {
        let (l, v) = (self.c.subseq_len, self.c.d_vocab as u32); // d_vocab <= 2^20
        let mut rows = Rows::with_capacity(n, self.n_ctx());
        let mut all_starts = Vec::with_capacity(n);
        let mut row = vec![BEGIN; self.n_ctx()];
        for _ in 0..n {
            for t in &mut row[1..] {
                *t = rng.random_range(1..v);
            }
            let starts: Vec<usize> = (0..self.c.num_repeats)
                .map(|i| rng.random_range(self.start_range(i)))
                .collect();
            for &s in &starts[1..] {
                row.copy_within(starts[0]..starts[0] + l, s);
            }
            self.push(&row, &starts[1..], &mut rows);
            all_starts.push(starts);
        }
        (rows, all_starts)
    }
    /// `<s>` and the numbers `1..d_vocab`, space-separated.
    pub fn tokenizer(&self) -> Tokenizer {
        self.tokenizer.clone()
    }
    /// No rule to check.
    pub fn is_valid(&self, _row: &[u32]) -> Option<bool> {
        None
    }
    /// `loss`, `acc`, and `loss_copy<i>` for each repeat i >= 1.
    pub fn metrics(&self, rows: &Rows, loss: &[f32], pred: &[u32]) -> Vec<(String, f64)> {
        let mut out = common::loss_acc(rows, loss, pred);
        let mut per = vec![Mean::default(); self.c.num_repeats];
        for c in common::counted(rows, loss, pred) {
            if let Some(m) = self.copy_of(c.p).and_then(|i| per.get_mut(i)) {
                m.add(c.loss);
            }
        }
        for (i, m) in per.into_iter().enumerate().skip(1) {
            push_mean(&mut out, metric::copy_loss(i), m);
        }
        out
    }
    /// The decoded row, then ` | ` and the start of each copy 1.. (read off the mask):
    /// `<s> 17 3 ... 9 | 31 60`.
    pub fn to_line(&self, row: &[u32], mask: &[f32]) -> String {
        let starts: Vec<String> = (0..mask.len())
            .filter(|&p| mask[p] > 0.0 && (p == 0 || mask[p - 1] <= 0.0))
            .map(|p| p.to_string())
            .collect();
        format!("{} | {}", self.tokenizer.decode(row), starts.join(" "))
    }
    /// A line `<tokens> | <starts of copies 1..>`; each copy must lie in its interval and
    /// repeat a span of the first interval.
    pub fn from_line(&self, line: &str) -> Result<Rows> {
        let line = strip_eol(line);
        let Some((text, starts_text)) = line.split_once('|') else {
            return Err(Error::Invalid(format!(
                "expected `<tokens> | <starts>`: the {} tokens, `|`, then the start \
                 position of each copy 1..{}",
                self.n_ctx(),
                self.c.num_repeats
            )));
        };
        let row = self.tokenizer.encode(text)?;
        check_len(row.len(), self.n_ctx(), "word", "repeated")?;
        if let Some(p) = row.iter().position(|&t| t == BEGIN).filter(|&p| p != 0) {
            return Err(Error::Invalid(format!(
                "word \"<s>\" at position {p}: only position 0 may be <s>"
            )));
        }
        if row[0] != BEGIN {
            return Err(Error::Invalid(format!(
                "word {:?} at position 0: expected <s>",
                self.tokenizer.decode(&row[..1])
            )));
        }
        let starts: Vec<usize> = starts_text
            .split_whitespace()
            .map(|w| {
                w.parse::<usize>()
                    .map_err(|_| Error::Invalid(format!("copy start {w:?} is not a position")))
            })
            .collect::<Result<_>>()?;
        check_len(
            starts.len(),
            self.c.num_repeats - 1,
            "copy start",
            "repeated",
        )?;
        let l = self.c.subseq_len;
        let first = self.start_range(0);
        for (i, &s) in starts.iter().enumerate().map(|(i, s)| (i + 1, s)) {
            let range = self.start_range(i);
            if !range.contains(&s) {
                return Err(Error::Invalid(format!(
                    "copy {i} starts at {s}, outside its allowed starts {range:?}"
                )));
            }
            let copy = &row[s..s + l];
            if !first.clone().any(|s0| row[s0..s0 + l] == *copy) {
                return Err(Error::Invalid(format!(
                    "copy {i} at {s}..{} does not repeat any span of the first interval",
                    s + l
                )));
            }
        }
        let mut rows = Rows::with_capacity(1, self.n_ctx());
        self.push(&row, &starts, &mut rows);
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_and_mask() {
        let t = Repeated::new(&RepeatedConfig::default(), 0).unwrap();
        assert_eq!((t.n_ctx(), t.d_vocab(), t.interval()), (85, 128, 28));
        assert_eq!(t.start_range(0), 1..=13);
        assert_eq!(t.start_range(2), 57..=69);
        let c = RepeatedConfig {
            seq_len: 9,
            subseq_len: 3,
            num_repeats: 2,
            d_vocab: 10,
        };
        let t = Repeated::new(&c, 0).unwrap();
        let rows = t.from_line("<s> 4 5 6 7 4 5 6 8 | 5").unwrap();
        assert_eq!(rows.mask, vec![0., 0., 0., 0., 0., 1., 1., 0., 0.]);
        assert_eq!(
            t.to_line(rows.row(0), rows.mask_row(0)),
            "<s> 4 5 6 7 4 5 6 8 | 5"
        );
        let e = t
            .from_line("<s> 4 5 6 7 4 5 9 8 | 5")
            .unwrap_err()
            .to_string();
        assert!(e.contains("copy 1"), "{e}");
        assert!(t.from_line("<s> 4 5 6 7 4 5 6 8 | 2").is_err());
        assert!(t.from_line("<s> 4 5 6 7 4 5 6 8").is_err());
    }

    #[test]
    fn config_errors() {
        let c = RepeatedConfig {
            subseq_len: 30,
            ..Default::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(
            e.contains("task.subseq_len = 30") && e.contains("28"),
            "{e}"
        );
        let c = RepeatedConfig {
            num_repeats: 1,
            ..Default::default()
        };
        assert!(c
            .validate()
            .unwrap_err()
            .to_string()
            .contains("task.num_repeats"));
    }
}
