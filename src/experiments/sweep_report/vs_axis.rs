//! `metric_vs_<axis>.png`: one panel per plotted metric (the final eval loss, the headline
//! accuracy) against one axis: a dot per run (fanned out where runs share a value) and the
//! median line of each group of the other non-seed axes.
use super::runs;
use crate::error::Result;
use crate::plot::{chart, Chart, LegendEntry, Mark, Panel, Sample, XScale};
use crate::sweep::report::{AxisPlot, Scale, SweepReport};
use crate::sweep::result::State;
use std::path::Path;

/// Most axis values labelled one by one (beyond, round ticks).
const MAX_VALUE_TICKS: usize = 12;

pub(super) fn draw(path: &Path, r: &SweepReport, p: &AxisPlot) -> Result<()> {
    let axis = &r.axes[p.axis];
    let x = match axis.scale {
        Scale::Linear => XScale::Linear,
        Scale::Log => XScale::Log,
        Scale::Categorical => XScale::Slots(axis.values.len()),
    };
    let x_ticks = if axis.values.len() <= MAX_VALUE_TICKS || axis.scale == Scale::Categorical {
        (0..axis.values.len())
            .map(|i| (axis.x(i), axis.values[i].clone()))
            .collect()
    } else {
        Vec::new()
    };
    let not_done = r.rows.iter().filter(|x| x.state != State::Done).count();
    let panels = r
        .plot_metrics
        .iter()
        .map(|m| {
            let marks = p
                .groups
                .iter()
                .enumerate()
                .flat_map(|(g, group)| {
                    let dots = group
                        .rows
                        .iter()
                        .map(|&i| &r.rows[i])
                        .filter_map(|row| {
                            let y = row.final_eval.get(m)?;
                            Some((axis.x(row.value_index[p.axis]), *y))
                        })
                        .collect();
                    let median = group.medians.get(m).cloned().unwrap_or_default();
                    [
                        Mark::Dots {
                            points: dots,
                            color: g,
                        },
                        Mark::Line {
                            points: median,
                            color: g,
                        },
                    ]
                })
                .collect();
            let shown = r
                .rows
                .iter()
                .filter(|x| x.final_eval.contains_key(m))
                .count();
            let mut note = format!("{} shown", runs(shown));
            if not_done > 0 {
                note.push_str(&format!("; {} not done", runs(not_done)));
            }
            Panel {
                title: format!("final eval {m}"),
                x_label: axis.key.clone(),
                y_label: format!("eval {m}"),
                x: x.clone(),
                x_ticks: x_ticks.clone(),
                log_y: false,
                marks,
                note: Some(note),
            }
        })
        .collect();
    let legend = if p.groups.len() == 1 {
        vec![
            LegendEntry {
                name: "one run".into(),
                color: 0,
                sample: Sample::Dot,
            },
            LegendEntry {
                name: "median over seeds".into(),
                color: 0,
                sample: Sample::Line,
            },
        ]
    } else {
        p.groups
            .iter()
            .enumerate()
            .map(|(g, group)| LegendEntry {
                name: format!("{}: runs, median", group.name),
                color: g,
                sample: Sample::DotLine,
            })
            .collect()
    };
    let c = Chart {
        title: format!(
            "{}: final eval metrics vs {} ({})",
            r.task,
            axis.label,
            runs(r.rows.len())
        ),
        panels,
        legend,
    };
    chart(path, &c)
}
