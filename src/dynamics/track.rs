//! The tracked pass: at a tracked step, everything `dynamics.jsonl` holds, measured on the
//! model being trained. The probe batch is drawn once per run (`Tracker::new`), so every
//! line scores the same rows; the loss-based measures reuse the step's held-out evaluation.
use super::grokking::GrokkingProbe;
use super::line::DynamicsLine;
use crate::analysis::capture_patterns;
use crate::circuits::composition::{compose, pairs};
use crate::circuits::eigen::positivity;
use crate::circuits::qk_ov::ModelW;
use crate::circuits::svd::Mat;
use crate::config::RunConfig;
use crate::detect::{score_all, tl};
use crate::error::Result;
use crate::hooks::HeadRef;
use crate::model::{Transformer, Weights};
use crate::probe::{Probe, ProbeRequest};
use crate::tasks::{Rows, Split, TaskSpec};
use candle_core::{DType, Device};
use candle_nn::VarMap;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Rows of the fixed probe batch every tracked step scores.
pub const TRACK_BATCH: usize = 32;

/// Olsson et al.'s in-context-learning score compares token 500 with token 50 of a
/// 512-token context; a context of `n_ctx` compares the same fractions of it.
pub const ICL_EARLY_OF_512: usize = 50;
pub const ICL_LATE_OF_512: usize = 500;

/// The early and late positions of the ICL score for a context of `n_ctx`:
/// `round(n_ctx * 50 / 512)` (at least 1) and `round(n_ctx * 500 / 512)`, but not the last
/// position, which in most tasks predicts an end token (induction's `.`) that is learnt
/// without any context (at most `n_ctx - 2`; both 1 for contexts shorter than 4).
pub fn icl_positions(n_ctx: usize) -> (usize, usize) {
    let at = |of_512: usize| (n_ctx * of_512 + 256) / 512;
    let late_max = n_ctx.saturating_sub(2).max(1);
    let late = at(ICL_LATE_OF_512).clamp(1, late_max);
    (at(ICL_EARLY_OF_512).clamp(1, late), late)
}

/// What `summary.json`'s `tracking` section says about the tracked measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackingInfo {
    pub track_every: usize,
    /// A sentence naming the rows the head scores are computed on.
    pub probe: String,
    /// The ICL score's early and late positions.
    pub icl_positions: [usize; 2],
    /// Heads zero-ablated in every training and tracked forward pass.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ablate_heads: Vec<String>,
}

/// The fixed inputs of a run's tracked passes.
pub struct Tracker {
    rows: Rows,
    /// Modular addition: all pairs, for the progress measures.
    grokking: Option<GrokkingProbe>,
    probe: Option<Probe>,
    headline: &'static [&'static str],
    pub info: TrackingInfo,
}

impl Tracker {
    /// The probe batch of `cfg`'s run: the repeated-token probe at its default length for a
    /// task that copies in context (`Task::copies_in_context`) when the context fits one,
    /// else held-out task rows; drawn with `seed` (the trainer derives
    /// it from the run's seed).
    pub fn new(cfg: &RunConfig, spec: &TaskSpec, ablate: &[HeadRef], seed: u64) -> Result<Tracker> {
        let m = &cfg.model;
        let vocab = m.d_vocab().min(m.d_vocab_out());
        let fitted = ProbeRequest::default().fit(m.n_ctx());
        let (rows, probe, probe_text) = match fitted {
            Ok((probe, _)) if vocab > 1 && cfg.task.task().copies_in_context() => {
                let rows = probe.rows(vocab, TRACK_BATCH, seed)?;
                let text = probe.describe(vocab, TRACK_BATCH, seed);
                (rows, Some(probe), text)
            }
            _ => {
                let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
                let rows = spec.generate(TRACK_BATCH, Split::Test, &mut rng);
                let text = format!(
                    "{TRACK_BATCH} held-out {} rows (seed {seed})",
                    cfg.task.task()
                );
                (rows, None, text)
            }
        };
        let (early, late) = icl_positions(m.n_ctx());
        let grokking = spec.modular_addition().map(GrokkingProbe::new);
        Ok(Tracker {
            rows,
            grokking,
            probe,
            headline: cfg.task.task().headline_metrics(),
            info: TrackingInfo {
                track_every: cfg.train.track_every(),
                probe: probe_text,
                icl_positions: [early, late],
                ablate_heads: ablate.iter().map(|h| h.to_string()).collect(),
            },
        })
    }

