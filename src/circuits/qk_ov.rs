//! A model's weights as f64 matrices per head, and the full QK / OV circuits with their
//! diagonal scores (seed 001). Row-vector convention as in TransformerLens: a residual
//! vector `x: [d_model]` gives `q = x W_Q`, so `W_QK = W_Q W_K^T: [d_model, d_model]` (score
//! of query `x_q` on key `x_k` is `x_q W_QK x_k^T / sqrt(d_head)`) and `W_OV = W_V W_O:
//! [d_model, d_model]` (a head writes `x W_OV` for the key vector `x` it attends to).
use super::svd::Mat;
use crate::error::{Error, Result};
use crate::model::config::{ModelConfig, Positional};
use crate::model::Weights;
use candle_core::{DType, Tensor};
use std::collections::HashMap;

/// One head's weight matrices, in f64.
#[derive(Debug, Clone)]
pub struct HeadW {
    pub layer: usize,
    pub head: usize,
    /// `W_Q[head]`: `[d_model, d_head]`.
    pub w_q: Mat,
    /// `W_K[head]`: `[d_model, d_head]`.
    pub w_k: Mat,
    /// `W_V[head]`: `[d_model, d_head]`.
    pub w_v: Mat,
    /// `W_O[head]`: `[d_head, d_model]`.
    pub w_o: Mat,
}

impl HeadW {
    /// `"l.h"`.
    pub fn name(&self) -> String {
        format!("{}.{}", self.layer, self.head)
    }
    /// `W_QK = W_Q W_K^T`: `[d_model, d_model]`.
    pub fn w_qk(&self) -> Result<Mat> {
        self.w_q.matmul(&self.w_k.t())
    }
    /// `W_OV = W_V W_O`: `[d_model, d_model]`.
    pub fn w_ov(&self) -> Result<Mat> {
        self.w_v.matmul(&self.w_o)
    }
}

/// Every matrix the circuit analyses read.
#[derive(Debug, Clone)]
pub struct ModelW {
    pub cfg: ModelConfig,
    /// `W_E`: `[d_vocab, d_model]`.
    pub w_e: Mat,
    /// `W_pos`: `[n_ctx, d_model]`.
    pub w_pos: Mat,
    /// `W_U`: `[d_model, d_vocab_out]`.
    pub w_u: Mat,
    /// Heads in layer-major order (`layer * n_heads + head`).
    pub heads: Vec<HeadW>,
}

impl ModelW {
    /// The weights of a loaded run, in f64.
    pub fn of(weights: &Weights, cfg: &ModelConfig) -> Result<ModelW> {
        ModelW::from_tensors(&weights.to_map(DType::F64)?, cfg)
    }

    /// From TransformerLens-named tensors (`embed.W_E`, `blocks.{l}.attn.W_Q`, ...).
    pub fn from_tensors(map: &HashMap<String, Tensor>, cfg: &ModelConfig) -> Result<ModelW> {
        let get = |name: &str| {
            map.get(name)
                .ok_or_else(|| Error::Invalid(format!("weights lack {name}")))
        };
        let mut heads = Vec::with_capacity(cfg.n_layers * cfg.n_heads);
        for l in 0..cfg.n_layers {
            let w = |n: &str| get(&format!("blocks.{l}.attn.{n}"));
            let (wq, wk, wv, wo) = (w("W_Q")?, w("W_K")?, w("W_V")?, w("W_O")?);
            for h in 0..cfg.n_heads {
                heads.push(HeadW {
                    layer: l,
                    head: h,
                    w_q: Mat::from_tensor(&wq.get(h)?)?,
                    w_k: Mat::from_tensor(&wk.get(h)?)?,
                    w_v: Mat::from_tensor(&wv.get(h)?)?,
                    w_o: Mat::from_tensor(&wo.get(h)?)?,
                });
            }
        }
        Ok(ModelW {
            cfg: cfg.clone(),
            w_e: Mat::from_tensor(get("embed.W_E")?)?,
            w_pos: Mat::from_tensor(get("pos_embed.W_pos")?)?,
            w_u: Mat::from_tensor(get("unembed.W_U")?)?,
            heads,
        })
    }

    /// The head `l.h`.
    pub fn head(&self, layer: usize, head: usize) -> Option<&HeadW> {
        self.heads
            .get(layer * self.cfg.n_heads + head)
            .filter(|_| head < self.cfg.n_heads)
    }

    /// Whether positions enter the residual stream (standard) or only Q and K (shortformer).
    pub fn shortformer(&self) -> bool {
        self.cfg.positional == Positional::Shortformer
    }
}

/// Full QK circuit `W_E W_QK W_E^T`: `[d_vocab (query token), d_vocab (key token)]`.
pub fn full_qk(m: &ModelW, h: &HeadW) -> Result<Mat> {
    m.w_e.matmul(&h.w_q)?.matmul(&m.w_e.matmul(&h.w_k)?.t())
}

/// Positional QK circuit `W_pos W_QK W_pos^T`: `[n_ctx (query pos), n_ctx (key pos)]`.
pub fn positional_qk(m: &ModelW, h: &HeadW) -> Result<Mat> {
    m.w_pos.matmul(&h.w_q)?.matmul(&m.w_pos.matmul(&h.w_k)?.t())
}

/// Full OV circuit `W_E W_OV W_U`: `[d_vocab (attended token), d_vocab_out (logit)]`.
pub fn full_ov(m: &ModelW, h: &HeadW) -> Result<Mat> {
    m.w_e.matmul(&h.w_v)?.matmul(&h.w_o.matmul(&m.w_u)?)
}

