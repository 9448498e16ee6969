//! Command-line interface (clap derive): one `Args` struct per subcommand, nothing else.
use crate::values;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{ArgGroup, Args, Parser, Subcommand, ValueEnum};
use indu::config::Preset;
use indu::detect::Detector;
use indu::given::Given;
use indu::probe::Source;
use indu::tasks::Task;
use std::path::PathBuf;

/// Help of a `--task` option that takes a task: what it is, then every task name (from
/// `Task::ALL`).
fn task_help(what: &str) -> String {
    format!("{what}: {}", Task::list())
}

/// Help of a `--task` option that takes a preset: what it is, then every preset name (from
/// `Preset::ALL`).
fn preset_help(what: &str) -> String {
    format!("{what}: {}", Preset::list())
}

/// indu: train small transformers, capture activations, find induction heads.
#[derive(Debug, Parser)]
#[command(name = "indu", version, about, long_about = None, after_help = "\
Examples:
  indu train --task induction      # train the induction preset (about a minute on 2 cores)
  indu detect-heads                # score every head of the newest run -> heads.json + PNG
  indu plot-attn                   # attention heatmaps with token labels
  indu data --task addition --n 5  # look at the data a task generates")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Every subcommand.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train a preset (or a config file); writes a run directory under runs/.
    #[command(
        after_help = "Examples:\n  indu train --task induction\n  indu train --task repeated --steps 3000 --set train.lr=2e-3\n  indu train --config my.toml --out runs/my-run\n  indu train --task induction --seeds 0..8     # 8 seeds, parallel processes\n  indu train --run runs/induction-x --resume"
    )]
    Train(TrainArgs),
    /// Score every head with every detector on the repeated-token probe -> heads.json + PNG.
    #[command(
        name = "detect-heads",
        after_help = "Examples:\n  indu detect-heads\n  indu detect-heads --run runs/induction-x --probe-len 20 --repeats 3 --json"
    )]
    DetectHeads(DetectArgs),
    /// Attention patterns as heatmaps with token labels on both axes.
    #[command(
        name = "plot-attn",
        after_help = "Examples:\n  indu plot-attn\n  indu plot-attn --text abcabc --layer 1 --head 0\n  indu plot-attn --probe"
    )]
    PlotAttn(PlotAttnArgs),
    /// Training and eval loss curves (several runs overlaid).
    #[command(
        name = "plot-loss",
        after_help = "Examples:\n  indu plot-loss\n  indu plot-loss --run runs/a --run runs/b --out loss.png"
    )]
    PlotLoss(PlotLossArgs),
    /// Loss, head scores and ICL score over training (dynamics.jsonl), phase changes marked.
    #[command(
        name = "plot-dynamics",
        after_help = "Examples:\n  indu train --task induction --set train.track_every=50\n  indu plot-dynamics\n  indu plot-dynamics --detector induction --detector duplicate_token\n  indu plot-dynamics --run runs/a --run runs/b --out dynamics.png --json"
    )]
    PlotDynamics(PlotDynamicsArgs),
    /// The task's metrics on fresh held-out data -> eval.json.
    #[command(after_help = "Examples:\n  indu eval\n  indu eval --run runs/addition-x --n 5000")]
    Eval(EvalArgs),
    /// Sample from the model (induction) or complete held-out prompts greedily.
    #[command(
        after_help = "Examples:\n  indu sample -n 50\n  indu sample --temperature 0.8 --top-k 5\n  indu sample --prompt 12345+67890=     # an addition run\n  indu sample --prompt '> abcd'         # a permutations run"
    )]
    Sample(SampleArgs),
    /// Write a task's data set, one decoded row per line (text) or JSON lines.
    #[command(
        after_help = "Examples:\n  indu data --task induction --n 32000          # makemore's input format\n  indu data --task addition --n 5 --out -\n  indu data --task permutations --format jsonl --out perms.jsonl"
    )]
    Data(DataArgs),
    /// Run-with-cache export of chosen hooks to safetensors (TransformerLens names).
    #[command(
        after_help = "Examples:\n  indu cache --hooks 'blocks.*.attn.hook_pattern' --text abcabc\n  indu cache --hooks '*' --probe --batch 8 --out cache.safetensors\n  indu cache --hooks 'blocks.*.hook_resid_post' --text .abab --text .cdcd\n  indu cache --hooks 'blocks.0.*' --json     # a fresh task sample; JSON summary"
    )]
    Cache(CacheArgs),
    /// QK/OV circuits, Q/K/V composition scores, diagonal pair scores and common subspaces.
    #[command(after_help = "Examples:\n  indu circuits\n  indu circuits --run runs/induction-x")]
    Circuits(RunArg),
    /// Loss with heads ablated vs clean.
    #[command(
        after_help = "Examples:\n  indu ablate --heads 1.0\n  indu ablate --heads 1.0 --text .abcdabcd\n  indu ablate --heads 0.0,1.0 --mode mean --on task\n  indu ablate --heads 1.0 --mode project-out --rank 8"
    )]
    Ablate(AblateArgs),
    /// Direct logit attribution of each head on the probe.
    #[command(
        after_help = "Examples:\n  indu attribute\n  indu attribute --probe-len 10 --repeats 3\n  indu attribute --tokens 0,5,17,9,5,17"
    )]
    Attribute(AttributeArgs),
    /// Activation patching from a clean to a corrupted input: each layer's residual stream
    /// at each position, each head's output and pattern -> patch.json + heatmaps.
    #[command(
        after_help = "Examples:\n  indu patch                                   # the repeat probe vs its corrupted copy\n  indu patch --kind resid_pre --kind head_out --probe-len 20\n  indu patch --clean-tokens 0,5,17,5 --corrupt-tokens 0,5,17,9 --answer 17 --wrong 9\n  indu patch --clean-tokens @clean.txt --corrupt-tokens @corrupt.txt --metric loss\n  indu patch --clean '.abcab' --corrupt '.abcxb'   # text, with the run's tokenizer"
    )]
    Patch(PatchArgs),
    /// One offline, interactive HTML page of the run (loss curves, head scores, attention
    /// patterns, the training scrubber) -> view.html.
    #[command(
        after_help = "Examples:\n  indu view\n  indu view --run runs/induction-x --probe --out ind.html\n  indu view --text abcabc --scrubber     # refuse a run without dynamics"
    )]
    View(ViewArgs),
    /// Open a TransformerLens checkpoint (.safetensors or .pth state dict + its config JSON)
    /// as a run directory that every analysis command reads.
    #[command(
        after_help = "Examples:\n  indu import model.pth --tl-config config.json --out runs/arena\n  indu import model.safetensors --tl-config cfg.json     # -> runs/model\n  indu import model.pth --tl-config cfg.json --tokenizer tokenizer.json\n  indu detect-heads --run runs/arena\n\nThe config is HookedTransformerConfig.to_dict() as JSON, e.g.\n  json.dump({k: v for k, v in model.cfg.to_dict().items() if isinstance(v, (int, float, str, bool, type(None)))}, f)"
    )]
    Import(ImportArgs),
    /// Grids of ordinary runs over any config keys, locally or as one Slurm array job.
    #[command(
        after_help = "Examples:\n  indu sweep --task induction --grid train.lr=5e-4,1e-3 --grid seed=0..8\n  indu sweep sweep.toml --out runs/lr-sweep          # a sweep file (see docs/sweeps.md)\n  indu sweep sweep.toml --backend slurm --dry-run    # write the array job script only\n  indu sweep --resume runs/lr-sweep                   # skip finished runs, resume the rest\n  indu sweep status runs/lr-sweep\n  indu sweep resubmit runs/lr-sweep                  # Slurm: failed or missing points only\n  indu sweep report runs/lr-sweep                    # sweep.json, sweep.csv, plots",
        args_conflicts_with_subcommands = true
    )]
    Sweep(SweepArgs),
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The state dict: `.safetensors`, or a PyTorch `.pth`/`.pt` from
    /// `torch.save(model.state_dict())`.
    #[arg(value_name = "WEIGHTS")]
    pub weights: PathBuf,
    /// The model's `HookedTransformerConfig` as JSON (the fields `cfg.to_dict()` writes).
    #[arg(long, value_name = "CONFIG.json")]
    pub tl_config: PathBuf,
    /// Run directory to write (default: runs/<WEIGHTS file name without extension>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Replace an existing run directory.
    #[arg(long)]
    pub force: bool,
    /// The model's HuggingFace tokenizer (`tokenizer.json`), for `--text`.
    #[arg(long, value_name = "tokenizer.json")]
    pub tokenizer: Option<PathBuf>,
    /// Print JSON on stdout instead of a summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("clean_in").args(["clean", "clean_tokens", "sample"]).multiple(false)))]
