//! `sample`: strings sampled from the begin token (generative tasks) with the validity
//! share, greedy completions of held-out prompts with correctness (the other tasks), or the
//! greedy completion of one `--prompt` -> `Samples` (`samples.txt`) or `Completion`.
use super::at_most;
use crate::analysis::LoadedRun;
use crate::error::{Error, Result};
use crate::report::{atomic_write, Outputs, Report};
use crate::sampling::{
    complete, complete_prompt, sample, PromptReport, SampleOptions, SampleReport,
};
use serde::Serialize;
use std::path::PathBuf;

/// The `--json` schema of both outcomes.
pub const SCHEMA_VERSION: u32 = 1;

/// Options of `sample`.
#[derive(Debug, Clone)]
pub struct SampleCommand {
    pub n: usize,
    /// None: 1 (induction sampling only).
    pub temperature: Option<f64>,
    pub top_k: Option<usize>,
    /// Complete this prompt greedily instead.
    pub prompt: Option<String>,
    pub seed: u64,
}

/// `n` samples or completions with their checks.
#[derive(Debug, Clone, Serialize)]
pub struct Samples {
    #[serde(flatten)]
    pub report: SampleReport,
    /// "valid" (sampling: the task's rule) or "correct" (completion).
    #[serde(skip)]
    pub what: &'static str,
    /// Where `samples.txt` goes.
    #[serde(skip)]
    pub path: PathBuf,
}

/// The greedy completion of one prompt.
#[derive(Debug, Clone, Serialize)]
pub struct Completion {
    #[serde(flatten)]
    pub report: PromptReport,
    /// How a string breaks the task's rule, where the check is a rule on the string
    /// (a generative task) rather than an answer.
    #[serde(skip)]
    pub rule: Option<&'static str>,
}

/// What `sample` produced.
pub enum Outcome {
    Samples(Samples),
    Completion(Completion),
}

impl SampleCommand {
    /// Checks that need no model (done before the run is opened).
    pub fn check(&self) -> Result<()> {
        if self.n == 0 {
            return Err(Error::Invalid("-n 0: expected at least 1 sample".into()));
        }
        if let Some(t) = self.temperature {
            if !(t.is_finite() && t >= 0.0) {
                return Err(Error::Invalid(format!(
                    "--temperature {t}: expected a number >= 0 (0 = greedy)"
                )));
            }
        }
        if self.top_k == Some(0) {
            return Err(Error::Invalid("--top-k 0: expected at least 1".into()));
        }
        Ok(())
    }
}

/// Refuse more samples than fit in memory at once (one forward pass holds them all).
pub fn check_samples(option: &str, n: usize, lr: &LoadedRun) -> Result<()> {
    let per_row = lr.cfg.activation_floats_per_row().max(1);
    let max = (crate::config::MAX_STEP_FLOATS / per_row).clamp(1, 1_000_000);
    at_most(option, n, max, "samples for this model")
}

/// Sample, complete held-out prompts, or complete `o.prompt`.
pub fn run(lr: &LoadedRun, o: &SampleCommand) -> Result<Outcome> {
    o.check()?;
    let task = lr.cfg.task.task();
    let generative = task.generative();
    let sampling = o.temperature.is_some() || o.top_k.is_some();
    if sampling && (o.prompt.is_some() || !generative) {
        let flag = if o.temperature.is_some() {
            "--temperature"
        } else {
            "--top-k"
        };
        let why = if o.prompt.is_some() {
            "--prompt completes greedily".to_string()
        } else {
            format!("{task} is completed greedily (only induction samples)")
        };
        return Err(Error::Invalid(format!(
            "{flag} does not apply here: {why}; drop it"
        )));
    }
    if let Some(p) = &o.prompt {
        let tokens = lr
            .encode_text(p)
            .map_err(|e| Error::Invalid(format!("--prompt {p:?}: {e}")))?;
        return Ok(Outcome::Completion(Completion {
            report: complete_prompt(lr, &tokens)?,
            rule: task.rule_broken().filter(|_| generative),
        }));
    }
    check_samples("-n", o.n, lr)?;
    let report = if generative {
        let so = SampleOptions {
            temperature: o.temperature.unwrap_or(1.0),
            top_k: o.top_k,
            seed: o.seed,
        };
        sample(lr, o.n, &so)?
    } else {
        complete(lr, o.n, o.seed)?
    };
    Ok(Outcome::Samples(Samples {
        report,
        what: if generative { "valid" } else { "correct" },
        path: lr.run.path.join("samples.txt"),
    }))
}

impl Samples {
    /// `samples.txt`: one line per sample, `ok ` or `BAD` then the string.
    pub fn text(&self) -> String {
        let mut text = String::new();
        for (s, ok) in self.report.samples.iter().zip(&self.report.ok) {
            text.push_str(&format!("{} {s}\n", if *ok { "ok " } else { "BAD" }));
        }
        text
    }

    /// Write `samples.txt`; returns its path.
    pub fn write(&self) -> Result<Vec<PathBuf>> {
        let mut outputs = Outputs::new();
        atomic_write(&outputs.file(&self.path), self.text().as_bytes())?;
        outputs.keep();
        Ok(vec![self.path.clone()])
    }
}

impl Report for Samples {
    const SCHEMA_VERSION: u32 = SCHEMA_VERSION;

    fn human(&self) -> Vec<String> {
        let r = &self.report;
        let mut out: Vec<String> = self.text().lines().map(str::to_string).collect();
        let good = r.ok.iter().filter(|&&b| b).count();
        out.push(format!(
            "{}: {good} of {} {} ({:.1}%) -> {}",
            r.mode,
            r.ok.len(),
            self.what,
            100.0 * r.share_ok,
            self.path.display()
        ));
        out
    }
}

impl Report for Completion {
    const SCHEMA_VERSION: u32 = SCHEMA_VERSION;

    fn human(&self) -> Vec<String> {
        let r = &self.report;
        let verdict = match (r.correct, self.rule) {
            (Some(true), Some(_)) => "valid".to_string(),
            (Some(false), Some(why)) => format!("INVALID: {why}"),
            (Some(true), None) => "correct".to_string(),
            (Some(false), None) => "WRONG".to_string(),
            (None, _) => "no check for this task".to_string(),
        };
        vec![match &r.answer {
            Some(ans) => format!("{} -> {ans} ({verdict})", r.prompt),
            None => format!("{} | {} ({verdict})", r.prompt, r.completion),
        }]
    }
}
