//! `patch`: activation patching from a clean to a corrupted input, as TransformerLens's
//! `patching.get_act_patch_*` and ARENA do: run the corrupted input with one activation
//! (one layer's residual stream or block output at one position, one head's `hook_z` or
//! `hook_pattern` at every position) replaced by its value on the clean input, and measure
//! the metric (the logit difference between the clean and the corrupted answer at one
//! position, or the clean input's loss). -> `PatchReport` (`patch.json`, raw metric and
//! the fraction recovered) and `plots/patch_<kind>.png`.
//!
//! Patches are batched: every patch of one hook is one row of a corrupted batch, and the
//! edit takes the clean value where that row's mask is 1 (`x (1 - M) + clean M`, exact).
use crate::analysis::LoadedRun;
use crate::error::{Error, Result};
use crate::given::Given;
use crate::hooks::{Edit, HookPoint, Hooks};
use crate::model::loss::per_token_loss;
use crate::plot::{heatmap, Colormap, Heatmap};
use crate::probe::ProbeRequest;
use crate::report::{drawing, write_json, Outputs, Report};
use candle_core::{DType, IndexOp, Tensor};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// `patch.json`'s `schema_version`.
pub const SCHEMA_VERSION: u32 = 1;

/// Most patched rows in one forward pass.
const CHUNK: usize = 32;

/// What is patched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PatchKind {
    /// `blocks.L.hook_resid_pre` at one position: `[n_layers, pos]`
    /// (`get_act_patch_resid_pre`).
    ResidPre,
    /// `blocks.L.hook_attn_out` at one position: `[n_layers, pos]`.
    AttnOut,
    /// `blocks.L.hook_mlp_out` at one position: `[n_layers, pos]` (models with MLPs).
    MlpOut,
    /// `blocks.L.attn.hook_z` of one head at every position: `[n_layers, n_heads]`
    /// (`get_act_patch_attn_head_out_all_pos`).
    HeadOut,
    /// `blocks.L.attn.hook_pattern` of one head: `[n_layers, n_heads]`
    /// (`get_act_patch_attn_head_pattern_all_pos`).
    HeadPattern,
}

impl PatchKind {
    /// Every kind, in report order.
    pub const ALL: [PatchKind; 5] = [
        PatchKind::ResidPre,
        PatchKind::AttnOut,
        PatchKind::MlpOut,
        PatchKind::HeadOut,
        PatchKind::HeadPattern,
    ];

    /// The name on the command line and in `patch.json`.
    pub fn name(self) -> &'static str {
        match self {
            PatchKind::ResidPre => "resid_pre",
            PatchKind::AttnOut => "attn_out",
            PatchKind::MlpOut => "mlp_out",
            PatchKind::HeadOut => "head_out",
            PatchKind::HeadPattern => "head_pattern",
        }
    }

    /// The hook of layer `l` this kind patches.
    fn hook(self, l: usize) -> HookPoint {
        match self {
            PatchKind::ResidPre => HookPoint::ResidPre(l),
            PatchKind::AttnOut => HookPoint::AttnOut(l),
            PatchKind::MlpOut => HookPoint::MlpOut(l),
            PatchKind::HeadOut => HookPoint::Z(l),
            PatchKind::HeadPattern => HookPoint::Pattern(l),
        }
    }

    /// Whether the columns are heads (else positions).
    fn per_head(self) -> bool {
        match self {
            PatchKind::HeadOut | PatchKind::HeadPattern => true,
            PatchKind::ResidPre | PatchKind::AttnOut | PatchKind::MlpOut => false,
        }
    }
}

impl std::str::FromStr for PatchKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<PatchKind> {
        let norm = s.trim().replace('-', "_");
        PatchKind::ALL
            .into_iter()
            .find(|k| k.name() == norm)
            .ok_or_else(|| {
                let names: Vec<&str> = PatchKind::ALL.iter().map(|k| k.name()).collect();
                Error::Invalid(format!(
                    "unknown patch kind {s:?}: expected one of {}",
                    names.join(", ")
                ))
            })
    }
}

/// What is measured on each patched run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// `logits[pos, answer] - logits[pos, wrong]`.
    LogitDiff,
    /// Mean cross-entropy of the clean input's next tokens (every position but the last).
    Loss,
}

impl Metric {
    pub fn name(self) -> &'static str {
        match self {
            Metric::LogitDiff => "logit_diff",
            Metric::Loss => "loss",
        }
    }
}