#[command(group(ArgGroup::new("corrupt_in").args(["corrupt", "corrupt_tokens", "sample"]).multiple(false)))]
pub struct PatchArgs {
    #[command(flatten)]
    pub run: RunArg,
    /// The clean input as text (the run's tokenizer); needs --corrupt or --corrupt-tokens.
    #[arg(long, value_name = "TEXT")]
    pub clean: Option<String>,
    /// The corrupted input as text.
    #[arg(long, value_name = "TEXT")]
    pub corrupt: Option<String>,
    /// The clean input as token ids (`0,5,17` or `@FILE`, one row).
    #[arg(long, value_name = "IDS", value_parser = values::token_rows)]
    pub clean_tokens: Option<values::TokenRows>,
    /// The corrupted input as token ids (`0,5,17` or `@FILE`, one row).
    #[arg(long, value_name = "IDS", value_parser = values::token_rows)]
    pub corrupt_tokens: Option<values::TokenRows>,
    /// Two fresh task rows as the clean and corrupted inputs (default: the repeat probe).
    #[arg(long)]
    pub sample: bool,
    /// Length T of the probe's random sequence (default 50, shortened to fit n_ctx).
    #[arg(long, value_parser = values::count)]
    pub probe_len: Option<usize>,
    /// Copies k of the probe's sequence (the corrupted input replaces all but the first).
    #[arg(long, default_value_t = 2, value_parser = values::count)]
    pub repeats: usize,
    /// Seed of the probe or sample.
    #[arg(long, default_value_t = 0, value_parser = values::seed_value)]
    pub seed: u64,
    /// What to patch, repeatable: resid_pre, attn_out, mlp_out (layer x position), head_out,
    /// head_pattern (layer x head, every position). Default: all the model has.
    #[arg(long, value_name = "KIND", value_parser = patch_kind_value)]
    pub kind: Vec<indu::experiments::patch::PatchKind>,
    /// logit-diff: logits[pos, answer] - logits[pos, wrong]; loss: the clean input's mean loss.
    #[arg(long, value_enum, default_value = "logit-diff")]
    pub metric: MetricArg,
    /// The position whose prediction the logit difference reads (default: the second to
    /// last, which predicts the last token).
    #[arg(long, value_parser = values::count)]
    pub pos: Option<usize>,
    /// The clean answer token (default: the clean token after --pos).
    #[arg(long, value_name = "ID")]
    pub answer: Option<u32>,
    /// The corrupted answer token (default: the corrupted token after --pos).
    #[arg(long, value_name = "ID")]
    pub wrong: Option<u32>,
}

