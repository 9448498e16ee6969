//! Autoregressive sampling from the start token (generative tasks) and greedy completion
//! of held-out prompts, with the task's validity / correctness checks.
use crate::analysis::LoadedRun;
use crate::error::{Error, Result};
use crate::tasks::Rows;
use candle_core::{DType, Tensor, D};
use rand::{Rng, SeedableRng};
use serde::Serialize;

/// How to pick the next token.
#[derive(Debug, Clone, Copy)]
pub struct SampleOptions {
    /// 0 = greedy.
    pub temperature: f64,
    pub top_k: Option<usize>,
    pub seed: u64,
}

/// Result of sampling or completing `n` rows.
#[derive(Debug, Clone, Serialize)]
pub struct SampleReport {
    pub mode: String,
    /// Decoded rows (the prompt part included).
    pub samples: Vec<String>,
    /// Per sample: valid (sampling) or correct (completion).
    pub ok: Vec<bool>,
    pub share_ok: f64,
}

impl SampleReport {
    /// The version of this report's layout (not a field of its JSON).
    pub const SCHEMA_VERSION: u32 = 1;
}

/// Logits of the last position of every row: `[batch, d_vocab_out]` as plain rows.
fn last_logits(lr: &LoadedRun, tokens: &[u32], batch: usize, pos: usize) -> Result<Vec<Vec<f32>>> {
    let t = Tensor::from_slice(tokens, (batch, pos), &lr.device)?;
    let logits = lr.model.forward(&t, None)?.detach();
    let last = logits
        .narrow(1, pos - 1, 1)?
        .squeeze(1)?
        .to_dtype(DType::F32)?;
    Ok(last.to_vec2::<f32>()?)
}

/// Pick a token from one row of logits.
fn pick<R: Rng + ?Sized>(logits: &[f32], o: &SampleOptions, rng: &mut R) -> u32 {
    if o.temperature <= 0.0 || logits.is_empty() {
        return argmax(logits);
    }
    let mut idx: Vec<usize> = (0..logits.len()).collect();
    idx.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
    if let Some(k) = o.top_k {
        idx.truncate(k.max(1));
    }
    let max = f64::from(logits[idx[0]]);
    let w: Vec<f64> = idx
        .iter()
        .map(|&i| ((f64::from(logits[i]) - max) / o.temperature).exp())
        .collect();
    let total: f64 = w.iter().sum();
    let mut u = rng.random::<f64>() * total;
    for (j, &i) in idx.iter().enumerate() {
        u -= w[j];
        if u <= 0.0 {
            return i as u32;
        }
    }
    idx[idx.len() - 1] as u32
}

/// Index of the largest logit.
fn argmax(logits: &[f32]) -> u32 {
    logits
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map(|(i, _)| i as u32)
        .unwrap_or(0)
}

/// Sample `n` rows from the begin token to the full context (induction's makemore-style
/// generation); each is checked with the task's rule.
pub fn sample(lr: &LoadedRun, n: usize, o: &SampleOptions) -> Result<SampleReport> {
    let Some(begin) = lr.spec.task().begin_token() else {
        return Err(Error::Invalid(format!(
            "task {} has no begin token to sample from",
            lr.cfg.task.task()
        )));
    };
    let n_ctx = lr.n_ctx();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(o.seed);
    let mut rows: Vec<Vec<u32>> = vec![vec![begin]; n];
    for pos in 1..n_ctx {
        let flat: Vec<u32> = rows.iter().flatten().copied().collect();
        let last = last_logits(lr, &flat, n, pos)?;
        for (r, l) in rows.iter_mut().zip(&last) {
            r.push(pick(l, o, &mut rng));
        }
    }
    let tok = lr.tokenizer();
    let ok: Vec<bool> = rows
        .iter()
        .map(|r| lr.spec.is_valid(r).unwrap_or(false))
        .collect();
    Ok(SampleReport {
        mode: format!(
            "sampled from the begin token, temperature {}",
            o.temperature
        ),
        samples: rows.iter().map(|r| tok.decode(r)).collect(),
        share_ok: ok.iter().filter(|&&b| b).count() as f64 / n.max(1) as f64,
        ok,
    })
}

