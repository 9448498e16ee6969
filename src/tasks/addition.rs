//! The addition task (seed 003): `x + y = z` over n-digit numbers, most significant digit
//! first, z with n+1 digits (leading carry). Counted predictions are the answer digits;
//! metrics add per-digit loss and exact-match accuracy.
use super::common::{self, check_len, push_mean, strip_eol, Mean};
use super::{metric, Rows, Split, Tokenizer};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// `+`.
pub const PLUS: u32 = 10;
/// `=`.
pub const EQUALS: u32 = 11;
/// Largest `n_digits`.
pub const MAX_DIGITS: usize = 100;

/// `[task]` keys of `name = "addition"`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdditionConfig {
    /// Digits per operand.
    pub n_digits: usize,
}

impl Default for AdditionConfig {
    fn default() -> Self {
        AdditionConfig { n_digits: 5 }
    }
}

impl AdditionConfig {
    /// `n_digits` in 1..=100.
    pub fn validate(&self) -> Result<()> {
        if !(1..=MAX_DIGITS).contains(&self.n_digits) {
            return Err(Error::Config(format!(
                "task.n_digits = {} is out of range: expected 1..={MAX_DIGITS}",
                self.n_digits
            )));
        }
        Ok(())
    }
}

/// The built addition generator.
#[derive(Debug, Clone)]
pub struct Addition {
    n: usize,
    tokenizer: Tokenizer,
}

/// The n+1 digits of x + y (x, y: n digits each, most significant first).
pub fn add_digits(x: &[u32], y: &[u32]) -> Vec<u32> {
    let mut z = vec![0; x.len() + 1];
    let mut carry = 0;
    for i in (0..x.len()).rev() {
        let s = x[i] + y.get(i).copied().unwrap_or(0) + carry;
        z[i + 1] = s % 10;
        carry = s / 10;
    }
    z[0] = carry;
    z
}

impl Addition {
    /// Build from the config.
    pub fn new(c: &AdditionConfig, _seed: u64) -> Result<Self> {
        c.validate()?;
        Ok(Addition {
            n: c.n_digits,
            tokenizer: Tokenizer::chars("0123456789+="),
        })
    }
    /// `3n + 3`.
    pub fn n_ctx(&self) -> usize {
        3 * self.n + 3
    }
    /// 12: digits, `+`, `=`.
    pub fn d_vocab(&self) -> usize {
        12
    }
    /// 10: digits.
    pub fn d_vocab_out(&self) -> usize {
        10
    }
    /// Position of the prediction of answer digit 0 (the `=`): `2n + 1`.
    pub fn answer_start(&self) -> usize {
        2 * self.n + 1
    }

    /// Mask: the predictions at `2n+1 ..= 3n+1` (the n+1 answer digits).
    fn mask(&self) -> Vec<f32> {
        let a = self.answer_start();
        (0..self.n_ctx())
            .map(|p| f32::from(u8::from((a..=a + self.n).contains(&p))))
            .collect()
    }

    fn push(&self, row: &[u32], rows: &mut Rows) {
        rows.push_row(
            row,
            &common::next_token_targets(row, self.d_vocab_out()),
            &self.mask(),
        );
    }

    /// The row `x + y = z`.
    pub fn row(&self, x: &[u32], y: &[u32]) -> Vec<u32> {
        let mut row = Vec::with_capacity(self.n_ctx());
        row.extend_from_slice(x);
        row.push(PLUS);
        row.extend_from_slice(y);
        row.push(EQUALS);
        row.extend(add_digits(x, y));
        row
    }

    /// `n` rows with uniform digits (both splits draw fresh rows).
    pub fn generate<R: rand::Rng + ?Sized>(&self, n: usize, _s: Split, rng: &mut R) -> Rows {
        let mut rows = Rows::with_capacity(n, self.n_ctx());
        for _ in 0..n {
            let x: Vec<u32> = (0..self.n).map(|_| rng.random_range(0..10)).collect();
            let y: Vec<u32> = (0..self.n).map(|_| rng.random_range(0..10)).collect();
            self.push(&self.row(&x, &y), &mut rows);
        }
        rows
    }
    /// `0123456789+=`, decoded by concatenation.
    pub fn tokenizer(&self) -> Tokenizer {
        self.tokenizer.clone()
    }
    /// True when the row has the shape `x+y=z` and z = x + y.
    pub fn is_valid(&self, row: &[u32]) -> Option<bool> {
        let n = self.n;
        let ok = self.check_shape(row).is_ok()
            && row[2 * n + 2..] == add_digits(&row[..n], &row[n + 1..2 * n + 1])[..];
        Some(ok)
    }

