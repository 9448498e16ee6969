//! Renders one of each figure `indu::plot` draws, for looking at: `cargo run --release
//! --example plot_demo [OUT_DIR]` (default `target/plot_demo`).
use std::path::PathBuf;

use indu::plot::{
    bar_chart, heatmap, heatmap_grid, line_plot, Colormap, Heatmap, LinePlot, Marker, Series,
};

/// Deterministic pseudo-random numbers in [0, 1) (no RNG state needed for a demo).
fn noise(i: usize) -> f32 {
    let x = (i as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .rotate_left(17)
        ^ 0xABCD_EF01;
    (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f32 / (1u64 << 24) as f32
}

/// A causal attention pattern over `tokens` where each query attends mostly to the token
/// after the previous occurrence of its own token (an induction head), else to itself.
fn induction_pattern(tokens: &[char], seed: usize) -> Vec<f32> {
    let n = tokens.len();
    let mut v = vec![0.0f32; n * n];
    for q in 0..n {
        let prev = (0..q)
            .rev()
            .find(|&k| tokens[k] == tokens[q])
            .map(|k| k + 1);
        let mut row: Vec<f32> = (0..=q).map(|k| 0.2 * noise(seed + q * n + k)).collect();
        row[prev.unwrap_or(q).min(q)] += 4.0;
        let s: f32 = row.iter().map(|x| x.exp()).sum();
        for k in 0..=q {
            v[q * n + k] = row[k].exp() / s;
        }
    }
    v
}

fn attention(title: &str, tokens: &[char], seed: usize) -> Heatmap {
    let ticks: Vec<String> = tokens.iter().map(|c| c.to_string()).collect();
    Heatmap {
        title: title.to_string(),
        x_label: "key position".into(),
        y_label: "query position".into(),
        x_ticks: ticks.clone(),
        y_ticks: ticks,
        values: induction_pattern(tokens, seed),
        rows: tokens.len(),
        cols: tokens.len(),
        range: Some((0.0, 1.0)),
        hide_upper: true,
        annotate: false,
        colormap: Colormap::Blues,
        colorbar_label: "attention".into(),
    }
}

fn main() -> indu::Result<()> {
    let out = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "target/plot_demo".into()),
    );
    std::fs::create_dir_all(&out).map_err(indu::Error::io(&out))?;

    let scores = Heatmap {
        title: "Induction score per head".into(),
        x_label: "head".into(),
        y_label: "layer".into(),
        x_ticks: (0..4).map(|h| format!("H{h}")).collect(),
        y_ticks: (0..2).map(|l| format!("L{l}")).collect(),
        values: vec![0.02, 0.05, 0.01, 0.11, 0.93, 0.04, 0.67, 0.08],
        rows: 2,
        cols: 4,
        range: Some((0.0, 1.0)),
        hide_upper: false,
        annotate: true,
        colormap: Colormap::Viridis,
        colorbar_label: "value".into(),
    };
    heatmap(&out.join("scores_2x4.png"), &scores)?;

    let short: Vec<char> = "abcdefabcde".chars().collect();
    heatmap(
        &out.join("attn_11.png"),
        &attention("layer 1 head 2", &short, 1),
    )?;

    let alphabet: Vec<char> = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        .chars()
        .collect();
    let mut long: Vec<char> = vec!['^'];
    let half: Vec<char> = (0..61)
        .map(|i| alphabet[(noise(i + 77) * 62.0) as usize % 62])
        .collect();
    long.extend(&half);
    long.extend(&half[..60]);
    heatmap(
        &out.join("attn_122.png"),
        &attention("layer 1 head 6, repeated random tokens", &long, 2),
    )?;

    let diverging = Heatmap {
        title: "Direct logit attribution".into(),
        x_label: "position".into(),
        y_label: "component".into(),
        x_ticks: vec![],
        y_ticks: ["embed", "L0H0", "L0H1", "L1H0", "L1H1", "mlp0"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        values: (0..6 * 9).map(|i| (noise(i + 5) - 0.5) * 6.0).collect(),
        rows: 6,
        cols: 9,
        range: None,
        hide_upper: false,
        annotate: true,
        colormap: Colormap::RdBu,
        colorbar_label: "value".into(),
    };
    heatmap(&out.join("dla_rdbu.png"), &diverging)?;

    let small: Vec<Heatmap> = (0..3)
        .map(|i| Heatmap {
            title: format!("layer {} head {}", i / 2, i % 2),
            x_label: "key".into(),
            y_label: "query".into(),
            x_ticks: vec!["A".into(), "B".into()],
            y_ticks: vec!["A".into(), "B".into()],
            values: vec![1.0, 0.0, 0.3 + 0.2 * i as f32, 0.7 - 0.2 * i as f32],
            rows: 2,
            cols: 2,
            range: Some((0.0, 1.0)),
            hide_upper: true,
            annotate: true,
            colormap: Colormap::Blues,
            colorbar_label: "attention".into(),
        })
        .collect();
    heatmap_grid(
        &out.join("grid_3x2x2.png"),
        "Attention, all heads",
        &small,
        3,
    )?;

    let heads: Vec<Heatmap> = (0..8)
        .map(|i| {
            let mut h = attention(&format!("layer {} head {}", i / 4, i % 4), &short, 10 + i);
            h.range = None;
            h.colormap = Colormap::Viridis;
            h
        })
        .collect();
    heatmap_grid(
        &out.join("grid_2x4_attn.png"),
        "Attention patterns (per-panel scales)",
        &heads,
        4,
    )?;

    let steps: Vec<f64> = (0..=300).map(|s| s as f64 * 20.0).collect();
    let series: Vec<Series> = (0..6)
        .map(|d| Series {
            name: format!("digit {d}"),
            points: steps
                .iter()
                .map(|&s| {
                    let drop = 1.0 / (1.0 + (-(s - 2500.0 - 150.0 * d as f64) / 120.0).exp());
                    (
                        s,
                        3.2 * (1.0 - 0.97 * drop) * (1.0 + 0.05 * noise(s as usize + d) as f64)
                            / (1.0 + d as f64 * 0.2),
                    )
                })
                .collect(),
        })
        .collect();
    let plot = LinePlot {
        title: "Training loss per digit".into(),
        x_label: "step".into(),
        y_label: "loss".into(),
        log_y: true,
        series,
        vlines: vec![Marker {
            x: 2600.0,
            label: "phase change".into(),
            series: Some(0),
        }],
    };
    line_plot(&out.join("loss_log.png"), &plot)?;

    let labels: Vec<String> = (0..2)
        .flat_map(|l| (0..4).map(move |h| format!("L{l}H{h}")))
        .collect();
    let values = [0.01, 0.12, -0.03, 0.0, 1.85, 0.04, 0.62, -0.08];
    bar_chart(
        &out.join("ablation_bars.png"),
        "Loss increase when a head is zero-ablated",
        "Δ loss",
        &labels,
        &values,
    )?;

    // Edge cases: a single long row, odd labels, gaps and empty series, many bars.
    let mut wide = scores.clone();
    (wide.rows, wide.cols, wide.annotate) = (1, 300, true);
    (wide.x_ticks, wide.y_ticks) = (vec![], vec!["loss".into()]);
    wide.values = (0..300).map(|i| (i as f32 / 40.0).sin()).collect();
    wide.colormap = Colormap::RdBu;
    wide.range = None;
    heatmap(&out.join("edge_wide.png"), &wide)?;
    let mut odd = scores.clone();
    odd.x_ticks = vec![
        "a very long label that gets cut".into(),
        "\n".into(),
        "é€".into(),
        "".into(),
    ];
    odd.values = vec![f32::NAN, 1e-5, -2.0, 3e6, 0.5, f32::INFINITY, 0.0, 1.0];
    odd.range = None;
    heatmap(&out.join("edge_labels.png"), &odd)?;
    let gaps = LinePlot {
        title: "Linear axis, gaps, one-point and empty series".into(),
        x_label: "step".into(),
        y_label: "accuracy".into(),
        log_y: false,
        series: vec![
            Series {
                name: "with NaN gap".into(),
                points: (0..40)
                    .map(|i| {
                        (
                            i as f64,
                            if (15..20).contains(&i) {
                                f64::NAN
                            } else {
                                (i as f64 / 10.0).sin()
                            },
                        )
                    })
                    .collect(),
            },
            Series {
                name: "empty".into(),
                points: vec![],
            },
            Series {
                name: "one point".into(),
                points: vec![(20.0, 0.5)],
            },
        ],
        vlines: vec![
            Marker {
                x: 10.0,
                label: "warm-up end".into(),
                series: None,
            },
            Marker {
                x: 39.0,
                label: "a label near the right edge".into(),
                series: Some(2),
            },
        ],
    };
    line_plot(&out.join("edge_lines.png"), &gaps)?;
    let many: Vec<String> = (0..64).map(|i| format!("L{}H{}", i / 8, i % 8)).collect();
    let vals: Vec<f64> = (0..64).map(|i| (noise(i) as f64 - 0.3) * 2.0).collect();
    bar_chart(
        &out.join("edge_bars64.png"),
        "64 heads",
        "Δ loss",
        &many,
        &vals,
    )?;
    println!("wrote demo figures to {}", out.display());
    Ok(())
}