/// `--kind NAME`, parsed by `PatchKind`'s `FromStr` (its error lists the kinds).
fn patch_kind_value(s: &str) -> Result<indu::experiments::patch::PatchKind, String> {
    s.parse().map_err(|e: indu::Error| e.to_string())
}

/// `patch --metric`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MetricArg {
    LogitDiff,
    Loss,
}

/// Where the tensors live.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeviceArg {
    Cpu,
    Cuda,
}

#[derive(Debug, Args)]
pub struct TrainArgs {
    #[arg(long, value_name = "TASK", conflicts_with = "config", help = preset_help("Preset to train"))]
    pub task: Option<String>,
    /// A config file (TOML, same keys as configs/*.toml) instead of a preset.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Override any config key, e.g. --set train.lr=1e-3 --set model.n_heads=2.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Number of training steps (same as --set train.steps=N).
    #[arg(long, value_parser = values::count)]
    pub steps: Option<usize>,
    /// Seed (same as --set seed=S).
    #[arg(long, value_parser = values::seed_value)]
    pub seed: Option<u64>,
    /// Several seeds as parallel processes, e.g. 0..8 (end exclusive) or 1,2,5.
    #[arg(long, value_name = "RANGE", conflicts_with_all = ["seed", "resume"])]
    pub seeds: Option<String>,
    /// Parallel processes for --seeds (default: the number of cores).
    #[arg(long, value_name = "N", value_parser = values::count)]
    pub jobs: Option<usize>,
    /// Train from a data file written by `indu data` (text, one row per line).
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// cpu, or cuda (needs the `cuda` cargo feature).
    #[arg(long, value_enum, default_value = "cpu")]
    pub device: DeviceArg,
    /// Run directory (default: runs/<task>-<timestamp>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Continue the run in --run DIR (or --out DIR, or runs/latest) from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// The run to resume (with --resume).
    #[arg(long, value_name = "DIR", requires = "resume")]
    pub run: Option<PathBuf>,
    /// Overwrite an existing run directory.
    #[arg(long)]
    pub force: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Leave runs/latest alone (a sweep's runs: the sweep is the latest).
    #[arg(long, hide = true)]
    pub no_latest: bool,
    /// Benchmark: time N training steps after warm-up, print median ms/step, write no run.
    #[arg(long, value_name = "N", value_parser = values::count)]
    pub bench: Option<usize>,
    /// Measure the single-core f32 gemm peak (GFLOP/s) that --bench compares a step with;
    /// needs no task.
    #[arg(long, conflicts_with_all = ["task", "config", "seeds", "resume", "bench"])]
    pub peak: bool,
}

#[derive(Debug, Args)]
pub struct RunArg {
    /// Run directory (default: the newest run, runs/latest).
    #[arg(long, value_name = "DIR")]
    pub run: Option<PathBuf>,
    /// Analyse the model at step N: the latest snapshot at or before it (train with
    /// `--set train.snapshot_every=N` to keep snapshots). Default: the final model.
    #[arg(long, value_name = "N", value_parser = values::count)]
    pub step: Option<usize>,
    /// Print JSON on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
    /// With a sweep as --run: only its runs where KEY=VALUE (an axis), e.g. train.lr=1e-3.
    #[arg(long = "where", value_name = "KEY=VALUE")]
    pub filter: Vec<String>,
}

/// `--on probe|task`: which data a detector or ablation runs on.
fn on_parser() -> impl TypedValueParser<Value = Source> {
    PossibleValuesParser::new([Source::Probe.name(), Source::Task.name()]).map(|s| {
        if s == Source::Task.name() {
            Source::Task
        } else {
            Source::Probe
        }
    })
}

/// The repeated-token probe `[BOS] + r*k` and its rows (detect-heads, ablate, attribute).
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Length T of the random sequence r in the probe [BOS] + r*k (default 50, shortened
    /// with a note when the model's context is smaller; an explicit T must fit).
    #[arg(long, value_parser = values::count)]
    pub probe_len: Option<usize>,
    /// Number of copies k of r (at least 2).
    #[arg(long, default_value_t = 2, value_parser = values::count)]
    pub repeats: usize,
    /// Rows of the probe (or of task data with --on task).
    #[arg(long, default_value_t = 64, value_parser = values::count)]
    pub batch: usize,
    /// Seed of the rows (and of ablate's shuffle permutations).
    #[arg(long, default_value_t = 0, value_parser = values::seed_value)]
    pub seed: u64,
}

impl ProbeArgs {
    /// The probe asked for.
    pub fn request(&self) -> indu::probe::ProbeRequest {
        indu::probe::ProbeRequest {
            len: self.probe_len,
            repeats: self.repeats,
        }
    }
}

#[derive(Debug, Args)]
pub struct DetectArgs {
    #[command(flatten)]
    pub run: RunArg,
    #[command(flatten)]
    pub probe: ProbeArgs,
    /// Run the detectors on the probe or on fresh task data.
    #[arg(long, default_value = "probe", value_parser = on_parser())]
    pub on: Source,
    /// Threshold for current/previous/first/duplicate-token heads.
    #[arg(long, value_parser = values::number)]
    pub threshold_token: Option<f64>,
    /// Threshold for induction heads.
    #[arg(long, value_parser = values::number)]
    pub threshold_induction: Option<f64>,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("input").args(["text", "tokens", "probe", "sample"]).multiple(false)))]
