//! Loading a trained run for analysis, and the analysis passes the commands share:
//! forward with pattern capture, the repeated-token probe, detector scoring, log-probs.
use crate::config::RunConfig;
use crate::detect::tl::{self, TlReport};
use crate::detect::{score_all, HeadsReport, Patterns, Probe, Thresholds};
use crate::error::{Error, Result};
use crate::hooks::{HookPoint, Hooks};
use crate::model::{load_weights, per_token_loss, Transformer};
use crate::run_dir::RunDir;
use crate::tasks::{repeated, Rows, Split, TaskSpec};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// A run with its config, task and model loaded.
pub struct LoadedRun {
    pub run: RunDir,
    pub cfg: RunConfig,
    pub spec: TaskSpec,
    pub model: Transformer,
    pub device: Device,
}

impl LoadedRun {
    /// Open `--run` (or the newest run) and load its weights on `device`.
    pub fn open(arg: Option<&Path>, device: Device) -> Result<LoadedRun> {
        let run = RunDir::find(arg)?;
        let cfg = run.load_config()?;
        let spec = cfg.task.spec(cfg.seed)?;
        let varmap = load_weights(&run.model(), &cfg.model, &device, DType::F32)?;
        let model = Transformer::new(
            &cfg.model,
            VarBuilder::from_varmap(&varmap, DType::F32, &device),
        )?;
        Ok(LoadedRun {
            run,
            cfg,
            spec,
            model,
            device,
        })
    }

    /// Context length of the model.
    pub fn n_ctx(&self) -> usize {
        self.cfg.model.n_ctx()
    }

    /// Forward `rows` capturing the hooks matching `globs`: logits `[batch, pos, d_vocab_out]`
    /// and the captured activations.
    pub fn run_with_cache(
        &self,
        rows: &Rows,
        globs: &[&str],
    ) -> Result<(Tensor, BTreeMap<HookPoint, Tensor>)> {
        let tokens = rows.tokens_tensor(&self.device)?;
        let mut hooks = Hooks::capture(globs);
        let logits = self.model.forward(&tokens, Some(&mut hooks))?.detach();
        Ok((logits, hooks.take_captured()))
    }

    /// Attention patterns of every layer on `rows`, plus the logits.
    pub fn patterns(&self, rows: &Rows) -> Result<(Patterns, Tensor)> {
        let (logits, cache) = self.run_with_cache(rows, &["blocks.*.attn.hook_pattern"])?;
        let m = &self.cfg.model;
        let mut data = Vec::with_capacity(m.n_layers);
        for l in 0..m.n_layers {
            let p = cache.get(&HookPoint::Pattern(l)).ok_or_else(|| {
                Error::Invalid(format!("layer {l} produced no attention pattern"))
            })?;
            data.push(p.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?);
        }
        let patterns = Patterns::new(m.n_layers, m.n_heads, rows.len(), rows.n_ctx, data)?;
        Ok((patterns, logits))
    }

    /// Per-position log-prob of each row's target, `[batch, pos]` row-major.
    pub fn target_logprobs(&self, logits: &Tensor, rows: &Rows) -> Result<Vec<f32>> {
        let targets = rows.targets_tensor(&self.device)?;
        let loss = per_token_loss(logits, &targets)?;
        Ok(loss
            .flatten_all()?
            .to_vec1::<f32>()?
            .into_iter()
            .map(|l| -l)
            .collect())
    }

    /// Encode user text for the model: the task's begin token is prepended when the text
    /// does not start with it (induction, skip-trigrams and repeated rows all open with one).
    pub fn encode_text(&self, text: &str) -> Result<Vec<u32>> {
        let mut tokens = self.spec.tokenizer().encode(text)?;
        if let Some(b) = self.spec.task().begin_token() {
            if tokens.first() != Some(&b) {
                tokens.insert(0, b);
            }
        }
        if tokens.len() > self.n_ctx() {
            return Err(Error::Invalid(format!(
                "the text is {} tokens long but the model's context is n_ctx = {}",
                tokens.len(),
                self.n_ctx()
            )));
        }
        Ok(tokens)
    }

    /// One fresh held-out row, the one with the most distinct tokens among 64 draws
    /// (a degenerate sample such as `abbbbbb...` shows little of a pattern).
    pub fn showcase_row(&self, seed: u64) -> Rows {
        let rows = self.task_rows(64, seed);
        let best = (0..rows.len())
            .max_by_key(|&i| {
                let mut t = rows.row(i).to_vec();
                t.sort_unstable();
                t.dedup();
                (t.len(), usize::MAX - i)
            })
            .unwrap_or(0);
        rows.slice(best..best + 1)
    }

    /// `batch` rows of the repeat probe `[BOS] + r*k` for this model, seeded: r is drawn
    /// from `1..probe_vocab` (tokens that are both inputs and prediction targets).
    pub fn probe_rows(&self, probe: Probe, batch: usize, seed: u64) -> Result<Rows> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        repeated::probe(self.probe_vocab(), probe.t, probe.k, batch, &mut rng)
    }

    /// Exclusive upper bound of the probe's tokens: `min(d_vocab, d_vocab_out)`, so that
    /// every probe token is a valid input and a valid target (addition and skip-trigrams
    /// predict fewer tokens than they read).
    pub fn probe_vocab(&self) -> usize {
        let m = &self.cfg.model;
        m.d_vocab().min(m.d_vocab_out())
    }

    /// `batch` fresh held-out rows of the run's task.
    pub fn task_rows(&self, batch: usize, seed: u64) -> Rows {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        self.spec.generate(batch, Split::Test, &mut rng)
    }
}

/// Seed 001's probe length T.
pub const DEFAULT_PROBE_LEN: usize = 50;

