//! The figures of `indu circuits`, `indu ablate` and `indu attribute`: plain data in
//! (reports and matrices), PNG files out, through `plot::heatmap_grid` / `plot::bar_chart`.
use super::analyze::{CircuitMatrices, CircuitsFile, Subspaces};
use super::attribute::Attribution;
use super::svd::Mat;
use crate::error::Result;
use crate::plot::{heatmap_grid, line_plot, Colormap, Heatmap, LinePlot, Series};
use std::path::{Path, PathBuf};

/// Most rows or columns a circuit panel draws: a larger matrix (a vocabulary of thousands,
/// an imported model's long context) is cut to its first `MAX_SHOWN` rows and columns, and
/// the panel's title says so.
const MAX_SHOWN: usize = 128;

fn panel(
    title: String,
    m: &Mat,
    x: &str,
    y: &str,
    ticks: (&[String], &[String]),
    hide_upper: bool,
) -> Heatmap {
    let (rows, cols) = (m.rows.min(MAX_SHOWN), m.cols.min(MAX_SHOWN));
    let title = if (rows, cols) == (m.rows, m.cols) {
        title
    } else {
        format!("{title}, first {rows} x {cols} of {} x {}", m.rows, m.cols)
    };
    let values = (0..rows)
        .flat_map(|r| {
            m.data[r * m.cols..r * m.cols + cols]
                .iter()
                .map(|&v| v as f32)
        })
        .collect();
    let cut = |t: &[String], n: usize| t.iter().take(n).cloned().collect::<Vec<_>>();
    Heatmap {
        title,
        x_label: x.into(),
        y_label: y.into(),
        x_ticks: cut(ticks.0, cols),
        y_ticks: cut(ticks.1, rows),
        values,
        rows,
        cols,
        range: None,
        hide_upper,
        annotate: false,
        colormap: Colormap::RdBu,
        colorbar_label: "matrix entry".into(),
    }
}

/// Draw `plots/circuits_{qk,ov,pos_qk,kcomp,composition,subspace}.png`; returns the paths
/// written.
/// `tokens_in` / `tokens_out` label the vocabulary axes.
pub fn circuit_figures(
    dir: &Path,
    file: &CircuitsFile,
    mats: &CircuitMatrices,
    tokens_in: &[String],
    tokens_out: &[String],
) -> Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    // One row per layer when layers have several heads; a 1-head model puts layers side by side.
    let ncols = if file.n_heads > 1 {
        file.n_heads.min(4)
    } else {
        file.heads.len().clamp(1, 4)
    };
    let names: Vec<&str> = file.heads.iter().map(|h| h.head.as_str()).collect();
    let in_ticks = (tokens_in, tokens_in);
    let qk: Vec<Heatmap> = mats
        .full_qk
        .iter()
        .zip(&file.heads)
        .map(|(m, h)| {
            panel(
                format!("{} QK (diag {:.2})", h.head, h.qk_diag),
                m,
                "key token",
                "query token",
                in_ticks,
                false,
            )
        })
        .collect();
    let ov: Vec<Heatmap> = mats
        .full_ov
        .iter()
        .zip(&file.heads)
        .map(|(m, h)| {
            panel(
                format!("{} OV (diag {:.2})", h.head, h.ov_diag),
                m,
                "output logit",
                "attended token",
                (tokens_out, tokens_in),
                false,
            )
        })
        .collect();
    let pos: Vec<Heatmap> = mats
        .positional_qk
        .iter()
        .zip(&file.heads)
        .map(|(m, h)| {
            panel(
                format!("{} pos QK (prev {:.2})", h.head, h.pos_prev),
                m,
                "key pos",
                "query pos",
                (&[], &[]),
                true,
            )
        })
        .collect();
    let figs: [(&str, String, Vec<Heatmap>); 3] = [
        ("circuits_qk.png", "Full QK circuits W_E W_QK W_E^T (diag = share of rows with max on the diagonal)".to_string(), qk),
        ("circuits_ov.png", "Full OV circuits W_E W_OV W_U (diag = share of tokens that copy themselves)".to_string(), ov),
        ("circuits_pos_qk.png", "Positional QK circuits W_pos W_QK W_pos^T (causal part; prev = share of rows with max at q-1)".to_string(), pos),
    ];
    for (name, title, panels) in figs {
        let p = dir.join(name);
        heatmap_grid(&p, &title, &panels, ncols)?;
        written.push(p);
    }
    if !mats.k_circuits.is_empty() {
        let panels: Vec<Heatmap> = mats
            .k_circuits
            .iter()
            .map(|(a, b, m)| {
                let d = super::qk_ov::diag_score(m);
                panel(
                    format!("{b} QK via {a} OV (diag {d:.2})"),
                    m,
                    "key's previous token (moved by the earlier head)",
                    "query token",
                    in_ticks,
                    false,
                )
            })
            .collect();
        let p = dir.join("circuits_kcomp.png");
        heatmap_grid(&p, "K-composition circuits W_E W_QK^B (W_E W_OV^A)^T, A = strongest K-composing earlier head", &panels, ncols)?;
        written.push(p);
    }
    if let Some(comp) = &file.composition {
        let earlier: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| !n.starts_with(&format!("{}.", file.n_layers - 1)))
            .collect();
        let later: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| !n.starts_with("0."))
            .collect();
        let grid = |f: &dyn Fn(&str, &str) -> Option<f64>| -> Vec<f32> {
            earlier
                .iter()
                .flat_map(|a| later.iter().map(move |b| (*a, *b)))
                .map(|(a, b)| f(a, b).map_or(f32::NAN, |v| v as f32))
                .collect()
        };
        let find = |a: &str, b: &str| comp.pairs.iter().find(|p| p.earlier == a && p.later == b);
        let hi = comp
            .pairs
            .iter()
            .map(|p| p.q.max(p.k).max(p.v))
            .fold(comp.baseline.mean, f64::max) as f32;
        let mk =
            |title: &str, values: Vec<f32>, range: Option<(f32, f32)>, cmap: Colormap| Heatmap {
                title: title.into(),
                x_label: "later head".into(),
                y_label: "earlier head".into(),
                x_ticks: later.iter().map(|s| s.to_string()).collect(),
                y_ticks: earlier.iter().map(|s| s.to_string()).collect(),
                values,
                rows: earlier.len(),
                cols: later.len(),
                range,
                hide_upper: false,
                annotate: true,
                colormap: cmap,
                colorbar_label: "composition score".into(),
            };
        let r = Some((0.0, hi));
        let diag = |a: &str, b: &str| {
            file.diagonal_pairs
                .iter()
                .find(|p| p.earlier == a && p.later == b)
        };
        let panels = vec![
            mk(
                "Q-composition",
                grid(&|a, b| find(a, b).map(|p| p.q)),
                r,
                Colormap::Blues,
            ),
            mk(
                "K-composition",
                grid(&|a, b| find(a, b).map(|p| p.k)),
                r,
                Colormap::Blues,
            ),
            mk(
                "V-composition",
                grid(&|a, b| find(a, b).map(|p| p.v)),
                r,
                Colormap::Blues,
            ),
            mk(
                "seed 004 z, token basis",
                grid(&|a, b| diag(a, b).map(|p| p.z_token)),
                None,
                Colormap::RdBu,
            ),
            mk(
                "seed 004 z, W_E eigenbasis",
                grid(&|a, b| diag(a, b).map(|p| p.z_embed)),
                None,
                Colormap::RdBu,
            ),
        ];
        let p = dir.join("circuits_composition.png");
        let title = format!(
            "Composition scores (random baseline {:.3} +- {:.3}, {} draws) and diagonal z-scores of W_QK^B W_OV^A^T",
            comp.baseline.mean, comp.baseline.std, comp.baseline.draws
        );
        heatmap_grid(&p, &title, &panels, 3)?;
        written.push(p);
    }
    if let Some(sub) = &file.subspaces {
        let p = dir.join("circuits_subspace.png");
        subspace_figure(&p, sub)?;
        written.push(p);
    }
    Ok(written)
}