/// Greedy completion of `n` held-out rows: the prompt is every token up to the first
/// counted prediction; for tasks whose answers are the next tokens (`Task::feeds_back`)
/// each prediction is fed back; otherwise predictions are teacher-forced.
/// A row is correct when every counted prediction matches its target.
pub fn complete(lr: &LoadedRun, n: usize, seed: u64) -> Result<SampleReport> {
    let rows = lr.task_rows(n, seed);
    let feed_back = lr.spec.task().feeds_back();
    let n_ctx = rows.n_ctx;
    let first = (0..n_ctx)
        .find(|&p| rows.mask_row(0)[p] > 0.0)
        .unwrap_or(n_ctx - 1);
    let mut work: Vec<u32> = rows.tokens.clone();
    let mut preds = vec![0u32; rows.tokens.len()];
    if feed_back {
        for q in first..n_ctx {
            let prefix: Vec<u32> = (0..n)
                .flat_map(|b| work[b * n_ctx..b * n_ctx + q + 1].to_vec())
                .collect();
            let last = last_logits(lr, &prefix, n, q + 1)?;
            for (b, l) in last.iter().enumerate() {
                let p = argmax(l);
                preds[b * n_ctx + q] = p;
                if q + 1 < n_ctx {
                    work[b * n_ctx + q + 1] = p;
                }
            }
        }
    } else {
        let t = Tensor::from_slice(&rows.tokens, (n, n_ctx), &lr.device)?;
        let am = lr
            .model
            .forward(&t, None)?
            .argmax(D::Minus1)?
            .flatten_all()?
            .to_vec1::<u32>()?;
        preds.copy_from_slice(&am);
    }
    let ok: Vec<bool> = (0..n)
        .map(|b| {
            (0..n_ctx).all(|p| {
                rows.mask[b * n_ctx + p] == 0.0
                    || preds[b * n_ctx + p] == rows.targets[b * n_ctx + p]
            })
        })
        .collect();
    let tok = lr.tokenizer();
    let samples = (0..n)
        .map(|b| completion_text(&rows, &work, &preds, b, first, feed_back, tok))
        .collect();
    Ok(SampleReport {
        mode: if feed_back {
            "greedy completion of held-out prompts".into()
        } else {
            "greedy predictions on held-out rows".into()
        },
        samples,
        share_ok: ok.iter().filter(|&&b| b).count() as f64 / n.max(1) as f64,
        ok,
    })
}

fn completion_text(
    rows: &Rows,
    work: &[u32],
    preds: &[u32],
    b: usize,
    first: usize,
    feed_back: bool,
    tok: &crate::tasks::Tokenizer,
) -> String {
    let n_ctx = rows.n_ctx;
    let row = &work[b * n_ctx..(b + 1) * n_ctx];
    if feed_back {
        // Prompt, then what the model wrote (the last prediction may be an extra token).
        let prompt = tok.decode(&row[..=first]);
        let rest = tok.decode(&row[first + 1..]);
        return format!("{prompt} | {rest}");
    }
    let answers: Vec<String> = (0..n_ctx)
        .filter(|&p| rows.mask[b * n_ctx + p] > 0.0)
        .map(|p| format!("{}", preds[b * n_ctx + p]))
        .collect();
    format!("{} | predicted {}", tok.decode(row), answers.join(" "))
}

/// Greedy completion of one user prompt.
#[derive(Debug, Clone, Serialize)]
pub struct PromptReport {
    /// The prompt as the model saw it (decoded, begin token included where the task has one).
    pub prompt: String,
    /// What the model wrote after it, decoded.
    pub completion: String,
    /// Skip-trigrams only: the answer predicted at the last position.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    /// The task's check of the whole row (addition: the sum; permutations: the listing;
    /// induction: the rule), where the task has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correct: Option<bool>,
}