/// K-composition circuit of a later head `b` through an earlier head `a`:
/// `W_E W_QK^b (W_E W_OV^a)^T`: `[d_vocab (query token), d_vocab (token a moved)]`. An
/// induction head reading a previous-token head has a large diagonal: a query token attends
/// to keys whose previous token is the same token.
pub fn k_comp_circuit(m: &ModelW, a: &HeadW, b: &HeadW) -> Result<Mat> {
    let moved = m.w_e.matmul(&a.w_v)?.matmul(&a.w_o)?; // [d_vocab, d_model]
    m.w_e.matmul(&b.w_q)?.matmul(&moved.matmul(&b.w_k)?.t())
}

/// Index of the first largest entry of `row` (NaN never wins; 0 for an empty row).
fn first_argmax(row: &[f64]) -> usize {
    row.iter()
        .enumerate()
        .fold((0usize, f64::NEG_INFINITY), |acc, (j, &v)| {
            if v > acc.1 {
                (j, v)
            } else {
                acc
            }
        })
        .0
}

/// Share of the rows `i < min(rows, cols)` whose largest entry is on the diagonal `(i, i)`
/// (ties count for the diagonal only when it is the first maximum).
pub fn diag_score(m: &Mat) -> f64 {
    let n = m.rows.min(m.cols);
    if n == 0 {
        return f64::NAN;
    }
    let hits = (0..n)
        .filter(|&i| {
            let row = &m.data[i * m.cols..(i + 1) * m.cols];
            first_argmax(row) == i
        })
        .count();
    hits as f64 / n as f64
}

/// Share of the rows `i >= 1` of a `[n_ctx, n_ctx]` positional circuit whose largest entry
/// among the causal keys `0..=i` is at `offset` before the diagonal (`offset = 1`: the
/// previous position).
pub fn causal_offset_score(m: &Mat, offset: usize) -> f64 {
    let n = m.rows.min(m.cols);
    let rows: Vec<usize> = (offset.max(1)..n).collect();
    if rows.is_empty() {
        return f64::NAN;
    }
    let hits = rows
        .iter()
        .filter(|&&i| {
            let row = &m.data[i * m.cols..i * m.cols + i + 1];
            first_argmax(row) + offset == i
        })
        .count();
    hits as f64 / rows.len() as f64
}

/// Z-score of the diagonal against the off-diagonal entries of a square part of `m`:
/// `(mean(diag) - mean(offdiag)) / std(offdiag)` (seed 004's "diagonal is large" test;
/// above about 2 the diagonal stands out).
pub fn diag_zscore(m: &Mat) -> f64 {
    let n = m.rows.min(m.cols);
    if n < 2 {
        return f64::NAN;
    }
    let (mut d, mut o) = (Vec::with_capacity(n), Vec::with_capacity(n * (n - 1)));
    for i in 0..n {
        for j in 0..n {
            let v = m.at(i, j);
            if i == j {
                d.push(v)
            } else {
                o.push(v)
            }
        }
    }
    let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
    let (md, mo) = (mean(&d), mean(&o));
    let sd = (o.iter().map(|v| (v - mo) * (v - mo)).sum::<f64>() / o.len() as f64).sqrt();
    if sd == 0.0 {
        return if md > mo { f64::INFINITY } else { 0.0 };
    }
    (md - mo) / sd
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(w_q: Mat, w_k: Mat, w_v: Mat, w_o: Mat) -> HeadW {
        HeadW {
            layer: 0,
            head: 0,
            w_q,
            w_k,
            w_v,
            w_o,
        }
    }

    fn identity_model(n: usize) -> ModelW {
        ModelW {
            cfg: ModelConfig::default(),
            w_e: Mat::eye(n),
            w_pos: Mat::eye(n),
            w_u: Mat::eye(n),
            heads: vec![head(Mat::eye(n), Mat::eye(n), Mat::eye(n), Mat::eye(n))],
        }
    }

    #[test]
    fn identity_weights_give_diagonal_score_one() {
        let m = identity_model(5);
        let h = &m.heads[0];
        assert_eq!(diag_score(&full_qk(&m, h).unwrap()), 1.0);
        assert_eq!(diag_score(&full_ov(&m, h).unwrap()), 1.0);
        assert_eq!(diag_score(&k_comp_circuit(&m, h, h).unwrap()), 1.0);
        assert!(diag_zscore(&full_ov(&m, h).unwrap()) > 2.0);
    }

    #[test]
    fn permuted_ov_scores_zero_and_shift_is_found() {
        // W_O = cyclic shift: token i writes token i+1, never itself.
        let n = 4;
        let mut shift = Mat::zeros(n, n);
        for i in 0..n {
            shift.data[i * n + (i + 1) % n] = 1.0;
        }
        let mut m = identity_model(n);
        m.heads[0].w_o = shift.clone();
        assert_eq!(diag_score(&full_ov(&m, &m.heads[0]).unwrap()), 0.0);
        assert!(diag_zscore(&full_ov(&m, &m.heads[0]).unwrap()) < 0.0);
        // A positional circuit that prefers the previous position.
        let mut prev = Mat::zeros(n, n);
        for i in 1..n {
            prev.data[i * n + i - 1] = 1.0;
        }
        assert_eq!(causal_offset_score(&prev, 1), 1.0);
        assert_eq!(causal_offset_score(&Mat::eye(n), 1), 0.0);
    }
}
