//! Building a `SweepReport` from an open sweep and its states: the axes, one row per point
//! (done ones read by `read`), the settings, each plotted axis's groups with their medians,
//! and the formation histogram.
use super::read::read_run;
use super::stats::{bins, median};
use super::{AxisInfo, AxisPlot, Formation, PlotGroup, Row, Scale, Setting, SweepReport};
use crate::detect::Detector;
use crate::error::{Error, Result};
use crate::sweep::points::{labels, value_label};
use crate::sweep::result::State;
use crate::sweep::status::SweepStatus;
use crate::sweep::Sweep;
use crate::tasks::{metric, Target};
use std::collections::BTreeMap;

/// Name of the one setting (or plot group) of runs that differ only by seed.
pub const ALL_RUNS: &str = "all runs";

/// The report of `sweep` with each point in its `status` state (`status::status`).
pub fn build(sweep: &Sweep, status: &SweepStatus) -> Result<SweepReport> {
    let base = std::fs::read_to_string(sweep.base_file()).map_err(Error::io(sweep.base_file()))?;
    let task = crate::config::RunConfig::from_toml(&base, &sweep.file.set)?
        .task
        .task();
    let target = task.target();
    let axes = axis_infos(sweep);
    let state: BTreeMap<usize, State> = status.points.iter().map(|p| (p.index, p.state)).collect();
    let mut settings: Vec<Setting> = Vec::new();
    let mut rows = Vec::with_capacity(sweep.file.points.len());
    for p in &sweep.file.points {
        let value_index = value_indices(sweep, &axes, p)?;
        let name = setting_name(&axes, &value_index, None);
        let setting = match settings.iter().position(|s| s.name == name) {
            Some(i) => i,
            None => {
                settings.push(Setting {
                    name,
                    rows: Vec::new(),
                    tracked: 0,
                    formed: 0,
                });
                settings.len() - 1
            }
        };
        let mut row = Row {
            index: p.index,
            name: p.name.clone(),
            state: state.get(&p.index).copied().unwrap_or(State::Missing),
            values: value_index
                .iter()
                .zip(&axes)
                .map(|(&i, a)| a.values[i].clone())
                .collect(),
            value_index,
            setting,
            steps: None,
            stopped_at: None,
            final_train_loss: None,
            final_eval: BTreeMap::new(),
            steps_to_target: None,
            loss_drop_step: None,
            induction_head: None,
            induction_formed: None,
            induction_formed_step: None,
            previous_token_formed_step: None,
            scores: BTreeMap::new(),
            scores_from: None,
            note: None,
        };
        if row.state == State::Done {
            read_run(&sweep.run(p), target, &mut row);
        }
        let s = &mut settings[setting];
        s.rows.push(rows.len());
        s.tracked += usize::from(row.induction_formed.is_some());
        s.formed += usize::from(row.induction_formed == Some(true));
        rows.push(row);
    }
    let headline = task.headline_metrics();
    let mut eval_metrics: Vec<String> = headline
        .iter()
        .filter(|m| rows.iter().any(|r| r.final_eval.contains_key(**m)))
        .map(|m| m.to_string())
        .collect();
    let mut others: Vec<&String> = rows.iter().flat_map(|r| r.final_eval.keys()).collect();
    others.sort();
    others.dedup();
    for m in others {
        if !eval_metrics.contains(m) {
            eval_metrics.push(m.clone());
        }
    }
    let plot_metrics = plot_metrics(target, headline);
    let plots = plotted_axes(&axes)
        .into_iter()
        .map(|a| axis_plot(&axes, &rows, a, &plot_metrics))
        .collect();
    Ok(SweepReport {
        schema_version: super::SCHEMA_VERSION,
        sweep: sweep.dir.clone(),
        task: task.to_string(),
        target,
        eval_metrics,
        headline: headline.iter().map(|m| m.to_string()).collect(),
        plot_metrics,
        score_columns: score_columns(&rows),
        formation: formation(&rows),
        settings,
        plots,
        axes,
        rows,
    })
}

/// The axes drawn against: every non-seed one, or the seed when it is all there is.
fn plotted_axes(axes: &[AxisInfo]) -> Vec<usize> {
    let own: Vec<usize> = (0..axes.len()).filter(|&i| !axes[i].seed).collect();
    if own.is_empty() {
        (0..axes.len()).collect()
    } else {
        own
    }
}

/// `label=value` of every non-seed axis but `skip`, joined by `/`; [`ALL_RUNS`] when none.
fn setting_name(axes: &[AxisInfo], value_index: &[usize], skip: Option<usize>) -> String {
    let parts: Vec<String> = axes
        .iter()
        .zip(value_index)
        .enumerate()
        .filter(|(k, (a, _))| !a.seed && Some(*k) != skip)
        .map(|(_, (a, &i))| format!("{}={}", a.label, a.values[i]))
        .collect();
    if parts.is_empty() {
        ALL_RUNS.to_string()
    } else {
        parts.join("/")
    }
}

