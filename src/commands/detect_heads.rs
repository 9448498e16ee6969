//! `indu detect-heads`: score every head on the repeat probe (or task data), write
//! heads.json and plots/head_scores.png, print a table.
use crate::cli::{DetectArgs, OnArg};
use anyhow::{bail, Context, Result};
use indu::analysis::{detect_heads, DetectOptions, HeadsFile};
use indu::detect::tl::TlHead;
use indu::detect::{Detector, Thresholds, Variant};
use indu::plot::{heatmap_grid, Colormap, Heatmap};

pub fn run(a: DetectArgs) -> Result<()> {
    for (name, t) in [
        ("--threshold-token", a.threshold_token),
        ("--threshold-induction", a.threshold_induction),
    ] {
        if let Some(t) = t.filter(|t| !(0.0..=1.0).contains(t)) {
            bail!("{name} {t}: expected a score between 0 and 1");
        }
    }
    if a.on == OnArg::Probe {
        indu::analysis::check_repeats(a.repeats)?;
    }
    let lr = super::open_run(&a.run)?;
    // The probe's patterns are held twice (capture + scores): bound the batch by memory.
    let per_row = lr.cfg.activation_floats_per_row().saturating_mul(2).max(1);
    super::at_most(
        "--batch",
        a.batch,
        (indu::config::MAX_STEP_FLOATS / per_row).clamp(1, 100_000),
        "probe rows for this model",
    )?;
    let mut thresholds = Thresholds::default();
    if let Some(t) = a.threshold_token {
        thresholds.current_token = t;
        thresholds.previous_token = t;
        thresholds.first_token = t;
        thresholds.duplicate_token = t;
    }
    if let Some(t) = a.threshold_induction {
        thresholds.induction = t;
    }
    let opts = DetectOptions {
        probe_len: a.probe_len,
        repeats: a.repeats,
        batch: a.batch,
        seed: a.seed,
        on_task: a.on == OnArg::Task,
        thresholds,
    };
    let (file, _, _) = detect_heads(&lr, &opts)?;
    let mut outputs = indu::report::Outputs::new();
    let plots = outputs.dir(&lr.run.plots())?;
    let png = outputs.file(&plots.join("head_scores.png"));
    heatmap_grid(
        &png,
        &format!(
            "Head detector scores (run of task: {}) on {}",
            file.task, file.description
        ),
        &panels(&file),
        Detector::ALL.len(),
    )
    .with_context(|| format!("drawing {}", png.display()))?;
    indu::report::write_json(&outputs.file(&lr.run.heads()), &file)?;
    outputs.keep();
    // Notes go out only once the command has succeeded (a failure prints one line).
    if let Some(note) = &file.note {
        eprintln!("{note}");
    }
    if a.run.json {
        println!("{}", serde_json::to_string_pretty(&file)?);
    } else {
        print_table(&file);
        println!("wrote {} and {}", lr.run.heads().display(), png.display());
    }
    Ok(())
}

/// Table names of the TransformerLens variants (`TlOptions::REPORTED`).
const TL_SHORT: [(&str, &str); 4] = [
    ("mul", "mul"),
    ("mul_exclude_bos", "mul-bos"),
    ("mul_exclude_bos_and_current", "mul-bos-cur"),
    ("abs", "abs"),
];

/// A table row of scores, "-" where a score is not applicable (NaN).
fn cells(m: &[Vec<f64>]) -> String {
    m.iter()
        .flatten()
        .map(|v| {
            if v.is_nan() {
                format!("{:>6}", "-")
            } else {
                format!("{v:>6.2}")
            }
        })
        .collect()
}

/// One heatmap (layers x heads, values in the cells) per detector and variant.
fn panels(file: &HeadsFile) -> Vec<Heatmap> {
    let s = &file.report.scores;
    let mut out = Vec::new();
    for variant in Variant::ALL {
        for det in Detector::ALL {
            let Some(m) = s.get(det, variant) else {
                continue;
            };
            out.push(Heatmap {
                title: format!("{det} ({variant})"),
                x_label: "head".into(),
                y_label: "layer".into(),
                x_ticks: (0..s.n_heads).map(|h| h.to_string()).collect(),
                y_ticks: (0..s.n_layers).map(|l| l.to_string()).collect(),
                values: m.iter().flatten().map(|&v| v as f32).collect(),
                rows: s.n_layers,
                cols: s.n_heads,
                range: Some((0.0, 1.0)),
                hide_upper: false,
                annotate: true,
                colormap: Colormap::Blues,
                colorbar_label: "score".into(),
            });
        }
    }
    out
}

fn print_table(file: &HeadsFile) {
    let s = &file.report.scores;
    println!("{} on {}", file.description, file.run);
    let heads: Vec<String> = (0..s.n_layers)
        .flat_map(|l| (0..s.n_heads).map(move |h| format!("{l}.{h}")))
        .collect();
    println!(
        "{:<16} {:<12} {}",
        "detector",
        "variant",
        heads.iter().map(|h| format!("{h:>6}")).collect::<String>()
    );
    for det in Detector::ALL {
        for variant in Variant::ALL {
            let Some(m) = s.get(det, variant) else {
                continue;
            };
            println!("{:<16} {:<12} {}", det.name(), variant.name(), cells(m));
        }
    }
    if let Some(tl) = &file.tl_detect_head {
        println!(
            "TransformerLens detect_head, mean over rows (heads.json tl_detect_head; \
             -bos = exclude_bos, -cur = exclude_current_token):"
        );
        for head in TlHead::ALL {
            for (variant, short) in TL_SHORT {
                let Some(m) = tl.scores.get(head.name()).and_then(|v| v.get(variant)) else {
                    continue;
                };
                let name = head
                    .name()
                    .trim_end_matches("_head")
                    .trim_end_matches("_token");
                let name = format!("tl {name}");
                println!("{name:<16} {short:<12} {}", cells(m));
            }
        }
    }
    for det in Detector::ALL {
        let flags = file
            .report
            .flagged
            .get(det.name())
            .and_then(|v| v.get(Variant::WithBos.name()));
        if let Some(f) = flags.filter(|f| !f.is_empty()) {
            println!(
                "{} heads (score > {}): {}",
                det.name(),
                file.report.thresholds.get(det),
                f.join(", ")
            );
        }
    }
    if let Some(lp) = &file.logprobs {
        println!(
            "mean log-prob: first copy {:.2}, later copies {:.2} (chance {:.2})",
            lp.first_copy, lp.later_copies, lp.chance
        );
    }
}