pub struct PlotAttnArgs {
    #[command(flatten)]
    pub run: RunArg,
    /// Text to encode with the run's tokenizer.
    #[arg(long)]
    pub text: Option<String>,
    /// Token ids instead of text: `0,5,17`, or `@FILE` with one row per line (ids separated
    /// by commas or spaces); no tokenizer needed.
    #[arg(long, value_name = "IDS", value_parser = values::token_rows)]
    pub tokens: Option<values::TokenRows>,
    /// Use one row of the repeated-token probe.
    #[arg(long)]
    pub probe: bool,
    /// Use a fresh task sample (the default).
    #[arg(long)]
    pub sample: bool,
    /// Only this layer.
    #[arg(long, value_parser = values::count)]
    pub layer: Option<usize>,
    /// Only this head.
    #[arg(long, value_parser = values::count)]
    pub head: Option<usize>,
    /// Seed of the sample or probe.
    #[arg(long, default_value_t = 0, value_parser = values::seed_value)]
    pub seed: u64,
    /// Output PNG (default: <run>/plots/attn_*.png).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PlotLossArgs {
    /// Runs to overlay (default: the newest run); a sweep directory stands for its runs.
    #[arg(long, value_name = "DIR")]
    pub run: Vec<PathBuf>,
    /// With a sweep: only its runs where KEY=VALUE (an axis), e.g. train.lr=1e-3.
    #[arg(long = "where", value_name = "KEY=VALUE")]
    pub filter: Vec<String>,
    /// Output PNG (default: <first run>/plots/loss.png).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PlotDynamicsArgs {
    /// Runs to overlay (default: the newest run); a sweep directory stands for its runs.
    #[arg(long, value_name = "DIR")]
    pub run: Vec<PathBuf>,
    /// With a sweep: only its runs where KEY=VALUE (an axis), e.g. train.lr=1e-3.
    #[arg(long = "where", value_name = "KEY=VALUE")]
    pub filter: Vec<String>,
    #[arg(long, value_name = "NAME", value_parser = detector_value, help = detector_help())]
    pub detector: Vec<Detector>,
    /// Output PNG (default: <first run>/plots/dynamics.png; loss_by_position.png beside it).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print JSON on stdout (the files and each run's phase changes).
    #[arg(long)]
    pub json: bool,
}