/// The two inputs: token rows of the same length.
#[derive(Debug, Clone)]
pub struct PatchInput {
    pub clean: Vec<u32>,
    pub corrupt: Vec<u32>,
    /// A phrase naming where they came from.
    pub source: String,
}

/// Where the two inputs come from.
#[derive(Debug, Clone)]
pub enum PatchSource {
    /// Clean: one row of the repeat probe `[BOS] + r*k`; corrupted: the same row with every
    /// copy after the first replaced by other random tokens (the fixtures' recipe).
    Probe(ProbeRequest),
    /// Two fresh held-out rows of the run's task.
    Sample,
    /// The user's two inputs (text or token ids; one row each).
    Given { clean: Given, corrupt: Given },
}

/// The clean and corrupted rows of `source`, and a note (the probe was shortened).
pub fn input(
    lr: &LoadedRun,
    source: &PatchSource,
    seed: u64,
) -> Result<(PatchInput, Option<String>)> {
    match source {
        PatchSource::Probe(req) => {
            let (probe, note) = req.fit(lr.n_ctx())?;
            let vocab = lr.probe_vocab();
            let rows = lr.probe_rows(probe, 1, seed)?;
            let clean = rows.row(0).to_vec();
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x9e37_79b9_7f4a_7c15);
            let mut corrupt = clean.clone();
            for p in 1 + probe.t..clean.len() {
                // Another token than the clean one at the same place.
                let mut t = rng.random_range(1..vocab as u32);
                while t == clean[p] && vocab > 2 {
                    t = rng.random_range(1..vocab as u32);
                }
                corrupt[p] = t;
            }
            let source = format!(
                "clean: {}; corrupted: the copies after the first replaced by other random tokens",
                probe.describe(vocab, 1, seed)
            );
            Ok((
                PatchInput {
                    clean,
                    corrupt,
                    source,
                },
                note,
            ))
        }
        PatchSource::Sample => {
            let rows = lr.task_rows(2, seed);
            let input = PatchInput {
                clean: rows.row(0).to_vec(),
                corrupt: rows.row(1).to_vec(),
                source: format!("two fresh {} rows, seed {seed}", lr.cfg.task.task()),
            };
            Ok((input, None))
        }
        PatchSource::Given { clean, corrupt } => {
            let one = |g: &Given, what: &str| -> Result<Vec<u32>> {
                match g {
                    Given::Text(t) => lr
                        .encode_text(t)
                        .map_err(|e| Error::Invalid(format!("--{what}: {e}"))),
                    Given::Tokens(rows) => match rows.as_slice() {
                        [row] => {
                            crate::given::check_ids(rows, lr.cfg.model.d_vocab(), lr.n_ctx())?;
                            Ok(row.clone())
                        }
                        _ => Err(Error::Invalid(format!(
                            "--{what}-tokens gives {} rows: expected one",
                            rows.len()
                        ))),
                    },
                }
            };
            let input = PatchInput {
                clean: one(clean, "clean")?,
                corrupt: one(corrupt, "corrupt")?,
                source: "the given clean and corrupted inputs".into(),
            };
            Ok((input, None))
        }
    }
}

/// Options of `patch`.
#[derive(Debug, Clone)]
pub struct PatchOptions {
    pub kinds: Vec<PatchKind>,
    pub metric: Metric,
    /// The position whose prediction the logit difference reads (default: the one before the
    /// last, which predicts the last token).
    pub pos: Option<usize>,
    /// The clean answer (default: the clean token after `pos`).
    pub answer: Option<u32>,
    /// The corrupted answer (default: the corrupted token after `pos`).
    pub wrong: Option<u32>,
}

/// One kind's results: `values[layer][col]`, the metric with that activation patched, and
/// `recovered`, `(value - corrupt) / (clean - corrupt)`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PatchResult {
    pub kind: PatchKind,
    pub hook: String,
    /// "position" or "head".
    pub columns: String,
    pub values: Vec<Vec<f64>>,
    pub recovered: Vec<Vec<f64>>,
}

/// What `patch.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PatchReport {
    pub schema_version: u32,
    pub run: String,
    pub source: String,
    pub description: String,
    pub clean: Vec<u32>,
    pub corrupt: Vec<u32>,
    /// Tick labels of the clean tokens.
    pub clean_labels: Vec<String>,
    pub metric: Metric,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pos: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wrong: Option<u32>,
    pub clean_metric: f64,
    pub corrupt_metric: f64,
    pub results: Vec<PatchResult>,
}