    /// The `+` and `=` in their columns, digits elsewhere, length n_ctx.
    fn check_shape(&self, row: &[u32]) -> Result<()> {
        check_len(row.len(), self.n_ctx(), "character", "addition")?;
        for (col, &t) in row.iter().enumerate() {
            let want = if col == self.n {
                Some(PLUS)
            } else if col == 2 * self.n + 1 {
                Some(EQUALS)
            } else {
                None
            };
            let ok = match want {
                Some(w) => t == w,
                None => t < 10,
            };
            if !ok {
                let found = self.tokenizer.decode(&[t]);
                let expected = want.map_or("a digit".to_string(), |w| {
                    format!("{:?}", self.tokenizer.decode(&[w]))
                });
                return Err(Error::Invalid(format!(
                    "character {found:?} at column {col}: expected {expected}"
                )));
            }
        }
        Ok(())
    }

    /// `loss`, `acc`, `exact_acc` (whole answer right) and `digit_loss_0..=n` (digit 0 is
    /// the leading carry).
    pub fn metrics(&self, rows: &Rows, loss: &[f32], pred: &[u32]) -> Vec<(String, f64)> {
        let mut out = common::loss_acc(rows, loss, pred);
        let mut digit = vec![Mean::default(); self.n + 1];
        let mut row_ok = vec![None::<bool>; rows.len()];
        for c in common::counted(rows, loss, pred) {
            if let Some(m) =
                c.p.checked_sub(self.answer_start())
                    .and_then(|i| digit.get_mut(i))
            {
                m.add(c.loss);
            }
            if let Some(r) = row_ok.get_mut(c.b) {
                *r = Some(r.unwrap_or(true) && c.correct);
            }
        }
        let mut exact = Mean::default();
        for ok in row_ok.into_iter().flatten() {
            exact.add(f64::from(u8::from(ok)));
        }
        push_mean(&mut out, metric::EXACT_ACC, exact);
        for (i, m) in digit.into_iter().enumerate() {
            push_mean(&mut out, metric::digit_loss(i), m);
        }
        out
    }
    /// The decoded row (`12345+67890=080235`).
    pub fn to_line(&self, row: &[u32], _mask: &[f32]) -> String {
        self.tokenizer.decode(row)
    }
    /// A line `x+y=z` of n_ctx characters (z is not checked against the sum).
    pub fn from_line(&self, line: &str) -> Result<Rows> {
        let row = self.tokenizer.encode(strip_eol(line))?;
        self.check_shape(&row)?;
        let mut rows = Rows::with_capacity(1, self.n_ctx());
        self.push(&row, &mut rows);
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(n: usize) -> Addition {
        Addition::new(&AdditionConfig { n_digits: n }, 0).unwrap()
    }

    #[test]
    fn hand_example() {
        let t = task(5);
        assert_eq!((t.n_ctx(), t.d_vocab(), t.d_vocab_out()), (18, 12, 10));
        let row = t.row(&[1, 2, 3, 4, 5], &[6, 7, 8, 9, 0]);
        assert_eq!(t.to_line(&row, &[]), "12345+67890=080235");
        let row = t.row(&[9, 9, 9, 9, 9], &[0, 0, 0, 0, 1]);
        assert_eq!(t.to_line(&row, &[]), "99999+00001=100000");
        assert_eq!(t.is_valid(&row), Some(true));
        let bad = t.tokenizer().encode("99999+00001=100001").unwrap();
        assert_eq!(t.is_valid(&bad), Some(false));
    }

    #[test]
    fn mask_and_targets() {
        let t = task(2);
        // "12+34=046": predictions at 5 ('=' -> 0), 6, 7 count.
        let rows = t.from_line("12+34=046").unwrap();
        assert_eq!(rows.mask, vec![0., 0., 0., 0., 0., 1., 1., 1., 0.]);
        assert_eq!(&rows.targets_row(0)[5..8], &[0, 4, 6]);
        assert!(rows.targets.iter().all(|&x| x < 10));
    }

    #[test]
    fn line_errors() {
        let t = task(2);
        let e = t.from_line("12=34=046").unwrap_err().to_string();
        assert!(
            e.contains("column 2") && e.contains("expected \"+\""),
            "{e}"
        );
        let e = t.from_line("12+34=04x").unwrap_err().to_string();
        assert!(e.contains("'x'") && e.contains("column 8"), "{e}");
        assert!(t.from_line("12+34=04").is_err());
        let e = AdditionConfig { n_digits: 0 }
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("task.n_digits = 0"), "{e}");
    }

    #[test]
    fn metrics_keys() {
        let t = task(2);
        let rows = t.from_line("12+34=046").unwrap();
        let loss = vec![0.5; 9];
        let mut pred = rows.targets.clone();
        let m = t.metrics(&rows, &loss, &pred);
        let get = |m: &[(String, f64)], k: &str| m.iter().find(|(n, _)| n == k).map(|x| x.1);
        assert_eq!(get(&m, "exact_acc"), Some(1.0));
        assert_eq!(get(&m, "digit_loss_2"), Some(0.5));
        assert_eq!(get(&m, "digit_loss_3"), None);
        pred[6] = 9;
        let m = t.metrics(&rows, &loss, &pred);
        assert_eq!(get(&m, "exact_acc"), Some(0.0));
        assert!((get(&m, "acc").unwrap() - 2.0 / 3.0).abs() < 1e-12);
    }
}
