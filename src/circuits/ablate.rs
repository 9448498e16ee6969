//! Head ablations: replace a head's output (`hook_z`, `[batch, pos, head_index, d_head]`) by
//! zero, its batch mean or another row's (resample); shuffle, within each query's causal
//! prefix, which positions its attention weights go to (`hook_pattern`); or edit its key weights to project out / keep only the subspace that the
//! earlier layers' heads write to (seed 004's common-subspace test). Metrics are the loss on
//! the repeat probe (first copy vs later copies) or on fresh task rows.
use super::qk_ov::ModelW;
use super::svd::{svd, Mat};
use super::HeadRef;
use crate::analysis::LoadedRun;
use crate::error::{Error, Result};
use crate::hooks::{replace_head, HookPoint, Hooks};
use crate::model::Transformer;
use crate::tasks::Rows;
use candle_core::{DType, Tensor};
use candle_nn::VarBuilder;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How an ablated head is changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ablation {
    /// `hook_z` of the head set to 0.
    Zero,
    /// `hook_z` of the head set to its mean over the batch (per position).
    Mean,
    /// `hook_z` of the head taken from the next row of the batch (row b gets row b+1's).
    Resample,
    /// Seed 004's shuffle ablation, made causal: each query row of the head's
    /// `hook_pattern` (`[batch, head_index, query_pos, key_pos]`) is permuted over the keys
    /// `0..=query_pos` by a seeded permutation (one per query position, the same for every
    /// row of the batch, as the seed uses one random permutation per edited model). The head
    /// keeps its set of attention weights but they land on other positions of the prefix,
    /// which is the same as shuffling the values (`hook_v`) it reads within the causal
    /// prefix: `z[q] = sum_k A[q, pi_q(k)] v[k] = sum_j A[q, j] v[pi_q^-1(j)]`. Shuffling
    /// across rows of the batch instead would mix other strings' content in, which is
    /// `Resample`'s job.
    Shuffle,
    /// `W_K[head] <- (I - P) W_K[head]`, P = projector on the top-`rank` common write
    /// subspace of all heads in earlier layers: the keys no longer see what they write.
    ProjectOut { rank: usize },
    /// `W_K[head] <- P W_K[head]`: the keys see only that subspace.
    ProjectKeep { rank: usize },
}

impl Ablation {
    /// Short name for reports.
    pub fn name(&self) -> String {
        match self {
            Ablation::Zero => "zero".into(),
            Ablation::Mean => "mean".into(),
            Ablation::Resample => "resample".into(),
            Ablation::Shuffle => "shuffle".into(),
            Ablation::ProjectOut { rank } => format!("project-out (rank {rank})"),
            Ablation::ProjectKeep { rank } => format!("project-keep (rank {rank})"),
        }
    }
}

/// Roll `x` by one along dim 0: row b gets row (b + 1) mod batch.
pub fn roll_batch(x: &Tensor) -> Result<Tensor> {
    let b = x.dim(0)?;
    if b < 2 {
        return Ok(x.clone());
    }
    Ok(Tensor::cat(
        &[x.narrow(0, 1, b - 1)?, x.narrow(0, 0, 1)?],
        0,
    )?)
}

/// One seeded permutation of the causal prefix per query position: row `q` of the result
/// (`[n_ctx, n_ctx]` row-major) maps `0..=q` onto itself and leaves the keys `> q` in place.
pub fn causal_permutations(n_ctx: usize, seed: u64) -> Vec<u32> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(n_ctx * n_ctx);
    for q in 0..n_ctx {
        let mut row: Vec<u32> = (0..n_ctx as u32).collect();
        row[..=q].shuffle(&mut rng);
        out.extend(row);
    }
    out
}

/// Permute each query row of `pattern` (`[batch, 1, query_pos, key_pos]`, one head) by
/// `perms` (`[n_ctx, n_ctx]` from [`causal_permutations`], `n_ctx >= query_pos`):
/// `out[b, 0, q, k] = pattern[b, 0, q, perms[q][k]]`.
pub fn shuffle_pattern_rows(pattern: &Tensor, perms: &[u32], n_ctx: usize) -> Result<Tensor> {
    let (b, h, q, k) = pattern.dims4()?;
    if q > n_ctx || k > n_ctx {
        return Err(Error::Invalid(format!(
            "shuffle ablation: pattern of {q} x {k} positions, permutations for {n_ctx}"
        )));
    }
    let mut idx = Vec::with_capacity(q * k);
    for row in 0..q {
        idx.extend_from_slice(&perms[row * n_ctx..row * n_ctx + k]);
    }
    let idx = Tensor::from_vec(idx, (1, 1, q, k), pattern.device())?
        .broadcast_as((b, h, q, k))?
        .contiguous()?;
    Ok(pattern.contiguous()?.gather(&idx, 3)?)
}