/// The metric's reading position and answers, resolved against the inputs.
#[derive(Debug, Clone, Copy)]
struct Resolved {
    metric: Metric,
    pos: usize,
    answer: u32,
    wrong: u32,
}

fn resolve(lr: &LoadedRun, input: &PatchInput, o: &PatchOptions) -> Result<Resolved> {
    let n = input.clean.len();
    if n < 2 {
        return Err(Error::Invalid(format!(
            "the inputs are {n} token(s) long: patching needs at least 2"
        )));
    }
    if input.corrupt.len() != n {
        return Err(Error::Invalid(format!(
            "the clean input is {n} tokens long and the corrupted one {}: they must be the same length",
            input.corrupt.len()
        )));
    }
    let pos = o.pos.unwrap_or(n - 2);
    if pos >= n {
        return Err(Error::Invalid(format!(
            "--pos {pos} is out of range: the inputs have positions 0..{}",
            n - 1
        )));
    }
    let next = |row: &[u32], what: &str, flag: &str| {
        row.get(pos + 1).copied().ok_or_else(|| {
            Error::Invalid(format!(
                "--pos {pos} is the last position, so there is no {what} token after it; pass {flag}"
            ))
        })
    };
    let (answer, wrong) = match o.metric {
        Metric::Loss => (0, 0),
        Metric::LogitDiff => {
            let a = match o.answer {
                Some(a) => a,
                None => next(&input.clean, "clean", "--answer")?,
            };
            let w = match o.wrong {
                Some(w) => w,
                None => next(&input.corrupt, "corrupted", "--wrong")?,
            };
            let d_out = lr.cfg.model.d_vocab_out();
            for (flag, t) in [("--answer", a), ("--wrong", w)] {
                if t as usize >= d_out {
                    return Err(Error::Invalid(format!(
                        "{flag} {t} is out of range: the model predicts tokens 0..{}",
                        d_out - 1
                    )));
                }
            }
            if a == w {
                return Err(Error::Invalid(format!(
                    "the clean and corrupted answers are the same token ({a}), so their logit difference is 0; pass --answer and --wrong, or --metric loss"
                )));
            }
            (a, w)
        }
    };
    Ok(Resolved {
        metric: o.metric,
        pos,
        answer,
        wrong,
    })
}

/// The metric of each row of `logits` `[batch, pos, d_vocab_out]`.
fn metric_rows(logits: &Tensor, r: Resolved, clean: &[u32]) -> Result<Vec<f64>> {
    let (batch, n, _) = logits.dims3()?;
    match r.metric {
        Metric::LogitDiff => {
            let at = logits.i((.., r.pos, ..))?.to_dtype(DType::F64)?;
            let a = at.i((.., r.answer as usize))?.to_vec1::<f64>()?;
            let w = at.i((.., r.wrong as usize))?.to_vec1::<f64>()?;
            Ok(a.iter().zip(&w).map(|(a, w)| a - w).collect())
        }
        Metric::Loss => {
            let mut targets: Vec<u32> = clean[1..].to_vec();
            targets.push(0);
            let t = Tensor::new(targets.as_slice(), logits.device())?
                .unsqueeze(0)?
                .repeat((batch, 1))?;
            let loss = per_token_loss(logits, &t)?
                .narrow(1, 0, n - 1)?
                .to_dtype(DType::F64)?
                .mean(1)?;
            Ok(loss.to_vec1::<f64>()?)
        }
    }
}

/// Run the corrupted input once per mask row of `mask` (broadcastable to `[rows, ..]` of the
/// activation at `hp`), taking the clean activation where the mask is 1.
fn patched(
    lr: &LoadedRun,
    corrupt: &Tensor,
    hp: HookPoint,
    clean_act: &Tensor,
    mask: Tensor,
    r: Resolved,
    clean: &[u32],
) -> Result<Vec<f64>> {
    let rows = mask.dim(0)?;
    let tokens = corrupt.repeat((rows, 1))?;
    let clean_act = clean_act.clone();
    let keep = mask.affine(-1.0, 1.0)?;
    let mut hooks = Hooks::new();
    hooks.add_edit(
        hp,
        Edit::Custom(Box::new(move |x: &Tensor| {
            let mixed = (x.broadcast_mul(&keep)?
                + clean_act.broadcast_as(x.shape())?.broadcast_mul(&mask)?)?;
            Ok(mixed)
        })),
    );
    let logits = lr.model.forward(&tokens, Some(&mut hooks))?;
    metric_rows(&logits, r, clean)
}

