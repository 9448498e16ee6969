//! `indu circuits`: every weight-based score of a model in one report (`CircuitsFile`, written
//! as `circuits.json`) plus the matrices its figures draw (`CircuitMatrices`).
use super::composition::{
    compose, diagonal_pair, embedding_basis, head_subspaces, overlap_at, pairs, random_baseline,
    random_overlap, ranks, Baseline, DiagonalPair, Overlap, PairComposition,
};
use super::qk_ov::{
    causal_offset_score, diag_score, diag_zscore, full_ov, full_qk, k_comp_circuit, positional_qk,
    ModelW,
};
use super::svd::Mat;
use crate::error::Result;
use crate::model::config::{Normalization, Residual};
use serde::{Deserialize, Serialize};

/// Scores of one head's own circuits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadCircuits {
    pub head: String,
    /// Share of query tokens whose top key token in `W_E W_QK W_E^T` is itself.
    pub qk_diag: f64,
    /// Share of source tokens whose top logit in `W_E W_OV W_U` is themselves (copying).
    pub ov_diag: f64,
    /// Z-score of the diagonal of the full OV circuit against its off-diagonal.
    pub ov_diag_z: f64,
    /// Share of query positions q >= 1 whose top causal key in `W_pos W_QK W_pos^T` is q - 1.
    pub pos_prev: f64,
    /// Share of query positions whose top causal key in `W_pos W_QK W_pos^T` is q itself.
    pub pos_current: f64,
}

/// Per-head weight-based roles from seed 004's pair scores.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadRoles {
    pub head: String,
    /// Max over earlier heads A of `z_token(A, this)`: this head's QK looks up what A moved
    /// (induction head); null in layer 0.
    pub induction: Option<f64>,
    /// Max over later heads B of `z_token(this, B)`: a later head's QK looks up what this
    /// head moves (shifting / previous-token head); null in the last layer.
    pub shifting: Option<f64>,
}

/// Common-subspace overlaps of one pair (earlier A, later B) at one rank r: A's top-r
/// write subspace (right singular vectors of `W_OV^A`) against B's top-r key-read (right
/// singular vectors of `W_QK^B`), query-read (left, `W_QK^B`) and value-read (left, `W_OV^B`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PathOverlap {
    pub earlier: String,
    pub later: String,
    pub rank: usize,
    pub k: Overlap,
    pub q: Overlap,
    pub v: Overlap,
}

/// Pairwise overlap of the same subspace across all heads at one rank (seed 004's matching
/// among induction heads and among shifting heads), `[head, head]` row-major.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SameRole {
    pub rank: usize,
    /// Key-read subspaces of `W_QK`, `mean` overlap.
    pub qk_key: Vec<Vec<f64>>,
    /// Write subspaces of `W_OV`, `mean` overlap.
    pub ov_write: Vec<Vec<f64>>,
}

/// The subspace part of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subspaces {
    pub ranks: Vec<usize>,
    /// Random `r`-dimensional subspaces of `R^d_model`, per rank (same order as `ranks`).
    pub random_baseline: Vec<Overlap>,
    pub pathways: Vec<PathOverlap>,
    pub same_role: Vec<SameRole>,
}

/// Composition scores of every pair with their baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Composition {
    pub definition: String,
    pub pairs: Vec<PairComposition>,
    pub baseline: Baseline,
}

/// `circuits.json`'s `schema_version`.
pub const SCHEMA_VERSION: u32 = 1;

/// What `circuits.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CircuitsFile {
    pub schema_version: u32,
    pub run: String,
    pub task: String,
    pub n_layers: usize,
    pub n_heads: usize,
    pub conventions: String,
    pub notes: Vec<String>,
    pub heads: Vec<HeadCircuits>,
    /// Absent for a one-layer model (no pair of heads in different layers).
    pub composition: Option<Composition>,
    /// Seed 004: z-scores of the diagonal of `W_QK^B W_OV^A^T` for every pair.
    pub diagonal_pairs: Vec<DiagonalPair>,
    pub roles: Vec<HeadRoles>,
    pub subspaces: Option<Subspaces>,
}

/// Matrices the figures draw, per head in layer-major order.
#[derive(Debug, Clone)]
pub struct CircuitMatrices {
    pub full_qk: Vec<Mat>,
    pub full_ov: Vec<Mat>,
    pub positional_qk: Vec<Mat>,
    /// For each head in layer >= 1: (earlier head with the largest K-composition, circuit).
    pub k_circuits: Vec<(String, String, Mat)>,
}