    /// Measure `model` after `step` steps. `eval` is the step's held-out evaluation: its
    /// metrics and the per-token loss `[rows, pos]` with its mask.
    pub fn measure(&self, at: Measured<'_>) -> Result<DynamicsLine> {
        let Measured {
            step,
            model,
            varmap,
            cfg,
            device,
            ablate,
            eval,
        } = at;
        let (patterns, _) = capture_patterns(model, &cfg.model, &self.rows, device, ablate)?;
        let scores = score_all(&patterns, &self.rows.tokens, self.probe)?;
        let tl_report = tl::score_batch(&patterns, &self.rows.tokens)?;
        let tl_detect_head = tl_report
            .scores
            .into_iter()
            .map(|(kind, mut variants)| {
                let mul = variants.remove("mul").unwrap_or_default();
                (kind, BTreeMap::from([("mul".to_string(), mul)]))
            })
            .collect();
        let weights = Weights::of(varmap)?;
        let w = ModelW::of(&weights, &cfg.model)?;
        let loss_by_pos = loss_by_position(eval.loss, eval.mask, cfg.model.n_ctx());
        let [early, late] = self.info.icl_positions;
        let icl = match (loss_by_pos.get(early), loss_by_pos.get(late)) {
            (Some(Some(e)), Some(Some(l))) => Some(l - e),
            _ => None,
        };
        let grokking = match &self.grokking {
            Some(g) => Some(g.measure(model, &weights, device)?),
            None => None,
        };
        Ok(DynamicsLine {
            step,
            grokking,
            scores: scores.scores,
            tl_detect_head,
            icl,
            loss_by_pos,
            copying: copying_scores(&w)?,
            composition: pairs(&w)
                .into_iter()
                .map(|(a, b)| compose(a, b))
                .collect::<Result<_>>()?,
            param_norm: param_norms(&weights)?,
            metrics: eval
                .metrics
                .iter()
                .filter(|(k, _)| self.headline.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.is_finite().then_some(*v)))
                .collect(),
        })
    }
}

/// The inputs of one tracked measurement.
pub struct Measured<'a> {
    pub step: usize,
    pub model: &'a Transformer,
    pub varmap: &'a VarMap,
    pub cfg: &'a RunConfig,
    pub device: &'a Device,
    /// Heads zero-ablated in the pass.
    pub ablate: &'a [HeadRef],
    pub eval: EvalAt<'a>,
}

/// The step's held-out evaluation.
pub struct EvalAt<'a> {
    pub metrics: &'a [(String, f64)],
    /// Per-token loss `[rows, pos]` row-major.
    pub loss: &'a [f32],
    /// Its mask (targets that count), same layout.
    pub mask: &'a [f32],
}

/// Mean loss over rows at each position, counting only masked-in targets (`None` where no
/// row has one). `loss` and `mask` are `[rows, n_ctx]` row-major.
pub fn loss_by_position(loss: &[f32], mask: &[f32], n_ctx: usize) -> Vec<Option<f64>> {
    let mut sum = vec![0.0f64; n_ctx];
    let mut count = vec![0.0f64; n_ctx];
    for (i, (&l, &m)) in loss.iter().zip(mask).enumerate() {
        if m > 0.0 {
            sum[i % n_ctx] += f64::from(l) * f64::from(m);
            count[i % n_ctx] += f64::from(m);
        }
    }
    sum.iter()
        .zip(&count)
        .map(|(s, c)| (*c > 0.0).then(|| s / c))
        .collect()
}

/// Per head `[layer][head]`, the positivity of the OV circuit on tokens: the eigenvalues of
/// `W_E W_V W_O W_U` over the tokens that are both inputs and outputs (the first
/// `min(d_vocab, d_vocab_out)`). Its non-zero eigenvalues are those of the
/// `[d_head, d_head]` product `W_O W_U W_E W_V` (the eigenvalues of `AB` and `BA` agree
/// but for zeros), which is what is decomposed, as TransformerLens's
/// `FactoredMatrix.eigenvalues` does.
pub fn copying_scores(w: &ModelW) -> Result<Vec<Vec<Option<f64>>>> {
    let n = w.w_e.rows.min(w.w_u.cols);
    let d_model = w.w_e.cols;
    let w_e = Mat {
        rows: n,
        cols: d_model,
        data: w.w_e.data[..n * d_model].to_vec(),
    };
    let w_u = w.w_u.first_cols(n);
    let mut out = vec![Vec::new(); w.cfg.n_layers];
    for h in &w.heads {
        // [d_head, d_model] [d_model, n] [n, d_model] [d_model, d_head]: smallest first.
        let m = h.w_o.matmul(&w_u)?.matmul(&w_e)?.matmul(&h.w_v)?;
        out[h.layer].push(positivity(&m)?);
    }
    Ok(out)
}

