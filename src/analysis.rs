//! A trained run loaded for analysis (`LoadedRun`: config, task, model, its weights read
//! once) and the passes every analysis shares: forward with capture, attention patterns,
//! target log-probs, and the input rows (probe, task rows, user text).
use crate::config::RunConfig;
use crate::detect::Patterns;
use crate::error::{Error, Result};
use crate::given::Given;
use crate::hooks::HeadRef;
use crate::hooks::{HookPoint, Hooks};
use crate::import::tokenizer::HfTokenizer;
use crate::model::config::ModelConfig;
use crate::model::{per_token_loss, Transformer, Weights};
use crate::probe::{Probe, ProbeRequest, Source};
use crate::run_dir::snapshots;
use crate::run_dir::RunDir;
use crate::tasks::{Rows, Split, TaskSpec, Tokenizer};
use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use rand::SeedableRng;
use std::collections::BTreeMap;
use std::path::Path;

/// Hooks that zero-ablate `heads` (their `hook_z`, so their output is nothing but the
/// shared `b_O`) and capture the hooks matching `globs`.
pub fn ablation_hooks(heads: &[HeadRef], globs: &[&str]) -> Result<Hooks> {
    let mut hooks = Hooks::capture(globs);
    for h in heads {
        hooks.zero_ablate_head(HookPoint::Z(h.layer), h.head)?;
    }
    Ok(hooks)
}

/// Forward `rows` through `model` (of `cfg`) with `ablate`'s heads zero-ablated: the
/// attention patterns of every layer, and the logits `[batch, pos, d_vocab_out]`.
pub fn capture_patterns(
    model: &Transformer,
    cfg: &ModelConfig,
    rows: &Rows,
    device: &Device,
    ablate: &[HeadRef],
) -> Result<(Patterns, Tensor)> {
    let tokens = rows.tokens_tensor(device)?;
    let mut hooks = ablation_hooks(ablate, &["blocks.*.attn.hook_pattern"])?;
    let logits = model.forward(&tokens, Some(&mut hooks))?.detach();
    let cache = hooks.take_captured();
    let mut data = Vec::with_capacity(cfg.n_layers);
    for l in 0..cfg.n_layers {
        let p = cache
            .get(&HookPoint::Pattern(l))
            .ok_or_else(|| Error::Invalid(format!("layer {l} produced no attention pattern")))?;
        data.push(p.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?);
    }
    let patterns = Patterns::new(cfg.n_layers, cfg.n_heads, rows.len(), rows.n_ctx, data)?;
    Ok((patterns, logits))
}

/// A run with its config, task and model loaded.
pub struct LoadedRun {
    pub run: RunDir,
    pub cfg: RunConfig,
    pub spec: TaskSpec,
    pub model: Transformer,
    /// The model's parameters by TransformerLens name, read from `model.safetensors` once.
    pub weights: Weights,
    pub device: Device,
    /// The snapshot loaded instead of the final model (`--step`); `run` is then the
    /// snapshot's output folder (`snapshots/step_000500/`), where analyses write.
    pub snapshot: Option<SnapshotAt>,
    /// What the token ids are called: the task's tokenizer, or an imported model's
    /// HuggingFace vocabulary.
    pub labels: Tokenizer,
    /// An imported model: its HuggingFace tokenizer, if it was given one.
    pub imported: Option<Option<HfTokenizer>>,
}

/// Which snapshot `--step` loaded.
#[derive(Debug, Clone)]
pub struct SnapshotAt {
    /// The step asked for.
    pub asked: usize,
    /// The step of the snapshot (the latest at or before `asked`).
    pub step: usize,
    /// The run the snapshot belongs to.
    pub home: RunDir,
}

impl SnapshotAt {
    /// The stderr line naming the model used.
    pub fn note(&self) -> String {
        let which = if self.step == self.asked {
            String::new()
        } else {
            format!(
                " (--step {}: the latest snapshot at or before it)",
                self.asked
            )
        };
        format!(
            "using {} at step {}{which}; outputs go to {}",
            self.home.path.display(),
            self.step,
            snapshots::outputs(&self.home, self.step).display()
        )
    }
}

/// One input row for plot-attn and cache, a phrase naming it ("a fresh induction sample")
/// and a note for stderr (the probe was shortened to fit).
pub struct Input {
    pub rows: Rows,
    pub source: String,
    pub note: Option<String>,
}