/// Overlap vs rank of the K, Q and V pathways against random subspaces: every pair's curves
/// when there are at most two pairs, else the max and the mean over the pairs.
pub fn subspace_figure(path: &Path, s: &Subspaces) -> Result<()> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for p in &s.pathways {
        let k = (p.earlier.clone(), p.later.clone());
        if !pairs.contains(&k) {
            pairs.push(k);
        }
    }
    type Pick = fn(&super::analyze::PathOverlap) -> f64;
    let paths: [(&str, Pick); 3] = [
        ("K", |p| p.k.mean),
        ("Q", |p| p.q.mean),
        ("V", |p| p.v.mean),
    ];
    let mut series = Vec::new();
    for (name, f) in paths {
        if pairs.len() <= 2 {
            for (a, b) in &pairs {
                series.push(Series {
                    name: format!("{name}: {a} -> {b}"),
                    points: s
                        .pathways
                        .iter()
                        .filter(|p| &p.earlier == a && &p.later == b)
                        .map(|p| (p.rank as f64, f(p)))
                        .collect(),
                });
            }
            continue;
        }
        let at = |r: usize| s.pathways.iter().filter(move |p| p.rank == r).map(f);
        series.push(Series {
            name: format!("{name}: max over {} pairs", pairs.len()),
            points: s
                .ranks
                .iter()
                .map(|&r| (r as f64, at(r).fold(f64::NAN, f64::max)))
                .collect(),
        });
        series.push(Series {
            name: format!("{name}: mean over {} pairs", pairs.len()),
            points: s
                .ranks
                .iter()
                .map(|&r| (r as f64, at(r).sum::<f64>() / at(r).count().max(1) as f64))
                .collect(),
        });
    }
    series.push(Series {
        name: "random subspaces".into(),
        points: s
            .ranks
            .iter()
            .zip(&s.random_baseline)
            .map(|(&r, b)| (r as f64, b.mean))
            .collect(),
    });
    line_plot(
        path,
        &LinePlot {
            title: "Common subspace: earlier head's OV write vs later head's K / Q / V read".into(),
            x_label: "rank r (top-r singular directions of each head)".into(),
            y_label: "overlap (mean cos^2 of principal angles)".into(),
            log_y: false,
            series,
            vlines: Vec::new(),
        },
    )
}

/// Draw the attribution heatmap `[component, position]` to `path`.
pub fn attribution_figure(
    path: &Path,
    a: &Attribution,
    title: &str,
    x_ticks: Vec<String>,
) -> Result<()> {
    let cols = a.logit.len();
    let h = Heatmap {
        title: title.into(),
        x_label: "position (prediction of the next token)".into(),
        y_label: "component".into(),
        x_ticks,
        y_ticks: a.components.clone(),
        values: a.per_position.iter().flatten().map(|&v| v as f32).collect(),
        rows: a.components.len(),
        cols,
        range: None,
        hide_upper: false,
        annotate: false,
        colormap: Colormap::RdBu,
        colorbar_label: "logit contribution".into(),
    };
    heatmap_grid(path, "", &[h], 1)
}