impl PromptReport {
    /// The version of this report's layout (not a field of its JSON).
    pub const SCHEMA_VERSION: u32 = 1;
}

/// Greedy completion of `prompt` (already encoded, `1..=n_ctx` tokens) to the full context.
/// Each prediction is fed back as the next token, up to the task's stop token where it has
/// one. A task that predicts only the answer class at the last position
/// (`Task::answers_last_only`: skip-trigrams) needs a whole row as its prompt.
pub fn complete_prompt(lr: &LoadedRun, prompt: &[u32]) -> Result<PromptReport> {
    let n_ctx = lr.n_ctx();
    let task = lr.spec.task();
    let tok = lr.tokenizer();
    if prompt.is_empty() || prompt.len() > n_ctx {
        return Err(Error::Invalid(format!(
            "--prompt: {} tokens; expected 1..={n_ctx} (the model's n_ctx)",
            prompt.len()
        )));
    }
    if task.answers_last_only() {
        if prompt.len() != n_ctx {
            return Err(Error::Invalid(format!(
                "--prompt: {task} predicts only the answer at the last position, so the prompt must be a whole row of {n_ctx} tokens (got {})",
                prompt.len()
            )));
        }
        let last = last_logits(lr, prompt, 1, n_ctx)?;
        let m = argmax(&last[0]);
        return Ok(PromptReport {
            prompt: tok.decode(prompt),
            completion: String::new(),
            answer: Some(format!("m = {m}")),
            correct: None,
        });
    }
    let stop = task.stop_token();
    let mut row = prompt.to_vec();
    let mut stopped = false;
    while row.len() < n_ctx {
        let next = argmax(&last_logits(lr, &row, 1, row.len())?[0]);
        row.push(next);
        if Some(next) == stop {
            stopped = true;
            break;
        }
    }
    // A row that ended at the stop token is complete and checked as far as it goes.
    let correct = if stopped || row.len() == n_ctx {
        lr.spec.is_valid(&row)
    } else {
        None
    };
    Ok(PromptReport {
        prompt: tok.decode(prompt),
        completion: tok.decode(&row[prompt.len()..]),
        answer: None,
        correct,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(temperature: f64, top_k: Option<usize>) -> SampleOptions {
        SampleOptions {
            temperature,
            top_k,
            seed: 0,
        }
    }

    #[test]
    fn greedy_and_top_one_pick_the_argmax() {
        let logits = [0.1f32, 2.0, -1.0, 1.9];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        assert_eq!(argmax(&logits), 1);
        for _ in 0..50 {
            assert_eq!(pick(&logits, &opts(0.0, None), &mut rng), 1);
            assert_eq!(pick(&logits, &opts(5.0, Some(1)), &mut rng), 1);
        }
    }

    #[test]
    fn sampling_follows_the_softmax_within_top_k() {
        // Logits ln(1), ln(2), ln(3), ln(4) at temperature 1: probabilities 0.1..0.4.
        let logits: Vec<f32> = (1..=4).map(|i| (i as f32).ln()).collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let n = 20_000;
        let mut counts = [0usize; 4];
        for _ in 0..n {
            counts[pick(&logits, &opts(1.0, None), &mut rng) as usize] += 1;
        }
        for (i, &c) in counts.iter().enumerate() {
            let want = (i + 1) as f64 / 10.0;
            assert!((c as f64 / n as f64 - want).abs() < 0.02, "{counts:?}");
        }
        // Top-2 renormalises over tokens 3 and 2 (4 : 3) and never picks the others.
        let mut counts = [0usize; 4];
        for _ in 0..n {
            counts[pick(&logits, &opts(1.0, Some(2)), &mut rng) as usize] += 1;
        }
        assert_eq!(counts[0] + counts[1], 0, "{counts:?}");
        assert!(
            (counts[3] as f64 / n as f64 - 4.0 / 7.0).abs() < 0.02,
            "{counts:?}"
        );
    }
}
