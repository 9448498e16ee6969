//! `loss_by_setting.png`: the train loss of each setting's done runs (metrics.jsonl's
//! `loss`), drawn as the median over its seeds at every logged step and the band between
//! their 10% and 90% quantiles, one colour per setting, log y.
use super::runs;
use crate::error::Result;
use crate::plot::{chart, Chart, LegendEntry, Mark, Panel, Sample, XScale};
use crate::run_dir::metrics::{curves, LOSS};
use crate::sweep::report::stats::{median, quantile};
use crate::sweep::report::SweepReport;
use crate::sweep::result::State;
use crate::sweep::Sweep;
use std::collections::BTreeMap;
use std::path::Path;

/// The band's quantiles.
pub const BAND: (f64, f64) = (0.1, 0.9);

/// Per logged step (in order), the median and the band of `curves`' values at that step
/// (each curve's points as (step, value); a step counts the curves that logged it).
pub fn quantile_curves(curves: &[Vec<(f64, f64)>]) -> Vec<(f64, f64, f64, f64)> {
    let mut at: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for c in curves {
        for &(s, v) in c {
            at.entry(s.round() as i64).or_default().push(v);
        }
    }
    at.into_iter()
        .filter_map(|(s, v)| {
            let m = median(&v)?;
            Some((s as f64, m, quantile(&v, BAND.0)?, quantile(&v, BAND.1)?))
        })
        .collect()
}

pub(super) fn draw(path: &Path, sweep: &Sweep, r: &SweepReport) -> Result<()> {
    let mut marks = Vec::new();
    let mut legend = Vec::new();
    for (i, s) in r.settings.iter().enumerate() {
        let loss: Vec<Vec<(f64, f64)>> = s
            .rows
            .iter()
            .map(|&k| &r.rows[k])
            .filter(|row| row.state == State::Done)
            .filter_map(|row| {
                let p = sweep.file.points.get(row.index)?;
                let text = std::fs::read_to_string(sweep.run(p).metrics()).ok()?;
                curves(&text).remove(LOSS)
            })
            .collect();
        if loss.is_empty() {
            continue;
        }
        let q = quantile_curves(&loss);
        marks.push(Mark::Band {
            points: q.iter().map(|&(s, _, lo, hi)| (s, lo, hi)).collect(),
            color: i,
        });
        marks.push(Mark::Line {
            points: q.iter().map(|&(s, m, _, _)| (s, m)).collect(),
            color: i,
        });
        legend.push(LegendEntry {
            name: format!("{} ({})", s.name, runs(loss.len())),
            color: i,
            sample: Sample::Band,
        });
    }
    let panel = Panel {
        title: format!(
            "median and {:.0}-{:.0}% of seeds at each step",
            BAND.0 * 100.0,
            BAND.1 * 100.0
        ),
        x_label: "step".into(),
        y_label: "train loss".into(),
        x: XScale::Linear,
        x_ticks: Vec::new(),
        log_y: true,
        marks,
        note: None,
    };
    let c = Chart {
        title: format!("{}: train loss by setting", r.task),
        panels: vec![panel],
        legend,
    };
    chart(path, &c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_step_gets_the_median_and_band_of_the_curves_that_logged_it() {
        let c = vec![
            vec![(0.0, 1.0), (10.0, 4.0)],
            vec![(0.0, 2.0), (10.0, 5.0)],
            vec![(0.0, 3.0)],
        ];
        let q = quantile_curves(&c);
        assert_eq!(q.len(), 2);
        assert_eq!((q[0].0, q[0].1), (0.0, 2.0));
        assert!((q[0].2 - 1.2).abs() < 1e-12 && (q[0].3 - 2.8).abs() < 1e-12);
        assert_eq!((q[1].0, q[1].1), (10.0, 4.5));
    }
}
