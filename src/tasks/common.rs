//! Helpers shared by the task generators: running means for metrics, iteration over the
//! counted (masked) predictions, next-token targets, and line-length checks.
use super::{metric, Rows};
use crate::error::{Error, Result};

/// A running mean.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Mean {
    sum: f64,
    n: usize,
}

impl Mean {
    pub(crate) fn add(&mut self, x: f64) {
        self.sum += x;
        self.n += 1;
    }
    /// The mean, or None when nothing was added.
    pub(crate) fn get(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum / self.n as f64)
    }
}

/// One counted prediction: row `b`, position `p`, its loss, whether argmax == target.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Counted {
    pub b: usize,
    pub p: usize,
    pub loss: f64,
    pub target: u32,
    pub correct: bool,
}

/// Every prediction with `mask > 0`, reading `loss` and `pred` (`[n, n_ctx]` each).
/// Positions beyond the end of `loss` or `pred` are skipped.
pub(crate) fn counted<'a>(
    rows: &'a Rows,
    loss: &'a [f32],
    pred: &'a [u32],
) -> impl Iterator<Item = Counted> + 'a {
    let n_ctx = rows.n_ctx.max(1);
    rows.mask
        .iter()
        .zip(rows.targets.iter())
        .zip(loss.iter().zip(pred.iter()))
        .enumerate()
        .filter(|(_, ((m, _), _))| **m > 0.0)
        .map(move |(i, ((_, &t), (&l, &pd)))| Counted {
            b: i / n_ctx,
            p: i % n_ctx,
            loss: f64::from(l),
            target: t,
            correct: pd == t,
        })
}

/// `loss` and `acc`: means over every counted prediction (NaN when nothing counts).
pub(crate) fn loss_acc(rows: &Rows, loss: &[f32], pred: &[u32]) -> Vec<(String, f64)> {
    let (mut l, mut a) = (Mean::default(), Mean::default());
    for c in counted(rows, loss, pred) {
        l.add(c.loss);
        a.add(f64::from(u8::from(c.correct)));
    }
    vec![
        (metric::LOSS.into(), l.get().unwrap_or(f64::NAN)),
        (metric::ACC.into(), a.get().unwrap_or(f64::NAN)),
    ]
}

/// Push `key` with the mean, only when something was averaged.
pub(crate) fn push_mean(out: &mut Vec<(String, f64)>, key: impl Into<String>, m: Mean) {
    if let Some(v) = m.get() {
        out.push((key.into(), v));
    }
}

/// Next-token targets of one row: `targets[p] = row[p + 1]` where that is below
/// `d_vocab_out`, else 0 (such positions are never counted); the last target is 0.
pub(crate) fn next_token_targets(row: &[u32], d_vocab_out: usize) -> Vec<u32> {
    let mut t: Vec<u32> = row
        .iter()
        .skip(1)
        .map(|&x| if (x as usize) < d_vocab_out { x } else { 0 })
        .collect();
    t.push(0);
    t
}

/// Error unless a line has the expected number of tokens.
pub(crate) fn check_len(got: usize, want: usize, unit: &str, what: &str) -> Result<()> {
    if got == want {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "wrong length: {got} {unit}s, but a {what} row has {want}"
        )))
    }
}

/// A line without its trailing newline / carriage return.
pub(crate) fn strip_eol(line: &str) -> &str {
    line.trim_end_matches(['\n', '\r'])
}