impl Input {
    /// Only the first row (plot-attn and view draw one), with a note when there were more.
    pub fn first_row(self) -> Input {
        let n = self.rows.len();
        if n <= 1 {
            return self;
        }
        let note = format!("{n} rows given; showing the first");
        Input {
            rows: self.rows.slice(0..1),
            source: self.source,
            note: Some(match self.note {
                Some(old) => format!("{old}; {note}"),
                None => note,
            }),
        }
    }
}

impl LoadedRun {
    /// Open `--run` (or the newest run) and load its final weights on `device`.
    pub fn open(arg: Option<&Path>, device: Device) -> Result<LoadedRun> {
        LoadedRun::open_at(arg, None, device)
    }

    /// Open `--run` (or the newest run) at `--step`: the latest snapshot at or before that
    /// step (`None`, or the run's last step: the final model).
    pub fn open_at(arg: Option<&Path>, step: Option<usize>, device: Device) -> Result<LoadedRun> {
        let home = RunDir::find(arg)?;
        let cfg = home.load_config()?;
        let spec = cfg.task.spec(cfg.seed)?;
        let (run, weights_path, snapshot) = match step {
            Some(asked) if asked < cfg.train.steps => {
                let (at, path) = snapshots::nearest(&home, asked, cfg.train.steps)?;
                let out = snapshots::outputs(&home, at);
                std::fs::create_dir_all(&out).map_err(Error::io(&out))?;
                let snap = SnapshotAt {
                    asked,
                    step: at,
                    home: home.clone(),
                };
                (RunDir::new(out), path, Some(snap))
            }
            Some(asked) if asked > cfg.train.steps => {
                return Err(Error::Invalid(format!(
                    "--step {asked} is beyond the run: {} trains {} steps",
                    home.path.display(),
                    cfg.train.steps
                )))
            }
            _ => (home.clone(), home.model(), None),
        };
        let weights = Weights::load(&weights_path, &cfg.model, &device, DType::F32)?;
        let model = Transformer::new(
            &cfg.model,
            VarBuilder::from_varmap(&weights.varmap()?, DType::F32, &device),
        )?;
        let imported = match home.path.join(crate::import::IMPORT_JSON).is_file() {
            false => None,
            true => Some(imported_tokenizer(&home)?),
        };
        let labels = match &imported {
            Some(Some(hf)) => hf.labels(cfg.model.d_vocab()),
            Some(None) | None => spec.tokenizer(),
        };
        Ok(LoadedRun {
            run,
            cfg,
            spec,
            model,
            weights,
            device,
            snapshot,
            labels,
            imported,
        })
    }

    /// The names of the token ids (figures, summaries, decoding).
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.labels
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
        capture_patterns(&self.model, &self.cfg.model, rows, &self.device, &[])
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
        let mut tokens = match &self.imported {
            Some(Some(hf)) => hf.encode(text)?,
            Some(None) => {
                return Err(Error::Invalid(format!(
                    "{} was imported without a tokenizer, so text cannot be encoded: pass token ids (--tokens 0,5,17), or import again with --tokenizer tokenizer.json",
                    self.run.path.display()
                )))
            }
            None => self.spec.tokenizer().encode(text)?,
        };
        if self.imported.is_some() {
            if tokens.len() > self.n_ctx() {
                return Err(Error::Invalid(format!(
                    "the text is {} tokens long but the model's context is n_ctx = {}",
                    tokens.len(),
                    self.n_ctx()
                )));
            }
            return Ok(tokens);
        }
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
        probe.rows(self.probe_vocab(), batch, seed)
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