/// L2 norm of the parameters of each part of the model: `embed` (W_E and W_pos),
/// `blocks.{l}`, `ln_final`, `unembed`, named by their TransformerLens paths.
pub fn param_norms(weights: &Weights) -> Result<BTreeMap<String, f64>> {
    let mut sq: BTreeMap<String, f64> = BTreeMap::new();
    for (name, var) in weights.vars() {
        let part = match name.split('.').collect::<Vec<_>>().as_slice() {
            ["blocks", l, ..] => format!("blocks.{l}"),
            ["embed" | "pos_embed", ..] => "embed".to_string(),
            [first, ..] => first.to_string(),
            [] => continue,
        };
        let t = var.as_tensor().to_dtype(DType::F64)?;
        let s = t.sqr()?.sum_all()?.to_scalar::<f64>()?;
        *sq.entry(part).or_default() += s;
    }
    Ok(sq.into_iter().map(|(k, v)| (k, v.sqrt())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icl_positions_scale_olssons_500_and_50() {
        assert_eq!(icl_positions(512), (50, 500));
        // Not the last position (an end token learnt without context).
        assert_eq!(icl_positions(32), (3, 30));
        assert_eq!(icl_positions(85), (8, 83));
        // Tiny contexts stay inside the row.
        assert_eq!(icl_positions(2), (1, 1));
        assert_eq!(icl_positions(3), (1, 1));
        assert_eq!(icl_positions(8), (1, 6));
    }

    /// A model whose one head's OV circuit on tokens is `sign * I` (W_E, W_V, W_U identity,
    /// W_O = sign * I): copying score `sign`; with a rotation in W_O (complex eigenvalues
    /// +-i and a real 1) the score is 1 / 3.
    #[test]
    fn copying_score_of_known_ov_circuits() {
        use crate::circuits::qk_ov::HeadW;
        use crate::model::config::ModelConfig;
        let n = 3;
        let model = |w_o: Mat| ModelW {
            cfg: ModelConfig {
                n_layers: 1,
                n_heads: 1,
                d_model: n,
                d_head: n,
                ..ModelConfig::default()
            },
            w_e: Mat::eye(n),
            w_pos: Mat::zeros(1, n),
            w_u: Mat::eye(n),
            heads: vec![HeadW {
                layer: 0,
                head: 0,
                w_q: Mat::eye(n),
                w_k: Mat::eye(n),
                w_v: Mat::eye(n),
                w_o,
            }],
        };
        assert_eq!(copying_scores(&model(Mat::eye(n))).unwrap(), [[Some(1.0)]]);
        let mut neg = Mat::eye(n);
        neg.data.iter_mut().for_each(|x| *x = -*x);
        assert_eq!(copying_scores(&model(neg)).unwrap(), [[Some(-1.0)]]);
        let rot = Mat {
            rows: n,
            cols: n,
            data: vec![1.0, 0.0, 0.0, 0.0, 0.0, -1.0, 0.0, 1.0, 0.0],
        };
        let got = copying_scores(&model(rot)).unwrap()[0][0].unwrap();
        assert!((got - 1.0 / 3.0).abs() < 1e-12, "{got}");
        assert_eq!(copying_scores(&model(Mat::zeros(n, n))).unwrap(), [[None]]);
    }

    #[test]
    fn loss_by_position_counts_masked_targets_only() {
        // Two rows of three positions; position 2 is never a target.
        let loss = [1.0, 2.0, 9.0, 3.0, 4.0, 9.0];
        let mask = [1.0, 1.0, 0.0, 1.0, 0.0, 0.0];
        assert_eq!(
            loss_by_position(&loss, &mask, 3),
            vec![Some(2.0), Some(2.0), None]
        );
    }
}