/// `--detector NAME`, parsed by `Detector`'s `FromStr` (its error lists the names).
fn detector_value(s: &str) -> Result<Detector, String> {
    s.parse::<Detector>().map_err(|e| e.to_string())
}

/// Help of `--detector`: what it is, then every detector name.
fn detector_help() -> String {
    let names: Vec<&str> = Detector::ALL.iter().map(|d| d.name()).collect();
    format!(
        "A detector to draw a strip of head scores for, repeatable (default: {} and {}): {}",
        Detector::Induction.name(),
        Detector::PreviousToken.name(),
        names.join(", ")
    )
}

#[derive(Debug, Args)]
pub struct EvalArgs {
    #[command(flatten)]
    pub run: RunArg,
    /// Held-out rows.
    #[arg(long, default_value_t = 2000, value_parser = values::count)]
    pub n: usize,
    /// Seed of the held-out data.
    #[arg(long, default_value_t = 12345, value_parser = values::seed_value)]
    pub seed: u64,
    /// Generative tasks (induction): strings sampled from the begin token (temperature 1)
    /// for the sample-validity share; 0 skips it.
    #[arg(long, default_value_t = 50, value_parser = values::count)]
    pub samples: usize,
}

#[derive(Debug, Args)]
pub struct SampleArgs {
    #[command(flatten)]
    pub run: RunArg,
    /// Number of samples.
    #[arg(short, long = "n", default_value_t = 50, value_parser = values::count)]
    pub n: usize,
    /// Sampling temperature (0 = greedy; default 1). Induction sampling only: the other
    /// tasks and --prompt complete greedily and refuse it.
    #[arg(long, value_parser = values::number)]
    pub temperature: Option<f64>,
    /// Sample only from the K most likely tokens (induction sampling only).
    #[arg(long, value_parser = values::count)]
    pub top_k: Option<usize>,
    /// Complete this prompt greedily instead, encoded with the run's task tokenizer
    /// (e.g. addition `12345+67890=`, permutations `> abcd`).
    #[arg(long, value_name = "STR")]
    pub prompt: Option<String>,
    /// Seed.
    #[arg(long, default_value_t = 0, value_parser = values::seed_value)]
    pub seed: u64,
}