/// The runs of axis `a`'s figure, grouped by the other non-seed axes, with the median of
/// every plotted metric at each of `a`'s values over each group's done runs.
fn axis_plot(axes: &[AxisInfo], rows: &[Row], a: usize, metrics: &[String]) -> AxisPlot {
    let mut groups: Vec<PlotGroup> = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        let name = setting_name(axes, &row.value_index, Some(a));
        match groups.iter_mut().find(|g| g.name == name) {
            Some(g) => g.rows.push(r),
            None => groups.push(PlotGroup {
                name,
                rows: vec![r],
                medians: BTreeMap::new(),
            }),
        }
    }
    for g in &mut groups {
        for m in metrics {
            let line = (0..axes[a].values.len())
                .filter_map(|v| {
                    let ys: Vec<f64> = g
                        .rows
                        .iter()
                        .map(|&r| &rows[r])
                        .filter(|r| r.value_index[a] == v)
                        .filter_map(|r| r.final_eval.get(m).copied())
                        .collect();
                    median(&ys).map(|y| (axes[a].x(v), y))
                })
                .collect();
            g.medians.insert(m.clone(), line);
        }
    }
    AxisPlot { axis: a, groups }
}

/// The formation steps of the done runs and their histogram over 0..the longest run.
fn formation(rows: &[Row]) -> Formation {
    let steps: Vec<usize> = rows
        .iter()
        .filter_map(|r| r.induction_formed_step)
        .collect();
    let done = rows.iter().filter(|r| r.state == State::Done);
    let never = done
        .clone()
        .filter(|r| r.induction_formed == Some(false))
        .count();
    let untracked = done
        .clone()
        .filter(|r| r.induction_formed.is_none())
        .count();
    let longest = rows.iter().filter_map(|r| r.steps).max().unwrap_or(0);
    Formation {
        bins: bins(
            &steps,
            longest.max(steps.iter().copied().max().unwrap_or(0) + 1),
        ),
        steps,
        never,
        untracked,
    }
}

/// The index of each axis's value at point `p` (its override is the axis's `set(i)`).
fn value_indices(
    sweep: &Sweep,
    axes: &[AxisInfo],
    p: &crate::sweep::points::Point,
) -> Result<Vec<usize>> {
    let spec_axes = sweep.axes();
    (0..axes.len())
        .map(|k| {
            let set = p.set.get(k).map(String::as_str).unwrap_or("");
            let a = &spec_axes[k];
            (0..a.values.len())
                .find(|&i| a.set(i) == set)
                .ok_or_else(|| Error::Format {
                    path: sweep.dir.join(crate::sweep::SWEEP_FILE),
                    msg: format!(
                        "point {}: {set:?} is none of axis {}'s values",
                        p.index, a.key
                    ),
                })
        })
        .collect()
}

/// The score columns of `rows`, detectors in report order (unknown ones after, by name),
/// heads in layer-then-head order.
fn score_columns(rows: &[Row]) -> Vec<String> {
    let mut keys: Vec<(usize, String, usize, usize)> = Vec::new();
    for k in rows.iter().flat_map(|r| r.scores.keys()) {
        let Some((det, lh)) = k.rsplit_once('_') else {
            continue;
        };
        let Some((l, h)) = lh.split_once('.') else {
            continue;
        };
        let (Ok(l), Ok(h)) = (l.parse(), h.parse()) else {
            continue;
        };
        let rank = Detector::ALL
            .iter()
            .position(|d| d.name() == det)
            .unwrap_or(Detector::ALL.len());
        keys.push((rank, det.to_string(), l, h));
    }
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|(_, d, l, h)| format!("{d}_{l}.{h}"))
        .collect()
}

/// The plotted metrics: the eval loss and the target's metric (else the last headline one).
fn plot_metrics(target: Option<Target>, headline: &[&str]) -> Vec<String> {
    let acc = target
        .map(|t| t.metric)
        .or_else(|| headline.iter().rev().find(|m| **m != metric::LOSS).copied());
    std::iter::once(metric::LOSS)
        .chain(acc)
        .map(String::from)
        .collect()
}

/// Each axis as the report describes it, with the value labels of `labels` and
/// `value_label`.
fn axis_infos(sweep: &Sweep) -> Vec<AxisInfo> {
    let axes = sweep.axes();
    let names = labels(&axes);
    axes.iter()
        .zip(names)
        .map(|(a, label)| {
            let numbers: Option<Vec<f64>> = a
                .values
                .iter()
                .map(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)))
                .collect();
            let scale = match &numbers {
                None => Scale::Categorical,
                Some(n) => {
                    let (lo, hi) = n
                        .iter()
                        .fold((f64::MAX, f64::MIN), |(a, b), &v| (a.min(v), b.max(v)));
                    if lo > 0.0 && hi / lo > 10.0 {
                        Scale::Log
                    } else {
                        Scale::Linear
                    }
                }
            };
            AxisInfo {
                seed: a.key == "seed" || a.key.ends_with(".seed"),
                key: a.key.clone(),
                label,
                values: a.values.iter().map(value_label).collect(),
                numbers,
                scale,
            }
        })
        .collect()
}
