//! The report as tables: `sweep.csv` (every column, RFC 4180 quoting) and the summary on
//! stdout (a markdown table of the columns a person scans: name, state, final train loss,
//! the task's headline eval metrics, the induction head's formation step; then each
//! setting's share of seeds that formed one).
use super::{Row, SweepReport};
use crate::sweep::result::State;

/// The columns before the axes.
pub const LEAD: [&str; 3] = ["index", "name", "state"];
/// The columns between the axes and the eval metrics.
pub const RUN: [&str; 3] = ["steps", "stopped_at", "final_train_loss"];
/// The columns between the eval metrics and the head scores.
pub const PHASES: [&str; 5] = [
    "steps_to_target",
    "loss_drop_step",
    "induction_head",
    "induction_formed_step",
    "previous_token_formed_step",
];
/// The prefix of the eval-metric columns (metrics.jsonl's).
pub const EVAL: &str = crate::tasks::metric::EVAL_PREFIX;
/// The prefix of the head-score columns.
pub const SCORE: &str = "score_";

/// Every column of `sweep.csv`, in order.
pub fn header(r: &SweepReport) -> Vec<String> {
    let mut h: Vec<String> = LEAD.iter().map(|s| s.to_string()).collect();
    h.extend(r.axes.iter().map(|a| a.key.clone()));
    h.extend(RUN.iter().map(|s| s.to_string()));
    h.extend(r.eval_metrics.iter().map(|m| format!("{EVAL}{m}")));
    h.extend(PHASES.iter().map(|s| s.to_string()));
    h.extend(r.score_columns.iter().map(|c| format!("{SCORE}{c}")));
    h
}

/// One row's cells, in `header` order (empty where a value is missing).
pub fn cells(r: &SweepReport, row: &Row) -> Vec<String> {
    let num = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let int = |v: Option<usize>| v.map(|v| v.to_string()).unwrap_or_default();
    let mut c = vec![
        row.index.to_string(),
        row.name.clone(),
        row.state.name().to_string(),
    ];
    c.extend(row.values.iter().cloned());
    c.extend([
        int(row.steps),
        int(row.stopped_at),
        num(row.final_train_loss),
    ]);
    c.extend(
        r.eval_metrics
            .iter()
            .map(|m| num(row.final_eval.get(m).copied())),
    );
    c.extend([
        int(row.steps_to_target),
        num(row.loss_drop_step),
        row.induction_head.clone().unwrap_or_default(),
        int(row.induction_formed_step),
        int(row.previous_token_formed_step),
    ]);
    c.extend(
        r.score_columns
            .iter()
            .map(|k| num(row.scores.get(k).copied())),
    );
    c
}

/// A CSV field: quoted (inner quotes doubled) when it holds a comma, a quote or a line break.
pub fn quote(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

/// `sweep.csv`: the header and one line per row.
pub fn csv(r: &SweepReport) -> String {
    let line = |cells: Vec<String>| {
        let q: Vec<String> = cells.iter().map(|c| quote(c)).collect();
        q.join(",") + "\n"
    };
    let mut out = line(header(r));
    for row in &r.rows {
        out.push_str(&line(cells(r, row)));
    }
    out
}

/// A number in 4 significant digits (`-` when missing).
fn short(v: Option<f64>) -> String {
    match v {
        Some(v) if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e5) => format!("{v:.3e}"),
        Some(v) => format!("{}", (v * 1e4).round() / 1e4),
        None => "-".into(),
    }
}

/// The summary on stdout: a line about the sweep, the table, then each setting's share of
/// seeds with an induction head.
pub fn human(r: &SweepReport) -> Vec<String> {
    let mut counts: Vec<(State, usize)> = State::ALL
        .iter()
        .map(|&s| (s, r.rows.iter().filter(|x| x.state == s).count()))
        .filter(|(_, n)| *n > 0)
        .collect();
    counts.sort();
    let counts: Vec<String> = counts
        .iter()
        .map(|(s, n)| format!("{n} {}", s.name()))
        .collect();
    let mut out = vec![format!(
        "{}: {} runs of {} ({})",
        r.sweep.display(),
        r.rows.len(),
        r.task,
        counts.join(", ")
    )];
    let mut head: Vec<String> = ["name", "state", "train loss"].map(String::from).to_vec();
    head.extend(r.headline.iter().map(|m| format!("eval {m}")));
    head.push("induction formed at".into());
    let body: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row| {
            let mut c = vec![
                row.name.clone(),
                row.state.name().to_string(),
                short(row.final_train_loss),
            ];
            c.extend(
                r.headline
                    .iter()
                    .map(|m| short(row.final_eval.get(m).copied())),
            );
            c.push(match (row.induction_formed, row.induction_formed_step) {
                (_, Some(s)) => format!("step {s}"),
                (Some(false), None) => "never".into(),
                _ => "-".into(),
            });
            c
        })
        .collect();
    let widths: Vec<usize> = (0..head.len())
        .map(|i| {
            body.iter()
                .map(|c| c[i].chars().count())
                .chain([head[i].chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let fmt = |cells: &[String]| {
        let c: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, &w)| format!("{c:<w$}"))
            .collect();
        format!("| {} |", c.join(" | "))
    };
    out.push(fmt(&head));
    let rule: Vec<String> = widths.iter().map(|&w| "-".repeat(w)).collect();
    out.push(format!("|-{}-|", rule.join("-|-")));
    out.extend(body.iter().map(|c| fmt(c)));
    for s in r.settings.iter().filter(|s| s.tracked > 0) {
        out.push(format!(
            "{}: {} of {} seeds formed an induction head",
            s.name, s.formed, s.tracked
        ));
    }
    out
}
