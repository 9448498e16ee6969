//! `indu import`: a model trained in TransformerLens (its state dict as `.safetensors` or as
//! a PyTorch `.pth`/`.pt` pickle, plus its `HookedTransformerConfig` as JSON) written as an
//! ordinary run directory, so that every analysis command opens it. The run's task is the
//! repeated-random-token task over the model's vocabulary (TransformerLens's
//! `generate_repeated_tokens`): the model's own training data is unknown, and that task is
//! what the probes and `--on task` need. Nothing is left behind on failure: the run is
//! written to a sibling temporary directory and renamed into place.
use crate::config::{RunConfig, TrainConfig};
use crate::error::{Error, Result};
use crate::model::config::ModelConfig;
use crate::model::{save_weights, state_dict_varmap};
use crate::report::{atomic_write, write_json, Report};
use crate::tasks::repeated::RepeatedConfig;
use crate::tasks::TaskConfig;
use candle_core::{DType, Device};
use serde::Serialize;
use std::path::{Path, PathBuf};

pub mod pth;
pub mod tl_config;
pub mod tokenizer;

/// The provenance file an import writes into the run.
pub const IMPORT_JSON: &str = "import.json";

/// The checkpoint formats read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// A safetensors state dict.
    Safetensors,
    /// A PyTorch `torch.save` zip pickle (`.pth`, `.pt`, `.bin`).
    Pth,
}

impl Format {
    /// The format of `path`, by its extension.
    pub fn of(path: &Path) -> Result<Format> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("safetensors") => Ok(Format::Safetensors),
            Some("pth" | "pt" | "bin") => Ok(Format::Pth),
            _ => Err(Error::Invalid(format!(
                "{}: expected a .safetensors or .pth/.pt state dict",
                path.display()
            ))),
        }
    }
}

/// What to import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The state dict.
    pub weights: PathBuf,
    /// `HookedTransformerConfig.to_dict()` as JSON.
    pub tl_config: PathBuf,
    /// The run directory to write (must not exist, or be empty).
    pub out: PathBuf,
    /// Replace an existing `out` that holds an earlier import or run.
    pub force: bool,
    /// A HuggingFace `tokenizer.json` for `--text` (kept in the run as `tokenizer.json`).
    pub tokenizer: Option<PathBuf>,
}

/// What was imported.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    pub schema_version: u32,
    pub run: PathBuf,
    pub weights: PathBuf,
    pub format: Format,
    pub tl_config: PathBuf,
    pub n_layers: usize,
    pub n_heads: usize,
    pub d_model: usize,
    pub d_vocab: usize,
    pub n_ctx: usize,
    pub positional: String,
    pub attn_only: bool,
    pub normalization: String,
    pub n_params: usize,
    /// The tokenizer given (`tokenizer.json` in the run), or none: `--text` then needs one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<PathBuf>,
}

impl Report for ImportReport {
    const SCHEMA_VERSION: u32 = 1;
    fn human(&self) -> Vec<String> {
        vec![
            format!(
                "imported {} ({}): {} layers x {} heads, d_model {}, d_vocab {}, n_ctx {}, {} positions, {}{}, {} parameters",
                self.weights.display(),
                match self.format {
                    Format::Safetensors => "safetensors",
                    Format::Pth => "PyTorch pickle",
                },
                self.n_layers,
                self.n_heads,
                self.d_model,
                self.d_vocab,
                self.n_ctx,
                self.positional,
                if self.attn_only { "attention-only" } else { "with MLPs" },
                if self.normalization == "none" { String::new() } else { format!(", {}", self.normalization) },
                self.n_params
            ),
            match &self.tokenizer {
                Some(t) => format!("tokenizer {}: --text is encoded with it", t.display()),
                None => "no tokenizer: give inputs as token ids (--tokens), or import again with --tokenizer tokenizer.json for --text".to_string(),
            },
            format!(
                "run {}: try `indu detect-heads --run {0}` or `indu plot-attn --run {0} --probe`",
                self.run.display()
            ),
        ]
    }
}

/// The run config of an imported model: the repeated-token task over its vocabulary
/// (two copies of `(n_ctx - 1) / 2` tokens after token 0), and a `[train]` section that
/// only sizes evaluation (the model is not trained by indu).
pub fn run_config(model: ModelConfig) -> Result<RunConfig> {
    let (n_ctx, d_vocab, d_vocab_out) = (model.n_ctx(), model.d_vocab(), model.d_vocab_out());
    if d_vocab_out != d_vocab {
        return Err(Error::Invalid(format!(
            "d_vocab_out = {d_vocab_out} differs from d_vocab = {d_vocab}: indu imports models that predict their own vocabulary"
        )));
    }
    if n_ctx < 5 {
        return Err(Error::Invalid(format!(
            "n_ctx = {n_ctx} is too short to probe: expected at least 5 positions"
        )));
    }
    let task = TaskConfig::Repeated(RepeatedConfig {
        seq_len: n_ctx,
        subseq_len: (n_ctx - 1) / 2,
        num_repeats: 2,
        d_vocab,
    });
    let cfg = RunConfig {
        seed: 0,
        task,
        model,
        train: TrainConfig {
            batch_size: 1,
            eval_size: 64,
            ..TrainConfig::default()
        },
    };
    cfg.validate_values()?;
    Ok(cfg)
}

