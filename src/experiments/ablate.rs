//! `ablate`: loss with heads ablated vs clean, each head alone and the whole set, on the
//! probe or fresh task rows -> `AblateReport` (`ablate.json`) and `plots/ablate.png` (loss
//! increase per set). The numerics are `circuits::ablate`'s.
use crate::analysis::LoadedRun;
use crate::circuits::ablate::{ablated_logits, check, metrics, Ablation, Metrics};
use crate::circuits::qk_ov::ModelW;
use crate::circuits::{parse_heads, HeadRef};
use crate::error::{Error, Result};
use crate::plot::bar_chart;
use crate::probe::{ProbeRequest, Source};
use crate::report::{drawing, write_json, Outputs, Report};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// `ablate.json`'s `schema_version`.
pub const SCHEMA_VERSION: u32 = 1;

/// How an ablated head is changed (the command line's `--mode`; `Ablation` once the rank
/// is known).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Zero,
    Mean,
    Resample,
    Shuffle,
    ProjectOut,
    ProjectKeep,
}

/// Options of `ablate`.
#[derive(Debug, Clone)]
pub struct AblateOptions {
    /// Heads as `layer.head`, comma separated.
    pub heads: String,
    pub mode: Mode,
    /// Rank of the subspace of the projection modes (default: d_head / 2).
    pub rank: Option<usize>,
    pub source: Source,
    /// The user's text or token ids (with `Source::Text` / `Source::Tokens`).
    pub given: Option<crate::given::Given>,
    pub probe: ProbeRequest,
    pub batch: usize,
    /// Seed of the data and of the shuffle permutations.
    pub seed: u64,
}

/// One ablated set of heads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Row {
    pub heads: Vec<String>,
    pub metrics: Metrics,
    /// Ablated loss minus clean loss.
    pub loss_increase: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub later_copies_increase: Option<f64>,
}

/// What `ablate.json` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AblateReport {
    pub schema_version: u32,
    pub run: String,
    pub task: String,
    pub on: Source,
    pub mode: String,
    pub description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    pub clean: Metrics,
    pub ablations: Vec<Row>,
}

impl AblateOptions {
    /// The ablation, every argument checked against the model before anything runs.
    fn ablation(&self, lr: &LoadedRun) -> Result<(Vec<HeadRef>, Ablation)> {
        let cfg = &lr.cfg.model;
        let heads = parse_heads(&self.heads, cfg.n_layers, cfg.n_heads)?;
        let rank = self.rank.unwrap_or((cfg.d_head / 2).max(1));
        let how = match self.mode {
            Mode::Zero => Ablation::Zero,
            Mode::Mean => Ablation::Mean,
            Mode::Resample => Ablation::Resample,
            Mode::Shuffle => Ablation::Shuffle,
            Mode::ProjectOut => Ablation::ProjectOut { rank },
            Mode::ProjectKeep => Ablation::ProjectKeep { rank },
        };
        if let Some(r) = self.rank {
            if !matches!(
                how,
                Ablation::ProjectOut { .. } | Ablation::ProjectKeep { .. }
            ) {
                return Err(Error::Invalid(format!(
                    "--rank {r} only applies to --mode project-out or project-keep, not --mode {}",
                    how.name()
                )));
            }
            if r == 0 || r > cfg.d_model {
                return Err(Error::Invalid(format!(
                    "--rank {r}: expected 1..={} (d_model)",
                    cfg.d_model
                )));
            }
        }
        if self.batch == 0 {
            return Err(Error::Invalid("--batch 0: expected at least 1 row".into()));
        }
        check(how, &heads, self.batch)?;
        Ok((heads, how))
    }
}