/// The mask rows `[count, ...]` selecting cell `i` in row `i`: along `dim` of an activation
/// of `rank` dims whose size there is `count`.
fn one_hot_masks(
    start: usize,
    len: usize,
    count: usize,
    dim: usize,
    rank: usize,
    dev: &candle_core::Device,
) -> Result<Tensor> {
    let mut v = vec![0f32; len * count];
    for i in 0..len {
        v[i * count + start + i] = 1.0;
    }
    let mut shape = vec![1usize; rank];
    shape[0] = len;
    shape[dim] = count;
    Ok(Tensor::from_vec(v, shape, dev)?)
}

/// Patch every cell of every kind asked.
pub fn run(lr: &LoadedRun, input: &PatchInput, o: &PatchOptions) -> Result<PatchReport> {
    let r = resolve(lr, input, o)?;
    let m = &lr.cfg.model;
    let n = input.clean.len();
    if n > lr.n_ctx() {
        return Err(Error::Invalid(format!(
            "the inputs are {n} tokens long but the model's context is n_ctx = {}",
            lr.n_ctx()
        )));
    }
    for (what, row) in [("clean", &input.clean), ("corrupted", &input.corrupt)] {
        if let Some(t) = row.iter().find(|&&t| t as usize >= m.d_vocab()) {
            return Err(Error::Invalid(format!(
                "the {what} input holds token {t}, beyond the model's vocabulary 0..{}",
                m.d_vocab() - 1
            )));
        }
    }
    let kinds: Vec<PatchKind> = if o.kinds.is_empty() {
        let mut k = vec![
            PatchKind::ResidPre,
            PatchKind::HeadOut,
            PatchKind::HeadPattern,
        ];
        if !m.attn_only {
            k.insert(1, PatchKind::MlpOut);
            k.insert(1, PatchKind::AttnOut);
        }
        k
    } else {
        o.kinds.clone()
    };
    if m.attn_only && kinds.contains(&PatchKind::MlpOut) {
        return Err(Error::Invalid(
            "mlp_out: the model is attention-only and has no MLP".into(),
        ));
    }
    let dev = &lr.device;
    let clean_t = Tensor::new(input.clean.as_slice(), dev)?.unsqueeze(0)?;
    let corrupt_t = Tensor::new(input.corrupt.as_slice(), dev)?.unsqueeze(0)?;
    let names: Vec<String> = kinds
        .iter()
        .flat_map(|k| (0..m.n_layers).map(move |l| k.hook(l).to_string()))
        .collect();
    let globs: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut hooks = Hooks::capture(&globs);
    let clean_logits = lr.model.forward(&clean_t, Some(&mut hooks))?;
    let cache = hooks.take_captured();
    let clean_metric = metric_rows(&clean_logits, r, &input.clean)?[0];
    let corrupt_metric = metric_rows(&lr.model.forward(&corrupt_t, None)?, r, &input.clean)?[0];
    let span = clean_metric - corrupt_metric;
    let mut results = Vec::new();
    for kind in kinds {
        let mut values = Vec::with_capacity(m.n_layers);
        for l in 0..m.n_layers {
            let hp = kind.hook(l);
            let act = cache.get(&hp).ok_or_else(|| {
                Error::Invalid(format!("{hp} was not captured on the clean input"))
            })?;
            // Heads: dim 2 of hook_z [batch, pos, head, d_head], dim 1 of hook_pattern
            // [batch, head, q, k]; positions: dim 1 of [batch, pos, d_model].
            let (count, dim) = match kind {
                PatchKind::HeadOut => (m.n_heads, 2),
                PatchKind::HeadPattern => (m.n_heads, 1),
                PatchKind::ResidPre | PatchKind::AttnOut | PatchKind::MlpOut => (n, 1),
            };
            let mut row = Vec::with_capacity(count);
            let mut start = 0;
            while start < count {
                let len = CHUNK.min(count - start);
                let mask = one_hot_masks(start, len, count, dim, act.rank(), dev)?;
                row.extend(patched(lr, &corrupt_t, hp, act, mask, r, &input.clean)?);
                start += len;
            }
            values.push(row);
        }
        let recovered = values
            .iter()
            .map(|row| {
                row.iter()
                    .map(|v| {
                        if span == 0.0 {
                            f64::NAN
                        } else {
                            (v - corrupt_metric) / span
                        }
                    })
                    .collect()
            })
            .collect();
        results.push(PatchResult {
            kind,
            hook: kind.hook(0).to_string().replace("blocks.0.", "blocks.L."),
            columns: if kind.per_head() { "head" } else { "position" }.into(),
            values,
            recovered,
        });
    }
    let labels = lr.tokenizer().labels(&input.clean);
    let what = match r.metric {
        Metric::LogitDiff => format!(
            "logit difference logits[{}, {}] - logits[{}, {}] (clean answer {} vs corrupted {})",
            r.pos,
            r.answer,
            r.pos,
            r.wrong,
            lr.tokenizer().label(r.answer),
            lr.tokenizer().label(r.wrong)
        ),
        Metric::Loss => "mean loss of the clean input's next tokens".to_string(),
    };
    let (pos, answer, wrong) = match r.metric {
        Metric::LogitDiff => (Some(r.pos), Some(r.answer), Some(r.wrong)),
        Metric::Loss => (None, None, None),
    };
    Ok(PatchReport {
        schema_version: SCHEMA_VERSION,
        run: lr.run.path.display().to_string(),
        description: format!(
            "activation patching from the clean to the corrupted input ({}); metric: {what}; recovered = (patched - corrupted) / (clean - corrupted)",
            input.source
        ),
        source: input.source.clone(),
        clean: input.clean.clone(),
        corrupt: input.corrupt.clone(),
        clean_labels: labels,
        metric: r.metric,
        pos,
        answer,
        wrong,
        clean_metric,
        corrupt_metric,
        results,
    })
}