/// Options of the analysis.
#[derive(Debug, Clone)]
pub struct CircuitOptions {
    /// Random draws of the composition and subspace baselines.
    pub baseline_draws: usize,
    pub seed: u64,
}

impl Default for CircuitOptions {
    fn default() -> Self {
        CircuitOptions {
            baseline_draws: 50,
            seed: 0,
        }
    }
}

/// Why the scores hold for `model.residual = "notebook"` (`resid_post = 2 resid_pre +
/// attn_out`), and what they leave out.
pub const NOTEBOOK_RESIDUAL_NOTE: &str = "model.residual = notebook (resid_post = 2 resid_pre + attn_out): the stream that layer l reads carries the embeddings with gain 2^l and the output of a layer-j head with gain 2^(l-1-j); these scores use the raw weights and ignore those gains. That changes none of them: the composition scores ||MN||_F / (||M||_F ||N||_F), the diagonal scores (share of rows whose max is on the diagonal), seed 004's diagonal z-scores and the subspace overlaps are each unchanged when either matrix is multiplied by a positive number. What they do not show is magnitude: in the model the direct path from the embeddings outweighs a composed path through an earlier head by an extra factor 2 per layer, and later layers' attention scores are larger (sharper patterns) than the raw weights suggest";

/// Short stdout summary of the subspace analysis: one line per rank with the largest mean
/// overlap (mean squared cosine of the principal angles) among the pairs for the K, Q and V
/// pathways, with its pair, against random subspaces of the same rank.
pub fn subspace_summary(s: &Subspaces) -> Vec<String> {
    let mut out = vec![
        "subspace overlap (mean cos^2 of the principal angles between an earlier head's top-r OV write subspace and a later head's top-r read subspace; best pair per pathway):".to_string(),
    ];
    for (i, &r) in s.ranks.iter().enumerate() {
        let at: Vec<&PathOverlap> = s.pathways.iter().filter(|p| p.rank == r).collect();
        let best = |f: &dyn Fn(&PathOverlap) -> f64| {
            at.iter()
                .max_by(|a, b| f(a).total_cmp(&f(b)))
                .map_or("-".to_string(), |p| {
                    format!("{:.3} ({}->{})", f(p), p.earlier, p.later)
                })
        };
        let base = s
            .random_baseline
            .get(i)
            .map_or("-".to_string(), |b| format!("{:.3}", b.mean));
        out.push(format!(
            "  r = {r:<3} K {}  Q {}  V {}  random {base}",
            best(&|p| p.k.mean),
            best(&|p| p.q.mean),
            best(&|p| p.v.mean)
        ));
    }
    out
}