    /// Several texts as rows of token ids (each encoded as `encode_text` does); every text
    /// must give the same number of tokens.
    pub fn encode_texts(&self, texts: &[String]) -> Result<Vec<Vec<u32>>> {
        let rows = texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                self.encode_text(t)
                    .map_err(|e| Error::Invalid(format!("--text #{}: {e}", i + 1)))
            })
            .collect::<Result<Vec<_>>>()?;
        if let Some(bad) = rows.iter().position(|r| r.len() != rows[0].len()) {
            return Err(Error::Invalid(format!(
                "--text #1 is {} tokens and --text #{} is {}: several texts must encode to the same length to make one batch",
                rows[0].len(),
                bad + 1,
                rows[bad].len()
            )));
        }
        Ok(rows)
    }

    /// The user's text or token ids as rows to measure a loss on: each row's targets are its
    /// next tokens, counted at every position but the last. With the rows, a phrase naming
    /// them.
    pub fn given_rows(&self, given: &Given) -> Result<(Rows, String)> {
        let (ids, what) = match given {
            Given::Text(t) => {
                let ids = self
                    .encode_text(t)
                    .map_err(|e| Error::Invalid(format!("--text: {e}")))?;
                let shown: String = t.chars().take(40).collect();
                (vec![ids], format!("the text \"{shown}\""))
            }
            Given::Tokens(rows) => {
                crate::given::check_ids(rows, self.cfg.model.d_vocab(), self.n_ctx())?;
                let n = rows.len();
                (rows.clone(), format!("{n} given row(s) of token ids"))
            }
        };
        let n = ids.first().map_or(0, Vec::len);
        if n < 2 {
            return Err(Error::Invalid(format!(
                "the input is {n} token(s) long: a loss needs at least 2 (a token and its successor)"
            )));
        }
        let d_out = self.cfg.model.d_vocab_out();
        let mut rows = Rows::with_capacity(ids.len(), n);
        for row in &ids {
            let mut targets: Vec<u32> = row[1..].to_vec();
            targets.push(0);
            let mut mask = vec![1.0f32; n];
            mask[n - 1] = 0.0;
            for (p, t) in targets.iter().enumerate() {
                if *t as usize >= d_out {
                    mask[p] = 0.0;
                }
            }
            let targets: Vec<u32> = targets
                .iter()
                .map(|&t| if (t as usize) < d_out { t } else { 0 })
                .collect();
            rows.push_row(row, &targets, &mask);
        }
        Ok((rows, what))
    }

    /// The input rows of plot-attn, cache and view: the user's text or token ids
    /// (Source::Text / Source::Tokens, from `given`), one probe row at the default length
    /// (Source::Probe) or the showcase task row.
    pub fn input_row(&self, source: Source, given: Option<&Given>, seed: u64) -> Result<Input> {
        match (source, given) {
            (Source::Text | Source::Tokens, Some(Given::Tokens(ids))) => {
                crate::given::check_ids(ids, self.cfg.model.d_vocab(), self.n_ctx())?;
                let n = ids.first().map_or(0, Vec::len);
                let mut rows = Rows::new(n);
                for row in ids {
                    rows.push_row(row, row, &vec![0.0; n]);
                }
                let first: Vec<String> = ids[0].iter().take(12).map(u32::to_string).collect();
                let more = if n > 12 { ",…" } else { "" };
                let count = if ids.len() > 1 {
                    format!(" (and {} more rows)", ids.len() - 1)
                } else {
                    String::new()
                };
                Ok(Input {
                    rows,
                    source: format!("tokens [{}{more}]{count}", first.join(",")),
                    note: None,
                })
            }
            (Source::Text | Source::Tokens, None) => Err(Error::Invalid(
                "no input given: pass --text TEXT or --tokens IDS".into(),
            )),
            (Source::Text | Source::Tokens, Some(Given::Text(text))) => {
                let text = text.as_str();
                let tokens = self
                    .encode_text(text)
                    .map_err(|e| Error::Invalid(format!("--text: {e}")))?;
                if tokens.is_empty() {
                    return Err(Error::Invalid(
                        "--text is empty: give at least one token".into(),
                    ));
                }
                let n = tokens.len();
                let rows = Rows {
                    n_ctx: n,
                    targets: tokens.clone(),
                    mask: vec![0.0; n],
                    tokens,
                };
                let shown: String = text.chars().take(40).collect();
                let ellipsis = if text.chars().count() > 40 { "…" } else { "" };
                Ok(Input {
                    rows,
                    source: format!("\"{shown}{ellipsis}\""),
                    note: None,
                })
            }
            (Source::Probe, _) => {
                let (probe, note) = ProbeRequest::default().fit(self.n_ctx())?;
                Ok(Input {
                    rows: self.probe_rows(probe, 1, seed)?,
                    source: format!("the repeat probe (T = {}, k = {})", probe.t, probe.k),
                    note,
                })
            }
            (Source::Task, _) => Ok(Input {
                rows: self.showcase_row(seed),
                source: format!("a fresh {} sample", self.cfg.task.task()),
                note: None,
            }),
        }
    }
}

/// The tokenizer of an imported run (`tokenizer.json` beside `import.json`), with
/// TransformerLens's `default_prepend_bos` from its `tl_config.json` (default true).
fn imported_tokenizer(home: &RunDir) -> Result<Option<HfTokenizer>> {
    let path = home.path.join(crate::run_dir::vocab::HF_TOKENIZER);
    if !path.is_file() {
        return Ok(None);
    }
    let prepend = std::fs::read_to_string(home.tl_config())
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| {
            v.get("default_prepend_bos")
                .and_then(serde_json::Value::as_bool)
        })
        .unwrap_or(true);
    Ok(Some(HfTokenizer::load(&path, prepend)?))
}