impl PatchReport {
    /// Write `patch.json` and one `plots/patch_<kind>.png` per kind; returns the paths.
    pub fn write(&self, lr: &LoadedRun) -> Result<Vec<PathBuf>> {
        let mut outputs = Outputs::new();
        let plots = outputs.dir(&lr.run.plots())?;
        let mut wrote = Vec::new();
        for res in &self.results {
            let png = outputs.file(&plots.join(format!("patch_{}.png", res.kind.name())));
            let rows = res.recovered.len();
            let cols = res.recovered.first().map_or(0, Vec::len);
            let values: Vec<f32> = res.recovered.iter().flatten().map(|&v| v as f32).collect();
            let x_ticks = if res.columns == "head" {
                Vec::new()
            } else {
                self.clean_labels
                    .iter()
                    .enumerate()
                    .map(|(p, l)| format!("{p} {l}"))
                    .collect()
            };
            let h = Heatmap {
                title: format!(
                    "Patching {} from clean to corrupted: {} recovered",
                    res.hook,
                    self.metric.name()
                ),
                x_label: if res.columns == "head" {
                    "head".into()
                } else {
                    "position (clean token)".into()
                },
                y_label: "layer".into(),
                x_ticks,
                y_ticks: Vec::new(),
                values,
                rows,
                cols,
                range: None,
                hide_upper: false,
                annotate: true,
                colormap: Colormap::RdBu,
                colorbar_label: "fraction recovered".into(),
            };
            drawing(&png, heatmap(&png, &h))?;
            wrote.push(png);
        }
        let json = lr.run.path.join("patch.json");
        write_json(&outputs.file(&json), self)?;
        outputs.keep();
        wrote.insert(0, json);
        Ok(wrote)
    }
}

impl Report for PatchReport {
    const SCHEMA_VERSION: u32 = SCHEMA_VERSION;

    fn human(&self) -> Vec<String> {
        let mut out = vec![
            self.description.clone(),
            format!(
                "{} clean {:.4}, corrupted {:.4}",
                self.metric.name(),
                self.clean_metric,
                self.corrupt_metric
            ),
        ];
        for res in &self.results {
            // The cell that recovers the most.
            let best = res
                .recovered
                .iter()
                .enumerate()
                .flat_map(|(l, row)| row.iter().enumerate().map(move |(c, v)| (l, c, *v)))
                .filter(|(_, _, v)| v.is_finite())
                .max_by(|a, b| a.2.total_cmp(&b.2));
            if let Some((l, c, v)) = best {
                out.push(format!(
                    "{:<13} most recovered: layer {l} {} {c}: {:.3} ({} {:.4})",
                    res.kind.name(),
                    res.columns,
                    v,
                    self.metric.name(),
                    res.values[l][c]
                ));
            }
        }
        out
    }
}