/// Output format of `indu data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DataFormat {
    Text,
    Jsonl,
}

#[derive(Debug, Args)]
pub struct DataArgs {
    #[arg(long, value_name = "TASK", help = task_help("Task"))]
    pub task: String,
    /// Number of rows.
    #[arg(long, default_value_t = 1000, value_parser = values::count)]
    pub n: usize,
    /// Seed.
    #[arg(long, default_value_t = 0, value_parser = values::seed_value)]
    pub seed: u64,
    /// Output file, or - for stdout (default: data/<task>.txt or .jsonl).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// text: one decoded row per line; jsonl: {"tokens":[..],"mask":[..],"text":".."}.
    #[arg(long, value_enum, default_value = "text")]
    pub format: DataFormat,
    /// Override a task parameter, e.g. --set task.n_symbols=3.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Draw from the held-out split (permutations) instead of the training split.
    #[arg(long)]
    pub test: bool,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("input").args(["text", "tokens", "probe", "sample"]).multiple(false)))]
pub struct CacheArgs {
    #[command(flatten)]
    pub run: RunArg,
    /// Hook names or globs, comma separated (e.g. 'blocks.*.attn.hook_pattern').
    #[arg(long, value_name = "GLOB")]
    pub hooks: String,
    /// Text to encode with the run's tokenizer; repeat for a batch (every text must encode
    /// to the same number of tokens).
    #[arg(long)]
    pub text: Vec<String>,
    /// Token ids instead of text: `0,5,17`, or `@FILE` with one row per line (ids separated
    /// by commas or spaces); no tokenizer needed.
    #[arg(long, value_name = "IDS", value_parser = values::token_rows)]
    pub tokens: Option<values::TokenRows>,
    /// Use the repeated-token probe.
    #[arg(long)]
    pub probe: bool,
    /// Use fresh task samples (the default).
    #[arg(long)]
    pub sample: bool,
    /// Rows of the probe or of task samples.
    #[arg(long, default_value_t = 1, value_parser = values::count, conflicts_with_all = ["text", "tokens"])]
    pub batch: usize,
    /// Seed of the sample or probe.
    #[arg(long, default_value_t = 0, value_parser = values::seed_value)]
    pub seed: u64,
    /// Output file (default: <run>/cache.safetensors).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// How an ablated head is changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AblateMode {
    /// The head's output (hook_z) set to zero.
    Zero,
    /// The head's output set to its batch mean at each position.
    Mean,
    /// The head's output taken from another row of the batch.
    Resample,
    /// Each query's attention weights (hook_pattern) permuted within its causal prefix.
    Shuffle,
    /// The head's keys stop reading the top --rank subspace earlier heads write to.
    ProjectOut,
    /// The head's keys read only that subspace.
    ProjectKeep,
}

