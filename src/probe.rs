//! The repeated-token probe `[BOS] + r*k` (docs/tasks.md): its shape (`Probe`), fitting it
//! to a model's context, its generator, the sentence that describes it, and its log-prob
//! figures (first copy vs later copies). Detect-heads, ablate, attribute, plot-attn and cache
//! all read the probe from here; `Source` names which data an analysis runs on.
use crate::error::{Error, Result};
use crate::tasks::Rows;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};

/// The token every probe row opens with.
pub const BEGIN: u32 = 0;

/// The default length T of the random sequence r.
pub const DEFAULT_LEN: usize = 50;

/// The repeat probe `[begin] + r * k`: `t` random tokens repeated `k` times after a begin
/// token, so `pos = 1 + t * k` and copy `c` occupies positions `1 + c*t .. 1 + (c+1)*t`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {
    /// Period: the length of one copy of `r`.
    pub t: usize,
    /// Number of copies.
    pub k: usize,
}

impl Probe {
    /// Sequence length of the probe, begin token included.
    pub fn len(&self) -> usize {
        1 + self.t * self.k
    }

    /// Always false: a probe holds at least its begin token.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Which copy position `pos` is in (0 = first copy), None for the begin token.
    pub fn copy_of(&self, pos: usize) -> Option<usize> {
        copy_of(pos, self.t)
    }

    /// `batch` probe rows, r uniform in `1..vocab` (`vocab`: exclusive bound of tokens that
    /// are both inputs and targets), seeded. Targets are the next token; the mask counts
    /// every prediction but the last position's.
    pub fn rows(&self, vocab: usize, batch: usize, seed: u64) -> Result<Rows> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        generate(vocab, self.t, self.k, batch, &mut rng)
    }

    /// The sentence every report uses for what the probe's rows were.
    pub fn describe(&self, vocab: usize, rows: usize, seed: u64) -> String {
        format!(
            "repeated-token probe [BOS] + r*{}, r = {} tokens uniform in 1..{vocab}, {rows} rows, seed {seed}",
            self.k, self.t
        )
    }
}

/// Which copy of the probe position `pos` is in (0 = first copy), None for the begin token
/// (or `t == 0`).
pub fn copy_of(pos: usize, t: usize) -> Option<usize> {
    (pos >= 1 && t >= 1).then(|| (pos - 1) / t)
}

/// `batch` rows `[BOS] + r*k` with `r` of `t` tokens uniform in `1..d_vocab`: targets are the
/// next token, the mask is 1 on every position but the last.
pub fn generate<R: Rng + ?Sized>(
    d_vocab: usize,
    t: usize,
    k: usize,
    batch: usize,
    rng: &mut R,
) -> Result<Rows> {
    if d_vocab < 2 || d_vocab > u32::MAX as usize || t == 0 || k == 0 {
        return Err(Error::Invalid(format!(
            "repeat probe needs d_vocab >= 2, T >= 1 and k >= 1 (got d_vocab = {d_vocab}, \
             T = {t}, k = {k})"
        )));
    }
    let n_ctx = 1 + t * k;
    let mut rows = Rows::with_capacity(batch, n_ctx);
    let mut mask = vec![1.0f32; n_ctx];
    mask[n_ctx - 1] = 0.0;
    for _ in 0..batch {
        let r: Vec<u32> = (0..t)
            .map(|_| rng.random_range(1..d_vocab as u32))
            .collect();
        let tokens: Vec<u32> = std::iter::once(BEGIN)
            .chain(r.iter().copied().cycle().take(t * k))
            .collect();
        let mut targets: Vec<u32> = tokens[1..].to_vec();
        targets.push(BEGIN);
        rows.push_row(&tokens, &targets, &mask);
    }
    Ok(rows)
}

/// Which data an analysis runs on: the repeat probe, fresh held-out rows of the run's task,
/// or text the user typed. Serialised as `"probe"`, `"task"`, `"text"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Probe,
    Task,
    Text,
    /// Token ids the user gave (`--tokens`).
    Tokens,
}

impl Source {
    /// The name in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Source::Probe => "probe",
            Source::Task => "task",
            Source::Text => "text",
            Source::Tokens => "tokens",
        }
    }
}

/// What the user asked for: `--probe-len T` (None: the default, shortened to fit) and
/// `--repeats k`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProbeRequest {
    pub len: Option<usize>,
    pub repeats: usize,
}

impl Default for ProbeRequest {
    fn default() -> Self {
        ProbeRequest {
            len: None,
            repeats: 2,
        }
    }
}

impl ProbeRequest {
    /// The probe for a model of context `n_ctx`: an explicit T must fit (refused otherwise,
    /// naming the largest that does); the default T = 50 is shortened to fit, with a note for
    /// stderr. At least 2 copies.
    pub fn fit(&self, n_ctx: usize) -> Result<(Probe, Option<String>)> {
        let repeats = self.repeats;
        check_repeats(repeats)?;
        let t = match self.len {
            None => DEFAULT_LEN,
            Some(t) => {
                let need = 1u128 + t as u128 * repeats as u128;
                let largest = n_ctx.saturating_sub(1) / repeats;
                // (When not even T = 1 fits, `fit` names --repeats as the culprit.)
                if need > n_ctx as u128 && largest >= 1 {
                    return Err(Error::Invalid(format!(
                        "--probe-len {t} with --repeats {repeats} needs 1 + {t}*{repeats} = {need} positions but the model's n_ctx is {n_ctx}; use --probe-len {largest} or less"
                    )));
                }
                t
            }
        };
        fit(n_ctx, t, repeats)
    }
}

