//! The sweep's table (`indu sweep report`): one row per point with its axis values, state,
//! final numbers and phase-change steps read from its run's summary.json, written as
//! `sweep.json` and `sweep.csv` and printed.
use super::result::State;
use super::status::SweepStatus;
use super::Sweep;
use crate::error::Result;
use serde::Serialize;
use std::path::PathBuf;

/// One run of the sweep.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    pub index: usize,
    pub name: String,
    pub state: State,
    /// (axis key, value) in axis order.
    pub axes: Vec<(String, String)>,
    pub steps: Option<u64>,
    pub final_train_loss: Option<f64>,
    /// The run's final eval metrics (name -> value), as summary.json holds them.
    pub final_eval: serde_json::Map<String, serde_json::Value>,
    /// Step of the steepest loss drop, when one was found.
    pub loss_drop_step: Option<f64>,
    /// The induction head and the step it formed (None: it did not form).
    pub induction_head: Option<String>,
    pub induction_formed_step: Option<f64>,
    pub previous_token_formed_step: Option<f64>,
}

/// Every row, and the metric names seen (the CSV's eval columns).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SweepTable {
    pub schema_version: u32,
    pub sweep: PathBuf,
    pub rows: Vec<Row>,
    pub metrics: Vec<String>,
}

impl crate::report::Report for SweepTable {
    const SCHEMA_VERSION: u32 = 1;
    fn human(&self) -> Vec<String> {
        let f = |x: Option<f64>| x.map(|v| format!("{v:.4}")).unwrap_or_else(|| "-".into());
        let s = |x: Option<f64>| x.map(|v| format!("{v:.0}")).unwrap_or_else(|| "-".into());
        let mut head = vec!["run", "state", "train loss"];
        head.extend(self.metrics.iter().map(String::as_str));
        head.extend(["loss drop", "induction formed"]);
        let mut out = vec![
            format!("| {} |", head.join(" | ")),
            format!("|{}", "---|".repeat(head.len())),
        ];
        for r in &self.rows {
            let mut cells = vec![r.name.clone(), r.state.name().into(), f(r.final_train_loss)];
            cells.extend(
                self.metrics
                    .iter()
                    .map(|m| f(r.final_eval.get(m).and_then(|v| v.as_f64()))),
            );
            cells.push(s(r.loss_drop_step));
            cells.push(match (&r.induction_head, r.induction_formed_step) {
                (Some(h), Some(st)) => format!("{h} at {st:.0}"),
                _ => "-".into(),
            });
            out.push(format!("| {} |", cells.join(" | ")));
        }
        out
    }
}

/// The table of `sweep`, with each point's state from `status`.
pub fn table(sweep: &Sweep, status: &SweepStatus) -> SweepTable {
    let mut metrics: Vec<String> = Vec::new();
    let rows: Vec<Row> = sweep
        .file
        .points
        .iter()
        .zip(&status.points)
        .map(|(p, st)| {
            let text = std::fs::read_to_string(sweep.run(p).summary()).unwrap_or_default();
            let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            let final_eval = v["final_eval"].as_object().cloned().unwrap_or_default();
            for k in final_eval.keys() {
                if !metrics.contains(k) {
                    metrics.push(k.clone());
                }
            }
            let pc = &v["phase_changes"];
            let formed = |h: &serde_json::Value| {
                if h["formed"].as_bool() == Some(true) {
                    h["crossing"]["step"].as_f64()
                } else {
                    None
                }
            };
            Row {
                index: p.index,
                name: p.name.clone(),
                state: st.state,
                axes: sweep.values_of(p),
                steps: v["steps"].as_u64(),
                final_train_loss: v["final_train_loss"].as_f64(),
                final_eval,
                loss_drop_step: pc["loss_drop"]["step"].as_f64(),
                induction_head: pc["induction"]["head"].as_str().map(str::to_string),
                induction_formed_step: formed(&pc["induction"]),
                previous_token_formed_step: formed(&pc["previous_token"]),
            }
        })
        .collect();
    SweepTable {
        schema_version: 1,
        sweep: sweep.dir.clone(),
        rows,
        metrics,
    }
}

impl SweepTable {
    /// The table as CSV: a header, then one line per run.
    pub fn csv(&self) -> String {
        let axes: Vec<String> = self
            .rows
            .first()
            .map(|r| r.axes.iter().map(|(k, _)| k.clone()).collect())
            .unwrap_or_default();
        let mut head: Vec<String> = vec!["index".into(), "name".into(), "state".into()];
        head.extend(axes.iter().cloned());
        head.extend(["steps", "final_train_loss"].map(String::from));
        head.extend(self.metrics.iter().map(|m| format!("eval_{m}")));
        head.extend(
            [
                "loss_drop_step",
                "induction_head",
                "induction_formed_step",
                "previous_token_formed_step",
            ]
            .map(String::from),
        );
        let num = |x: Option<f64>| x.map(|v| v.to_string()).unwrap_or_default();
        let mut out = csv_line(&head);
        for r in &self.rows {
            let mut c = vec![r.index.to_string(), r.name.clone(), r.state.name().into()];
            c.extend(r.axes.iter().map(|(_, v)| v.clone()));
            c.push(r.steps.map(|s| s.to_string()).unwrap_or_default());
            c.push(num(r.final_train_loss));
            c.extend(
                self.metrics
                    .iter()
                    .map(|m| num(r.final_eval.get(m).and_then(|v| v.as_f64()))),
            );
            c.push(num(r.loss_drop_step));
            c.push(r.induction_head.clone().unwrap_or_default());
            c.push(num(r.induction_formed_step));
            c.push(num(r.previous_token_formed_step));
            out.push_str(&csv_line(&c));
        }
        out
    }

    /// Write `sweep.json` and `sweep.csv` into the sweep directory.
    pub fn write(&self) -> Result<Vec<PathBuf>> {
        let json = self.sweep.join("sweep.json");
        let csv = self.sweep.join("sweep.csv");
        crate::report::write_json(&json, self)?;
        crate::report::atomic_write(&csv, self.csv().as_bytes())?;
        Ok(vec![json, csv])
    }
}

/// One CSV line (RFC 4180 quoting: a field with a comma, quote or line break is quoted).
fn csv_line(fields: &[String]) -> String {
    let q: Vec<String> = fields
        .iter()
        .map(|f| {
            if f.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", f.replace('"', "\"\""))
            } else {
                f.clone()
            }
        })
        .collect();
    format!("{}\n", q.join(","))
}

#[cfg(test)]
mod tests {
    use super::csv_line;

    #[test]
    fn csv_fields_are_quoted_where_needed() {
        let l = csv_line(&["a".into(), "0.9,0.98".into(), "say \"hi\"".into()]);
        assert_eq!(l, "a,\"0.9,0.98\",\"say \"\"hi\"\"\"\n");
    }
}