/// Every weight-based score of `m`.
pub fn analyze(
    m: &ModelW,
    run: &str,
    task: &str,
    o: &CircuitOptions,
) -> Result<(CircuitsFile, CircuitMatrices)> {
    let cfg = &m.cfg;
    let mut notes = Vec::new();
    if cfg.normalization == Normalization::LN {
        notes.push("the model has LayerNorm: circuits use the raw weights and ignore the LN scales and biases".into());
    }
    if !cfg.attn_only {
        notes.push("the model has MLPs: composition through MLPs is not included".into());
    }
    if cfg.residual == Residual::Notebook {
        notes.push(NOTEBOOK_RESIDUAL_NOTE.into());
    }
    if m.shortformer() {
        notes.push("shortformer positions: W_pos enters Q and K only, so the positional QK circuit is exact and heads do not move positions".into());
    }
    let mut heads = Vec::new();
    let mut mats = CircuitMatrices {
        full_qk: Vec::new(),
        full_ov: Vec::new(),
        positional_qk: Vec::new(),
        k_circuits: Vec::new(),
    };
    for h in &m.heads {
        let qk = full_qk(m, h)?;
        let ov = full_ov(m, h)?;
        let pos = positional_qk(m, h)?;
        heads.push(HeadCircuits {
            head: h.name(),
            qk_diag: diag_score(&qk),
            ov_diag: diag_score(&ov),
            ov_diag_z: diag_zscore(&ov),
            pos_prev: causal_offset_score(&pos, 1),
            pos_current: causal_offset_score(&pos, 0),
        });
        mats.full_qk.push(qk);
        mats.full_ov.push(ov);
        mats.positional_qk.push(pos);
    }
    let pairs = pairs(m);
    let mut file = CircuitsFile {
        schema_version: SCHEMA_VERSION,
        run: run.into(),
        task: task.into(),
        n_layers: cfg.n_layers,
        n_heads: cfg.n_heads,
        conventions: "TransformerLens row vectors: W_QK = W_Q W_K^T, W_OV = W_V W_O (both [d_model, d_model]); full QK = W_E W_QK W_E^T [query token, key token]; full OV = W_E W_OV W_U [attended token, logit]; positional QK = W_pos W_QK W_pos^T [query pos, key pos]; diag scores = share of rows whose max is on the diagonal".into(),
        notes,
        heads,
        composition: None,
        diagonal_pairs: Vec::new(),
        roles: Vec::new(),
        subspaces: None,
    };
    if pairs.is_empty() {
        file.notes.push(format!(
            "the model has {} layer(s): there is no pair of heads in different layers, so composition scores, seed 004's pair scores and the subspace pathways do not apply",
            cfg.n_layers
        ));
        return Ok((file, mats));
    }
    let comps = pairs
        .iter()
        .map(|(a, b)| compose(a, b))
        .collect::<Result<Vec<_>>>()?;
    file.composition = Some(Composition {
        definition: "c(M, N) = ||M N||_F / (||M||_F ||N||_F); Q: c(W_OV^A, W_QK^B), K: c(W_OV^A, W_QK^B^T), V: c(W_OV^A, W_OV^B), A in an earlier layer than B; baseline: the same score of random rank-d_head products X Y (X [d_model, d_head], Y [d_head, d_model], i.i.d. normal)".into(),
        pairs: comps.clone(),
        baseline: random_baseline(cfg.d_model, cfg.d_head, o.baseline_draws, o.seed)?,
    });
    let basis = embedding_basis(m)?;
    for (a, b) in &pairs {
        file.diagonal_pairs.push(diagonal_pair(m, a, b, &basis)?);
    }
    for h in &m.heads {
        let best = |f: &dyn Fn(&DiagonalPair) -> bool| {
            file.diagonal_pairs
                .iter()
                .filter(|p| f(p))
                .map(|p| p.z_token)
                .fold(None, |acc: Option<f64>, z| {
                    Some(acc.map_or(z, |a| a.max(z)))
                })
        };
        let name = h.name();
        file.roles.push(HeadRoles {
            head: name.clone(),
            induction: best(&|p| p.later == name),
            shifting: best(&|p| p.earlier == name),
        });
    }
    // K-composition circuit of each later head with its strongest K-composing earlier head.
    for b in m.heads.iter().filter(|b| b.layer > 0) {
        let top = pairs
            .iter()
            .zip(&comps)
            .filter(|((_, bb), _)| bb.name() == b.name())
            .max_by(|x, y| x.1.k.total_cmp(&y.1.k));
        if let Some(((a, _), _)) = top {
            mats.k_circuits
                .push((a.name(), b.name(), k_comp_circuit(m, a, b)?));
        }
    }
    let subs = m
        .heads
        .iter()
        .map(head_subspaces)
        .collect::<Result<Vec<_>>>()?;
    let idx = |layer: usize, head: usize| layer * cfg.n_heads + head;
    let rs = ranks(cfg.d_head.min(cfg.d_model));
    let mut sub = Subspaces {
        ranks: rs.clone(),
        random_baseline: Vec::new(),
        pathways: Vec::new(),
        same_role: Vec::new(),
    };
    for (i, &r) in rs.iter().enumerate() {
        sub.random_baseline.push(random_overlap(
            cfg.d_model,
            r,
            o.baseline_draws.min(20),
            o.seed + 1 + i as u64,
        )?);
        for (a, b) in &pairs {
            let (sa, sb) = (&subs[idx(a.layer, a.head)], &subs[idx(b.layer, b.head)]);
            sub.pathways.push(PathOverlap {
                earlier: a.name(),
                later: b.name(),
                rank: r,
                k: overlap_at(&sa.ov_write, &sb.qk_key, r)?,
                q: overlap_at(&sa.ov_write, &sb.qk_query, r)?,
                v: overlap_at(&sa.ov_write, &sb.ov_read, r)?,
            });
        }
        let n = subs.len();
        let mut same = SameRole {
            rank: r,
            qk_key: vec![vec![0.0; n]; n],
            ov_write: vec![vec![0.0; n]; n],
        };
        for i in 0..n {
            for j in 0..n {
                same.qk_key[i][j] = overlap_at(&subs[i].qk_key, &subs[j].qk_key, r)?.mean;
                same.ov_write[i][j] = overlap_at(&subs[i].ov_write, &subs[j].ov_write, r)?.mean;
            }
        }
        sub.same_role.push(same);
    }
    file.subspaces = Some(sub);
    Ok((file, mats))
}