/// The repeat probe fitted to a model: `T` is capped so that `1 + T*k <= n_ctx`.
/// Returns the probe and, when it had to be shortened, a note saying so.
pub fn fit(n_ctx: usize, t: usize, k: usize) -> Result<(Probe, Option<String>)> {
    if t == 0 || k == 0 {
        return Err(Error::Invalid(format!(
            "probe length {t} and repeats {k} must both be at least 1"
        )));
    }
    if t.saturating_mul(k) < n_ctx {
        return Ok((Probe { t, k }, None));
    }
    let fit = (n_ctx.saturating_sub(1)) / k;
    if fit < 1 {
        return Err(Error::Invalid(format!(
            "--repeats {k} does not fit the model's n_ctx = {n_ctx}: need 1 + T*{k} <= {n_ctx}"
        )));
    }
    let note = format!(
        "note: probe [BOS] + r*{k} with T = {t} needs {} positions but the model has n_ctx = {n_ctx}; using T = {fit}",
        t.saturating_mul(k).saturating_add(1)
    );
    Ok((Probe { t: fit, k }, Some(note)))
}

/// Refuse a probe of fewer than 2 copies (every probe figure, induction scores included,
/// reads the copies after copy 0).
pub fn check_repeats(repeats: usize) -> Result<()> {
    if repeats < 2 {
        return Err(Error::Invalid(format!("--repeats {repeats}: the probe needs at least 2 copies of r (its scores compare copy 0 with the copies after it); expected --repeats >= 2")));
    }
    Ok(())
}

/// The probe's log-prob figure: mean log-prob of the predicted tokens in the first copy vs
/// in the later copies, and the mean log-prob per position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeLogprobs {
    /// Mean log-prob of predicting tokens of copy 0 (positions 1..T-1 predict r[1..]).
    pub first_copy: f64,
    /// Mean log-prob of predicting tokens of copies 1.. (what an induction head makes easy).
    pub later_copies: f64,
    /// Log-prob of uniform guessing over the probe's vocabulary, for scale.
    pub chance: f64,
    /// Mean over the batch of the log-prob of the prediction made at each position.
    pub per_position: Vec<f64>,
}

/// Log-prob figures of the probe from per-position target log-probs `[batch, pos]`.
/// `vocab` is the probe's exclusive token bound (`LoadedRun::probe_vocab`).
pub fn logprobs(lp: &[f32], batch: usize, probe: Probe, vocab: usize) -> ProbeLogprobs {
    let pos = probe.len();
    let mut per_position = vec![0f64; pos.saturating_sub(1)];
    for b in 0..batch {
        for (p, slot) in per_position.iter_mut().enumerate() {
            *slot += f64::from(lp[b * pos + p]) / batch.max(1) as f64;
        }
    }
    // The prediction at position p is of token p+1; token p+1 is in copy (p+1-1)/T.
    let (mut first, mut nf, mut later, mut nl) = (0f64, 0usize, 0f64, 0usize);
    for (p, v) in per_position.iter().enumerate() {
        match probe.copy_of(p + 1) {
            Some(0) if p >= 1 => {
                first += v;
                nf += 1;
            }
            Some(c) if c >= 1 => {
                later += v;
                nl += 1;
            }
            _ => {}
        }
    }
    ProbeLogprobs {
        first_copy: if nf > 0 { first / nf as f64 } else { f64::NAN },
        later_copies: if nl > 0 { later / nl as f64 } else { f64::NAN },
        chance: -((vocab.saturating_sub(1)).max(1) as f64).ln(),
        per_position,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_shape() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let rows = generate(50, 5, 3, 4, &mut rng).unwrap();
        assert_eq!((rows.len(), rows.n_ctx), (4, 16));
        let r = rows.row(1);
        assert_eq!(r[0], 0);
        assert_eq!(r[1..6], r[6..11]);
        assert_eq!(r[1..6], r[11..16]);
        assert!(r[1..].iter().all(|&x| (1..50).contains(&x)));
        assert_eq!(rows.mask_row(0)[15], 0.0);
        assert!(rows.mask_row(0)[..15].iter().all(|&m| m == 1.0));
        assert_eq!(copy_of(0, 5), None);
        assert_eq!(copy_of(5, 5), Some(0));
        assert_eq!(copy_of(6, 5), Some(1));
        assert!(generate(1, 5, 2, 1, &mut rng).is_err());
    }

    #[test]
    fn rows_are_seeded_and_fit_the_context() {
        let p = Probe { t: 4, k: 3 };
        assert_eq!(p.rows(20, 3, 7).unwrap(), p.rows(20, 3, 7).unwrap());
        assert_ne!(p.rows(20, 3, 7).unwrap(), p.rows(20, 3, 8).unwrap());
        let (fitted, note) = ProbeRequest::default().fit(11).unwrap();
        assert_eq!(fitted, Probe { t: 5, k: 2 });
        assert!(note.is_some_and(|n| n.contains("using T = 5")));
        assert!(ProbeRequest {
            len: Some(6),
            repeats: 2
        }
        .fit(11)
        .is_err());
        assert!(ProbeRequest {
            len: None,
            repeats: 1
        }
        .fit(11)
        .is_err());
        assert_eq!(Source::Task.name(), "task");
        assert_eq!(serde_json::to_string(&Source::Probe).unwrap(), "\"probe\"");
    }
}