/// Orthonormal basis `[d_model, rank]` of the top-`rank` directions that the heads of layers
/// `< layer` write to: right singular vectors of the stacked `[W_OV^A; W_OV^A'; ...]`.
pub fn common_write_subspace(m: &ModelW, layer: usize, rank: usize) -> Result<Mat> {
    let earlier: Vec<_> = m.heads.iter().filter(|h| h.layer < layer).collect();
    if earlier.is_empty() {
        return Err(Error::Invalid(format!(
            "projection ablations edit what a head's keys read from earlier layers, and layer {layer} has none; pick a head in layer 1 or later"
        )));
    }
    let d = m.cfg.d_model;
    let mut stacked = Mat::zeros(0, d);
    for h in earlier {
        let ov = h.w_ov()?;
        stacked.data.extend_from_slice(&ov.data);
        stacked.rows += ov.rows;
    }
    if rank == 0 || rank > d {
        return Err(Error::Invalid(format!(
            "--rank {rank}: expected 1..={d} (d_model)"
        )));
    }
    Ok(svd(&stacked).v.first_cols(rank))
}

/// `I - U U^T` (`keep = false`) or `U U^T` (`keep = true`) for orthonormal `u: [d, r]`.
pub fn projector(u: &Mat, keep: bool) -> Result<Mat> {
    let p = u.matmul(&u.t())?;
    if keep {
        return Ok(p);
    }
    let mut out = Mat::eye(u.rows);
    for (o, v) in out.data.iter_mut().zip(&p.data) {
        *o -= v;
    }
    Ok(out)
}

/// A copy of the run's model whose heads' `W_K` is multiplied on the left by the projector.
fn projected_model(
    lr: &LoadedRun,
    m: &ModelW,
    heads: &[HeadRef],
    keep: bool,
    rank: usize,
) -> Result<Transformer> {
    let cfg = &lr.cfg.model;
    let mut map = lr.weights.to_map(DType::F32)?;
    for h in heads {
        let p = projector(&common_write_subspace(m, h.layer, rank)?, keep)?.to_tensor()?;
        let name = format!("blocks.{}.attn.W_K", h.layer);
        // A second head of the same layer edits the tensor the first one left.
        let w = map
            .get(&name)
            .cloned()
            .ok_or_else(|| Error::Invalid(format!("weights lack {name}")))?;
        let wk = w.get(h.head)?.to_dtype(DType::F64)?; // [d_model, d_head]
        let new = p.matmul(&wk)?.to_dtype(DType::F32)?.unsqueeze(0)?;
        map.insert(name, replace_head(&w, 0, h.head, Some(&new))?);
    }
    Transformer::new(cfg, VarBuilder::from_tensors(map, DType::F32, &lr.device))
}

/// Logits `[batch, pos, d_vocab_out]` of `rows` with `heads` ablated by `how`; `seed`
/// drives the shuffle permutations (a different stream per head).
pub fn ablated_logits(
    lr: &LoadedRun,
    m: &ModelW,
    rows: &Rows,
    heads: &[HeadRef],
    how: Ablation,
    seed: u64,
) -> Result<Tensor> {
    let tokens = rows.tokens_tensor(&lr.device)?;
    if let Ablation::ProjectOut { rank } | Ablation::ProjectKeep { rank } = how {
        let keep = matches!(how, Ablation::ProjectKeep { .. });
        let model = projected_model(lr, m, heads, keep, rank)?;
        return Ok(model.forward(&tokens, None)?.detach());
    }
    let mut hooks = Hooks::new();
    for (i, &HeadRef { layer, head }) in heads.iter().enumerate() {
        match how {
            Ablation::Zero => hooks.zero_ablate_head(HookPoint::Z(layer), head)?,
            Ablation::Mean => hooks.mean_ablate_head(HookPoint::Z(layer), head, None)?,
            Ablation::Resample => hooks.edit_with(HookPoint::Z(layer), move |x| {
                replace_head(x, 2, head, Some(&roll_batch(&x.narrow(2, head, 1)?)?))
            }),
            Ablation::Shuffle => {
                let n_ctx = rows.n_ctx;
                let perms = causal_permutations(n_ctx, seed.wrapping_add(i as u64));
                hooks.edit_with(HookPoint::Pattern(layer), move |x| {
                    let one = shuffle_pattern_rows(&x.narrow(1, head, 1)?, &perms, n_ctx)?;
                    replace_head(x, 1, head, Some(&one))
                })
            }
            Ablation::ProjectOut { .. } | Ablation::ProjectKeep { .. } => {}
        }
    }
    Ok(lr.model.forward(&tokens, Some(&mut hooks))?.detach())
}

/// Loss figures of one forward pass.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Mean loss over the counted predictions (probe: every prediction but at the begin token).
    pub loss: f64,
    /// Probe only: mean loss predicting tokens of the first copy / of later copies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_copy_loss: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub later_copies_loss: Option<f64>,
    /// Task only: the task's metrics.
    #[serde(skip_serializing_if = "BTreeMap::is_empty", default)]
    pub task: BTreeMap<String, f64>,
}