/// Ablate each head of `o.heads` alone, then all of them together, and compare with the
/// clean forward pass.
pub fn run(lr: &LoadedRun, o: &AblateOptions) -> Result<AblateReport> {
    let (heads, how) = o.ablation(lr)?;
    let fitted = match o.source {
        Source::Probe => Some(o.probe.fit(lr.n_ctx())?),
        Source::Task | Source::Text | Source::Tokens => None,
    };
    let m = ModelW::of(&lr.weights, &lr.cfg.model)?;
    let given = match (o.source, &o.given) {
        (Source::Text | Source::Tokens, Some(g)) => Some(g),
        (Source::Text | Source::Tokens, None) => {
            return Err(Error::Invalid(
                "no input given: pass --text TEXT or --tokens IDS".into(),
            ))
        }
        (Source::Probe | Source::Task, _) => None,
    };
    let (rows, probe, note, description) = match (fitted, given) {
        (_, Some(g)) => {
            let (rows, what) = lr.given_rows(g)?;
            check(how, &heads, rows.len())?;
            (rows, None, None, format!("{what}, next-token loss"))
        }
        (None, None) => {
            let rows = lr.task_rows(o.batch, o.seed);
            let d = format!(
                "{} fresh held-out rows of the task, seed {}",
                rows.len(),
                o.seed
            );
            (rows, None, None, d)
        }
        (Some((probe, note)), None) => {
            let rows = lr.probe_rows(probe, o.batch, o.seed)?;
            let d = probe.describe(lr.probe_vocab(), rows.len(), o.seed);
            (rows, Some(probe), note, d)
        }
    };
    let clean_logits = lr.model.forward(&rows.tokens_tensor(&lr.device)?, None)?;
    let clean = metrics(lr, &clean_logits, &rows, probe, given.is_none())?;
    let mut sets: Vec<Vec<HeadRef>> = heads.iter().map(|h| vec![*h]).collect();
    if heads.len() > 1 {
        sets.push(heads.clone());
    }
    let mut ablations = Vec::new();
    for set in sets {
        let logits = ablated_logits(lr, &m, &rows, &set, how, o.seed)?;
        let met = metrics(lr, &logits, &rows, probe, given.is_none())?;
        ablations.push(Row {
            heads: set.iter().map(|h| h.to_string()).collect(),
            loss_increase: met.loss - clean.loss,
            later_copies_increase: met
                .later_copies_loss
                .zip(clean.later_copies_loss)
                .map(|(x, y)| x - y),
            metrics: met,
        });
    }
    Ok(AblateReport {
        schema_version: SCHEMA_VERSION,
        run: lr.run.path.display().to_string(),
        task: lr.cfg.task.task().name().to_string(),
        on: match (probe, given) {
            (Some(_), _) => Source::Probe,
            (None, Some(_)) => o.source,
            (None, None) => Source::Task,
        },
        mode: how.name(),
        description,
        note,
        clean,
        ablations,
    })
}

impl AblateReport {
    /// Write `plots/ablate.png` and `ablate.json`; returns the JSON and PNG paths.
    pub fn write(&self, lr: &LoadedRun) -> Result<Vec<PathBuf>> {
        let mut outputs = Outputs::new();
        let plots = outputs.dir(&lr.run.plots())?;
        let png = outputs.file(&plots.join("ablate.png"));
        // On the probe each set gets two bars: all predictions, and the repeated copies alone.
        let mut labels = Vec::new();
        let mut values = Vec::new();
        for r in &self.ablations {
            let name = r.heads.join("+");
            labels.push(name.clone());
            values.push(r.loss_increase);
            if let Some(l) = r.later_copies_increase {
                labels.push(format!("{name} (repeats)"));
                values.push(l);
            }
        }
        let scope = if self.on == Source::Probe {
            "; (repeats) = predictions in copies 1.."
        } else {
            ""
        };
        let title = format!(
            "Loss increase, {} ablation on the {} (clean loss {:.3}{scope})",
            self.mode,
            self.on.name(),
            self.clean.loss
        );
        drawing(
            &png,
            bar_chart(&png, &title, "ablated loss - clean loss", &labels, &values),
        )?;
        let json = lr.run.path.join("ablate.json");
        write_json(&outputs.file(&json), self)?;
        outputs.keep();
        Ok(vec![json, png])
    }
}

/// One row of the table: the loss, and what else the data gives.
fn describe(m: &Metrics) -> String {
    match (m.first_copy_loss, m.later_copies_loss) {
        (Some(f), Some(l)) => format!(
            "loss {:.3} (first copy {f:.3}, later copies {l:.3})",
            m.loss
        ),
        _ => {
            let extra: Vec<String> = m
                .task
                .iter()
                .filter(|(k, _)| k.as_str() != "loss")
                .map(|(k, v)| format!("{k} {v:.3}"))
                .collect();
            format!("loss {:.3} {}", m.loss, extra.join(" "))
        }
    }
}

impl Report for AblateReport {
    const SCHEMA_VERSION: u32 = SCHEMA_VERSION;

    fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    fn human(&self) -> Vec<String> {
        let mut out = vec![
            format!(
                "{} ablation on {} of {}",
                self.mode, self.description, self.run
            ),
            format!("{:<12} {}", "clean", describe(&self.clean)),
        ];
        for r in &self.ablations {
            out.push(format!(
                "{:<12} {}  ({:+.3})",
                r.heads.join("+"),
                describe(&r.metrics),
                r.loss_increase
            ));
        }
        out
    }
}
