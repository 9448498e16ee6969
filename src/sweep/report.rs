//! `indu sweep report`: one row per point of a sweep (`SweepReport`, written as `sweep.json`
//! and `sweep.csv`), read from each run directory's summary.json, metrics.jsonl and
//! dynamics.jsonl (or heads.json), plus what the sweep's figures and its page draw: the
//! settings (combinations of the non-seed axes) with how many of their seeds formed an
//! induction head, per plotted axis the groups of runs and their median lines, and the
//! histogram of formation steps. The figures themselves are `experiments::sweep_report`.
//!
//! Rows of points that are not done keep their state and leave every value empty.
//! Columns (`table::COLUMNS` and the per-sweep ones): `index, name, state, <axis keys>,
//! steps, stopped_at, final_train_loss, eval_<metric>..., steps_to_target (the first eval
//! step where the task's `Target` holds), loss_drop_step, induction_head,
//! induction_formed_step (the head's crossing step, when it formed),
//! previous_token_formed_step, score_<detector>_<L.H>...` (variant with_bos, from the last
//! dynamics.jsonl line, else heads.json).
use super::result::State;
use crate::error::Result;
use crate::tasks::Target;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

mod build;
mod read;
pub mod stats;
pub mod table;
#[cfg(test)]
mod tests;

pub use build::build;
pub use read::steps_to;

/// `sweep.json`'s `schema_version`.
pub const SCHEMA_VERSION: u32 = 1;
/// The report's files in the sweep directory.
pub const JSON_FILE: &str = "sweep.json";
pub const CSV_FILE: &str = "sweep.csv";

/// The report of a sweep: see the module doc.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepReport {
    pub schema_version: u32,
    pub sweep: PathBuf,
    pub task: String,
    /// What solving the task means (`Task::target`); `steps_to_target` uses it.
    pub target: Option<Target>,
    pub axes: Vec<AxisInfo>,
    /// Every metric of any row's final evaluation (task names, no `eval_`): the task's
    /// headline metrics first, then the others by name.
    pub eval_metrics: Vec<String>,
    /// The task's headline metrics (the human table's columns).
    pub headline: Vec<String>,
    /// The metrics drawn against each axis: the eval loss and the headline accuracy.
    pub plot_metrics: Vec<String>,
    /// The head-score columns, in order: `<detector>_<L.H>`.
    pub score_columns: Vec<String>,
    pub settings: Vec<Setting>,
    pub plots: Vec<AxisPlot>,
    pub formation: Formation,
    pub rows: Vec<Row>,
}

/// How an axis's values are placed along x.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    Linear,
    /// Numbers that are all positive and span more than a factor 10.
    Log,
    /// Anything that is not all numbers: one slot per value, in axis order.
    Categorical,
}

/// An axis of the sweep.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AxisInfo {
    pub key: String,
    /// Its label in the points' names (`lr`).
    pub label: String,
    /// Whether it is the seed (its runs are repeats of one setting).
    pub seed: bool,
    /// Each value as the names write it (`1e-3`).
    pub values: Vec<String>,
    /// Each value's number, when every value is one.
    pub numbers: Option<Vec<f64>>,
    pub scale: Scale,
}

impl AxisInfo {
    /// Where value `i` sits on x: its number, or its slot.
    pub fn x(&self, i: usize) -> f64 {
        match (&self.numbers, self.scale) {
            (Some(n), Scale::Linear | Scale::Log) => n[i],
            _ => i as f64,
        }
    }
}

/// One point of the sweep.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub index: usize,
    pub name: String,
    pub state: State,
    /// Its value of each axis, as the names write it (axis order).
    pub values: Vec<String>,
    /// The index of that value in its axis.
    pub value_index: Vec<usize>,
    /// Its setting (`SweepReport::settings`).
    pub setting: usize,
    pub steps: Option<usize>,
    pub stopped_at: Option<usize>,
    pub final_train_loss: Option<f64>,
    /// The final evaluation's finite metrics, by task metric name.
    pub final_eval: BTreeMap<String, f64>,
    pub steps_to_target: Option<usize>,
    pub loss_drop_step: Option<f64>,
    /// The strongest induction head (formed or not).
    pub induction_head: Option<String>,
    /// Whether it formed; `None` without phase changes (tracking off, not done).
    pub induction_formed: Option<bool>,
    pub induction_formed_step: Option<usize>,
    pub previous_token_formed_step: Option<usize>,
    /// Final head scores by `score_columns` key (finite ones).
    pub scores: BTreeMap<String, f64>,
    /// Where the scores came from: `dynamics.jsonl` or `heads.json`.
    pub scores_from: Option<String>,
    /// Why a done run's values are missing.
    pub note: Option<String>,
}

/// A combination of the non-seed axes' values: the runs that differ only by seed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Setting {
    /// `lr=1e-3/wd=0.1`, or "all runs" when every axis is a seed.
    pub name: String,
    /// Its rows (positions in `rows`).
    pub rows: Vec<usize>,
    /// Rows whose formation is known (done, with phase changes).
    pub tracked: usize,
    /// Of those, rows that formed an induction head.
    pub formed: usize,
}

/// One axis's figure: runs grouped by the other non-seed axes, a median line per group and
/// plotted metric.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AxisPlot {
    /// Position in `axes`.
    pub axis: usize,
    pub groups: Vec<PlotGroup>,
}

/// The runs of one combination of the other non-seed axes (colour `i` of the palette).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlotGroup {
    pub name: String,
    /// Positions in `rows`.
    pub rows: Vec<usize>,
    /// Per plotted metric, (x, median over the group's runs at that axis value).
    pub medians: BTreeMap<String, Vec<(f64, f64)>>,
}

/// The induction heads' formation steps over the done runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Formation {
    /// Step of every run that formed one, in row order.
    pub steps: Vec<usize>,
    /// Tracked runs that never formed one.
    pub never: usize,
    /// Done runs without phase changes (tracking off).
    pub untracked: usize,
    /// Histogram bins `[lo, hi)` with their counts, over 0..the longest run.
    pub bins: Vec<Bin>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bin {
    pub lo: usize,
    pub hi: usize,
    pub count: usize,
}

impl SweepReport {
    /// The metric a figure calls the accuracy: the target's, else the last headline one.
    pub fn accuracy_metric(&self) -> Option<&str> {
        self.plot_metrics.get(1).map(|s| s.as_str())
    }

    /// Write `sweep.json` and `sweep.csv` into the sweep directory; returns their paths.
    pub fn write(&self) -> Result<Vec<PathBuf>> {
        let json = self.sweep.join(JSON_FILE);
        crate::report::write_json(&json, self)?;
        let csv = self.sweep.join(CSV_FILE);
        crate::report::atomic_write(&csv, table::csv(self).as_bytes())?;
        Ok(vec![json, csv])
    }
}

impl crate::report::Report for SweepReport {
    const SCHEMA_VERSION: u32 = SCHEMA_VERSION;
    fn human(&self) -> Vec<String> {
        table::human(self)
    }
}