/// The repeat probe fitted to a model: `T` is capped so that `1 + T*k <= n_ctx`.
/// Returns the probe and, when it had to be shortened, a note saying so.
pub fn fit_probe(n_ctx: usize, t: usize, k: usize) -> Result<(Probe, Option<String>)> {
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

/// The probe `[BOS] + r*k` of `--probe-len T` / `--repeats k` on a model of context `n_ctx`:
/// an explicit T must fit (refused otherwise, naming the largest that does); the default
/// T = 50 is shortened to fit, with a note for stderr. At least 2 copies.
pub fn probe_for(
    n_ctx: usize,
    probe_len: Option<usize>,
    repeats: usize,
) -> Result<(Probe, Option<String>)> {
    check_repeats(repeats)?;
    let t = match probe_len {
        None => DEFAULT_PROBE_LEN,
        Some(t) => {
            let need = 1u128 + t as u128 * repeats as u128;
            let largest = n_ctx.saturating_sub(1) / repeats;
            // (When not even T = 1 fits, `fit_probe` names --repeats as the culprit.)
            if need > n_ctx as u128 && largest >= 1 {
                return Err(Error::Invalid(format!(
                    "--probe-len {t} with --repeats {repeats} needs 1 + {t}*{repeats} = {need} positions but the model's n_ctx is {n_ctx}; use --probe-len {largest} or less"
                )));
            }
            t
        }
    };
    fit_probe(n_ctx, t, repeats)
}

/// Refuse a probe of fewer than 2 copies (every probe figure, induction scores included,
/// reads the copies after copy 0).
pub fn check_repeats(repeats: usize) -> Result<()> {
    if repeats < 2 {
        return Err(Error::Invalid(format!("--repeats {repeats}: the probe needs at least 2 copies of r (its scores compare copy 0 with the copies after it); expected --repeats >= 2")));
    }
    Ok(())
}

/// The seed-001 probe figure: mean log-prob of the predicted tokens in the first copy vs in
/// the later copies, and the mean log-prob per position.
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
pub fn probe_logprobs(lp: &[f32], batch: usize, probe: Probe, vocab: usize) -> ProbeLogprobs {
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
        match repeated::probe_copy_of(p + 1, probe.t) {
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

/// `heads.json`'s `schema_version`. 2: `tl_detect_head` added; a not-applicable score
/// (no query counted, e.g. first_token under exclude_bos) is `null` instead of 0.
pub const HEADS_SCHEMA_VERSION: u32 = 2;

/// What `heads.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HeadsFile {
    pub schema_version: u32,
    pub run: String,
    pub task: String,
    /// A sentence saying what the patterns were computed on.
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(flatten)]
    pub report: HeadsReport,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<ProbeLogprobs>,
    /// TransformerLens `detect_head` scores on the same patterns and tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tl_detect_head: Option<TlReport>,
}

/// Options of `detect-heads`.
#[derive(Debug, Clone)]
pub struct DetectOptions {
    /// `None`: the default T = 50, shortened to fit the model; `Some(T)`: must fit.
    pub probe_len: Option<usize>,
    pub repeats: usize,
    pub batch: usize,
    pub seed: u64,
    /// Score on fresh task rows (token-based duplicate/induction) instead of the probe.
    pub on_task: bool,
    pub thresholds: Thresholds,
}

/// Run the probe (or task data) through the model and score every head.
pub fn detect_heads(lr: &LoadedRun, o: &DetectOptions) -> Result<(HeadsFile, Patterns, Rows)> {
    if o.batch == 0 {
        return Err(Error::Invalid(
            "--batch 0: expected at least 1 probe row".into(),
        ));
    }
    let vocab = lr.probe_vocab();
    let run = lr.run.path.display().to_string();
    let task = lr.cfg.task.task().to_string();
    if o.on_task {
        let rows = lr.task_rows(o.batch, o.seed);
        let (patterns, _) = lr.patterns(&rows)?;
        let scores = score_all(&patterns, &rows.tokens, None)?;
        let tl_detect_head = Some(tl::score_batch(&patterns, &rows.tokens)?);
        let report = HeadsReport::new("task", None, rows.len(), o.thresholds, scores);
        let description = format!("{} fresh held-out rows of the {task} task ({} positions); duplicate/induction targets from the tokens", rows.len(), rows.n_ctx);
        return Ok((
            HeadsFile {
                schema_version: HEADS_SCHEMA_VERSION,
                run,
                task,
                description,
                note: None,
                report,
                logprobs: None,
                tl_detect_head,
            },
            patterns,
            rows,
        ));
    }
    let (probe, note) = probe_for(lr.n_ctx(), o.probe_len, o.repeats)?;
    let rows = lr.probe_rows(probe, o.batch, o.seed)?;
    let (patterns, logits) = lr.patterns(&rows)?;
    let scores = score_all(&patterns, &rows.tokens, Some(probe))?;
    let tl_detect_head = Some(tl::score_batch(&patterns, &rows.tokens)?);
    let lp = lr.target_logprobs(&logits, &rows)?;
    let logprobs = probe_logprobs(&lp, rows.len(), probe, vocab);
    let report = HeadsReport::new("probe", Some(probe), rows.len(), o.thresholds, scores);
    let description = format!(
        "repeated-token probe [BOS] + r*{}, r = {} tokens uniform in 1..{vocab}, {} rows, seed {}",
        probe.k,
        probe.t,
        rows.len(),
        o.seed
    );
    Ok((
        HeadsFile {
            schema_version: HEADS_SCHEMA_VERSION,
            run,
            task,
            description,
            note,
            report,
            logprobs: Some(logprobs),
            tl_detect_head,
        },
        patterns,
        rows,
    ))
}