/// Metrics of `logits` on `rows`; `probe = Some(probe)` for the repeat probe.
pub fn metrics(
    lr: &LoadedRun,
    logits: &Tensor,
    rows: &Rows,
    probe: Option<crate::probe::Probe>,
    task_metrics: bool,
) -> Result<Metrics> {
    let lp = lr.target_logprobs(logits, rows)?;
    let loss: Vec<f32> = lp.iter().map(|v| -v).collect();
    let (num, den) = rows
        .mask
        .iter()
        .zip(&loss)
        .fold((0f64, 0f64), |(n, d), (m, l)| {
            (n + f64::from(*m) * f64::from(*l), d + f64::from(*m))
        });
    let mean = if den > 0.0 { num / den } else { f64::NAN };
    if let Some(p) = probe {
        let pl = crate::probe::logprobs(&lp, rows.len(), p, lr.cfg.model.d_vocab());
        return Ok(Metrics {
            loss: mean,
            first_copy_loss: Some(-pl.first_copy),
            later_copies_loss: Some(-pl.later_copies),
            task: BTreeMap::new(),
        });
    }
    let pred = logits
        .argmax(candle_core::D::Minus1)?
        .flatten_all()?
        .to_vec1::<u32>()?;
    Ok(Metrics {
        loss: mean,
        first_copy_loss: None,
        later_copies_loss: None,
        // The task's metrics read its own row layout; the user's rows have another.
        task: if task_metrics {
            lr.spec.metrics(rows, &loss, &pred).into_iter().collect()
        } else {
            BTreeMap::new()
        },
    })
}

/// Check that `how` applies to every head (projections need an earlier layer) and to a
/// batch of `batch` rows (mean and resample need two rows to differ from the clean run).
pub fn check(how: Ablation, heads: &[HeadRef], batch: usize) -> Result<()> {
    if batch < 2 && matches!(how, Ablation::Mean | Ablation::Resample) {
        return Err(Error::Invalid(format!(
            "--mode {} with --batch {batch}: with one row the batch mean / another row is the row itself, so the ablation would change nothing; use --batch 2 or more",
            how.name()
        )));
    }
    if let Ablation::ProjectOut { .. } | Ablation::ProjectKeep { .. } = how {
        if let Some(h) = heads.iter().find(|h| h.layer == 0) {
            return Err(Error::Invalid(format!(
                "--mode {}: head {h} is in layer 0, which reads nothing from earlier heads; pick heads in layer 1 or later",
                how.name()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn set_head_and_roll() {
        let x = Tensor::arange(0f32, 24.0, &Device::Cpu)
            .unwrap()
            .reshape((2, 3, 2, 2))
            .unwrap();
        let z = Tensor::zeros((2, 3, 1, 2), candle_core::DType::F32, &Device::Cpu).unwrap();
        let y = replace_head(&x, 2, 1, Some(&z)).unwrap();
        let v = y.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(&v[..4], &[0.0, 1.0, 0.0, 0.0]);
        let r = roll_batch(&x)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        assert_eq!(r[0], 12.0);
        assert_eq!(r[12], 0.0);
    }

    #[test]
    fn causal_permutations_stay_in_the_prefix() {
        let n = 7;
        let p = causal_permutations(n, 3);
        let mut moved = false;
        for q in 0..n {
            let row = &p[q * n..(q + 1) * n];
            let mut prefix: Vec<u32> = row[..=q].to_vec();
            prefix.sort_unstable();
            assert_eq!(prefix, (0..=q as u32).collect::<Vec<_>>(), "row {q}");
            assert!(row[q + 1..]
                .iter()
                .zip(q + 1..)
                .all(|(&v, k)| v as usize == k));
            moved |= row[..=q].iter().zip(0..).any(|(&v, k)| v != k);
        }
        assert!(moved, "some row is permuted");
        // Row sums of a causal pattern survive the shuffle and nothing moves above the diagonal.
        let pat: Vec<f32> = (0..n * n)
            .map(|i| if i % n <= i / n { (i + 1) as f32 } else { 0.0 })
            .collect();
        let t = Tensor::from_vec(pat.clone(), (1, 1, n, n), &Device::Cpu).unwrap();
        let s = shuffle_pattern_rows(&t, &p, n)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        for q in 0..n {
            let a: f32 = pat[q * n..(q + 1) * n].iter().sum();
            let b: f32 = s[q * n..(q + 1) * n].iter().sum();
            assert_eq!(a, b);
            assert!(s[q * n + q + 1..(q + 1) * n].iter().all(|&v| v == 0.0));
            for k in 0..n {
                assert_eq!(s[q * n + k], pat[q * n + p[q * n + k] as usize]);
            }
        }
    }

    #[test]
    fn projectors_split_the_space() {
        let u = Mat::eye(4).first_cols(2);
        let out = projector(&u, false).unwrap();
        let keep = projector(&u, true).unwrap();
        let sum: Vec<f64> = out
            .data
            .iter()
            .zip(&keep.data)
            .map(|(a, b)| a + b)
            .collect();
        assert_eq!(sum, Mat::eye(4).data);
        // Projecting out keeps nothing of the subspace: (I - P) u = 0.
        assert!(out.matmul(&u).unwrap().frobenius() < 1e-12);
        assert!((keep.matmul(&u).unwrap().frobenius() - 2f64.sqrt()).abs() < 1e-12);
    }
}