#[derive(Debug, Args)]
pub struct AblateArgs {
    #[command(flatten)]
    pub run: RunArg,
    /// Heads as layer.head, comma separated, e.g. 1.0,0.3.
    #[arg(long, value_name = "L.H,..")]
    pub heads: String,
    /// How each head is changed.
    #[arg(long, value_enum, default_value = "zero")]
    pub mode: AblateMode,
    /// Run on the probe or on fresh task data.
    #[arg(long, default_value = "probe", value_parser = on_parser(), conflicts_with_all = ["text", "tokens"])]
    pub on: Source,
    /// Measure the next-token loss on this text instead (the run's tokenizer).
    #[arg(long, conflicts_with = "tokens")]
    pub text: Option<String>,
    /// Token ids instead: `0,5,17`, or `@FILE` with one row per line (several rows for
    /// --mode mean / resample).
    #[arg(long, value_name = "IDS", value_parser = values::token_rows)]
    pub tokens: Option<values::TokenRows>,
    /// Rank of the subspace for --mode project-out / project-keep (default: d_head / 2);
    /// only those modes take it.
    #[arg(long, value_parser = values::count)]
    pub rank: Option<usize>,
    #[command(flatten)]
    pub probe: ProbeArgs,
}

#[derive(Debug, Args)]
pub struct AttributeArgs {
    #[command(flatten)]
    pub run: RunArg,
    #[command(flatten)]
    pub probe: ProbeArgs,
    /// Attribute on this text instead of the probe (the run's tokenizer).
    #[arg(long, conflicts_with = "tokens")]
    pub text: Option<String>,
    /// Token ids instead of the probe: `0,5,17`, or `@FILE` (one row).
    #[arg(long, value_name = "IDS", value_parser = values::token_rows)]
    pub tokens: Option<values::TokenRows>,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("input").args(["text", "tokens", "probe", "sample"]).multiple(false)))]
pub struct ViewArgs {
    /// Run directory (default: the newest run, runs/latest).
    #[arg(long, value_name = "DIR")]
    pub run: Option<PathBuf>,
    /// Attention patterns on this text (encoded with the run's tokenizer).
    #[arg(long)]
    pub text: Option<String>,
    /// Token ids instead of text: `0,5,17`, or `@FILE` with one row per line (ids separated
    /// by commas or spaces); no tokenizer needed.
    #[arg(long, value_name = "IDS", value_parser = values::token_rows)]
    pub tokens: Option<values::TokenRows>,
    /// Attention patterns on one row of the repeated-token probe.
    #[arg(long)]
    pub probe: bool,
    /// Attention patterns on a fresh task sample (the default).
    #[arg(long)]
    pub sample: bool,
    /// Seed of the sample or probe.
    #[arg(long, default_value_t = 0, value_parser = values::seed_value)]
    pub seed: u64,
    /// Require the training scrubber: fail (exit 2, nothing written) when the run has no
    /// dynamics.jsonl lines and no snapshots. Without it the scrubber is shown when it can be.
    #[arg(long)]
    pub scrubber: bool,
    /// The page of a sweep instead of a run: its table (sortable), its metric-vs-axis plots
    /// and a link to each run's own page (written first where a done run has none).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["run", "text", "tokens", "probe", "sample", "scrubber"])]
    pub sweep: Option<PathBuf>,
    /// With --sweep: do not write the missing pages of the sweep's runs.
    #[arg(long, requires = "sweep")]
    pub no_run_pages: bool,
    /// Output file (default: <run>/view.html, or <sweep>/view.html).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Print JSON on stdout instead of a summary.
    #[arg(long)]
    pub json: bool,
}

impl ViewArgs {
    /// Which input the flags chose.
    pub fn source(&self) -> Source {
        input_source(&self.text, &self.tokens, self.probe)
    }

    /// The text or token ids given.
    pub fn given(&mut self) -> Option<Given> {
        given(self.text.take(), self.tokens.take())
    }
}

/// The input of plot-attn, cache and view: `--text`, `--tokens`, `--probe`, or a task
/// sample (the default).
fn input_source(text: &Option<String>, tokens: &Option<values::TokenRows>, probe: bool) -> Source {
    match (text, tokens, probe) {
        (Some(_), _, _) => Source::Text,
        (None, Some(_), _) => Source::Tokens,
        (None, None, true) => Source::Probe,
        (None, None, false) => Source::Task,
    }
}