/// Import a checkpoint as a run directory.
pub fn run(o: &ImportOptions) -> Result<ImportReport> {
    let format = Format::of(&o.weights)?;
    if !o.weights.is_file() {
        return Err(Error::Invalid(format!(
            "checkpoint {} does not exist",
            o.weights.display()
        )));
    }
    let text = std::fs::read_to_string(&o.tl_config).map_err(Error::io(&o.tl_config))?;
    let model = tl_config::model_config(&text).map_err(|e| Error::Format {
        path: o.tl_config.clone(),
        msg: e.to_string(),
    })?;
    let cfg = run_config(model).map_err(|e| Error::Format {
        path: o.tl_config.clone(),
        msg: e.to_string(),
    })?;
    check_out(&o.out, o.force)?;
    if let Some(t) = &o.tokenizer {
        let tok = tokenizer::HfTokenizer::load(t, true)?;
        if tok.vocab_size() > cfg.model.d_vocab() {
            return Err(Error::Invalid(format!(
                "tokenizer {} has {} tokens but the model's d_vocab is {}: not this model's tokenizer",
                t.display(),
                tok.vocab_size(),
                cfg.model.d_vocab()
            )));
        }
    }
    let varmap = match format {
        Format::Pth => state_dict_varmap(
            &o.weights,
            &cfg.model,
            pth::read_state_dict(&o.weights)?,
            &Device::Cpu,
            DType::F32,
        )?,
        Format::Safetensors => {
            crate::model::load_weights(&o.weights, &cfg.model, &Device::Cpu, DType::F32)?
        }
    };
    let report = ImportReport {
        schema_version: ImportReport::SCHEMA_VERSION,
        run: o.out.clone(),
        weights: o.weights.clone(),
        format,
        tl_config: o.tl_config.clone(),
        n_layers: cfg.model.n_layers,
        n_heads: cfg.model.n_heads,
        d_model: cfg.model.d_model,
        d_vocab: cfg.model.d_vocab(),
        n_ctx: cfg.model.n_ctx(),
        positional: serde_plain(&cfg.model.positional),
        attn_only: cfg.model.attn_only,
        normalization: serde_plain(&cfg.model.normalization),
        n_params: cfg.n_params(),
        tokenizer: o.tokenizer.clone(),
    };
    let tmp = sibling(&o.out, ".import-tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    let written = (|| -> Result<()> {
        std::fs::create_dir_all(&tmp).map_err(Error::io(&tmp))?;
        let dir = crate::run_dir::RunDir::new(&tmp);
        let header = format!(
            "# Imported by `indu import` from a TransformerLens checkpoint ({}); the task only\n# supplies probe rows (repeated random tokens over the model's vocabulary).\n",
            file_name(&o.weights)
        );
        let body = cfg.to_toml()?;
        atomic_write(&dir.config(), format!("{header}{body}").as_bytes())?;
        save_weights(&varmap, &cfg.model, &dir.model())?;
        atomic_write(&dir.tl_config(), text.as_bytes())?;
        write_json(&tmp.join(IMPORT_JSON), &report)?;
        if let Some(t) = &o.tokenizer {
            let to = tmp.join(crate::run_dir::vocab::HF_TOKENIZER);
            std::fs::copy(t, &to).map_err(Error::io(&to))?;
        }
        Ok(())
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(e);
    }
    if o.out.exists() {
        std::fs::remove_dir_all(&o.out).map_err(Error::io(&o.out))?;
    }
    if let Err(e) = std::fs::rename(&tmp, &o.out) {
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(Error::io(&o.out)(e));
    }
    crate::run_dir::RunDir::new(&o.out).mark_latest();
    Ok(report)
}

/// Refuse an `out` that is a file, or a non-empty directory without `force` (with `force`,
/// only a run directory: a folder of other files is never removed).
fn check_out(out: &Path, force: bool) -> Result<()> {
    if !out.exists() {
        return Ok(());
    }
    if !out.is_dir() {
        return Err(Error::Invalid(format!(
            "--out {} is a file, expected a directory to create",
            out.display()
        )));
    }
    let empty = std::fs::read_dir(out)
        .map_err(Error::io(out))?
        .next()
        .is_none();
    if empty {
        return Ok(());
    }
    let is_run = out.join("config.toml").is_file();
    match (force, is_run) {
        (true, true) => Ok(()),
        (true, false) => Err(Error::Invalid(format!(
            "--out {} holds files that are not a run; --force replaces only a run directory",
            out.display()
        ))),
        (false, _) => Err(Error::Invalid(format!(
            "--out {} already exists and is not empty; pass --force to replace it, or another --out",
            out.display()
        ))),
    }
}

/// `dir` with `suffix` appended to its last component, in the same parent.
fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_else(|| "run".into());
    name.push(suffix);
    let parent = dir.parent().unwrap_or(Path::new("."));
    parent.join(format!(".{}", name.to_string_lossy()))
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A unit enum's name as its serde form writes it.
fn serde_plain<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