/// The user's own input: `--text` or `--tokens` (clap lets only one through).
fn given(text: Option<String>, tokens: Option<values::TokenRows>) -> Option<Given> {
    match (text, tokens) {
        (Some(t), _) => Some(Given::Text(t)),
        (None, Some(values::TokenRows(rows))) => Some(Given::Tokens(rows)),
        (None, None) => None,
    }
}

impl PlotAttnArgs {
    /// Which input the flags chose.
    pub fn source(&self) -> Source {
        input_source(&self.text, &self.tokens, self.probe)
    }

    /// The text or token ids given.
    pub fn given(&mut self) -> Option<Given> {
        given(self.text.take(), self.tokens.take())
    }
}

impl CacheArgs {
    /// Which input the flags chose.
    pub fn source(&self) -> Source {
        input_source(&self.text.first().cloned(), &self.tokens, self.probe)
    }
}

/// Where a sweep's runs go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// Child processes on this machine, --jobs at a time.
    Local,
    /// One Slurm array job (sbatch), one task per point.
    Slurm,
}

#[derive(Debug, Args)]
pub struct SweepArgs {
    #[command(subcommand)]
    pub action: Option<SweepAction>,
    /// A sweep file (TOML: a base and [axes]); with --resume, the sweep directory.
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    #[arg(long, value_name = "TASK", conflicts_with = "config", help = preset_help("Base preset (instead of a sweep file)"))]
    pub task: Option<String>,
    /// Base config file (instead of a sweep file).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// An axis: KEY=V1,V2,... or KEY=A..B (end exclusive), e.g. train.lr=5e-4,1e-3 or seed=0..8.
    #[arg(long, value_name = "KEY=VALUES")]
    pub grid: Vec<String>,
    /// Override a config key in every run (after the sweep file's own `set`).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Every run trains on this data file from `indu data` (as `indu train --data`).
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Training steps of every run (same as --set train.steps=N).
    #[arg(long, value_parser = values::count)]
    pub steps: Option<usize>,
    /// N random points of the grid instead of all of it.
    #[arg(long, value_name = "N", value_parser = values::count)]
    pub sample: Option<usize>,
    /// Seed of --sample.
    #[arg(long, value_name = "S", default_value_t = 0, value_parser = values::seed_value)]
    pub sample_seed: u64,
    /// Sweep directory (default: runs/<task>-sweep-<timestamp>).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Where the runs go.
    #[arg(long, value_enum, default_value = "local")]
    pub backend: BackendArg,
    /// Local backend: runs at a time (default: the number of cores).
    #[arg(long, value_name = "N", value_parser = values::count)]
    pub jobs: Option<usize>,
    /// Slurm backend: write the array job script, do not submit it.
    #[arg(long)]
    pub dry_run: bool,
    /// Continue the sweep in DIR (or --out DIR): skip finished runs, resume the others.
    #[arg(long)]
    pub resume: bool,
    /// Start a sweep again in a directory that holds one.
    #[arg(long)]
    pub force: bool,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum SweepAction {
    /// Every point's state: done, failed (with exit code and log), running, pending, missing.
    Status(SweepDirArgs),
    /// Submit the failed, interrupted and missing points again as a new Slurm array.
    Resubmit(SweepResubmitArgs),
    /// sweep.json and sweep.csv (one row per run) and plots of the distribution.
    Report(SweepDirArgs),
    /// Train one point of a sweep (what each Slurm array task runs).
    #[command(name = "run-point", hide = true)]
    RunPoint(RunPointArgs),
}

#[derive(Debug, Args)]
pub struct SweepDirArgs {
    /// The sweep directory (default: runs/latest, if it is a sweep).
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Print JSON on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SweepResubmitArgs {
    /// The sweep directory (default: runs/latest, if it is a sweep).
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Write the array job script, do not submit it.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct RunPointArgs {
    /// The sweep directory.
    pub dir: PathBuf,
    /// The point's index in sweep.toml.
    #[arg(value_parser = values::count)]
    pub index: usize,
}
