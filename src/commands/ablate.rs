//! `indu ablate`: loss with heads ablated vs clean, each head alone and the whole set ->
//! ablate.json and plots/ablate.png (loss increase per head), plus a short table.
use crate::cli::{AblateArgs, AblateMode, OnArg};
use anyhow::{bail, Context, Result};
use indu::circuits::ablate::{ablated_logits, check, metrics, Ablation, Metrics};
use indu::circuits::qk_ov::ModelW;
use indu::circuits::{parse_heads, HeadRef};
use indu::plot::bar_chart;
use serde::Serialize;

#[derive(Serialize)]
struct Row {
    heads: Vec<String>,
    metrics: Metrics,
    /// Ablated loss minus clean loss.
    loss_increase: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    later_copies_increase: Option<f64>,
}

#[derive(Serialize)]
struct AblateFile {
    schema_version: u32,
    run: String,
    task: String,
    on: String,
    mode: String,
    description: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    clean: Metrics,
    ablations: Vec<Row>,
}

pub fn run(a: AblateArgs) -> Result<()> {
    let lr = super::open_run(&a.run)?;
    let cfg = lr.cfg.model.clone();
    // Every argument is checked before anything runs or any note is printed.
    let heads = parse_heads(&a.heads, cfg.n_layers, cfg.n_heads)?;
    let rank = a.rank.unwrap_or((cfg.d_head / 2).max(1));
    let how = match a.mode {
        AblateMode::Zero => Ablation::Zero,
        AblateMode::Mean => Ablation::Mean,
        AblateMode::Resample => Ablation::Resample,
        AblateMode::Shuffle => Ablation::Shuffle,
        AblateMode::ProjectOut => Ablation::ProjectOut { rank },
        AblateMode::ProjectKeep => Ablation::ProjectKeep { rank },
    };
    if let Some(r) = a.rank {
        if !matches!(
            how,
            Ablation::ProjectOut { .. } | Ablation::ProjectKeep { .. }
        ) {
            bail!(
                "--rank {r} only applies to --mode project-out or project-keep, not --mode {}",
                how.name()
            );
        }
        if r == 0 || r > cfg.d_model {
            bail!("--rank {r}: expected 1..={} (d_model)", cfg.d_model);
        }
    }
    if a.batch == 0 {
        bail!("--batch 0: expected at least 1 row");
    }
    check(how, &heads, a.batch)?;
    let probe_shape = match a.on {
        OnArg::Probe => Some(indu::analysis::probe_for(
            lr.n_ctx(),
            a.probe_len,
            a.repeats,
        )?),
        OnArg::Task => None,
    };
    let m = ModelW::load(&lr.run.model(), &cfg)?;
    let (rows, probe, note, description) = match probe_shape {
        None => {
            let rows = lr.task_rows(a.batch, a.seed);
            let d = format!(
                "{} fresh held-out rows of the task, seed {}",
                rows.len(),
                a.seed
            );
            (rows, None, None, d)
        }
        Some((probe, note)) => {
            let rows = lr.probe_rows(probe, a.batch, a.seed)?;
            let d = format!(
                "repeated-token probe [BOS] + r*{}, T = {}, {} rows, seed {}",
                probe.k,
                probe.t,
                rows.len(),
                a.seed
            );
            (rows, Some(probe), note, d)
        }
    };
    let clean_logits = lr.model.forward(
        &indu::data::tokens_tensor(&rows.tokens, rows.len(), rows.n_ctx, &lr.device)?,
        None,
    )?;
    let clean = metrics(&lr, &clean_logits, &rows, probe)?;
    let mut sets: Vec<Vec<HeadRef>> = heads.iter().map(|h| vec![*h]).collect();
    if heads.len() > 1 {
        sets.push(heads.clone());
    }
    let mut out = Vec::new();
    for set in sets {
        let logits = ablated_logits(&lr, &m, &rows, &set, how, a.seed)?;
        let met = metrics(&lr, &logits, &rows, probe)?;
        out.push(Row {
            heads: set.iter().map(|h| h.to_string()).collect(),
            loss_increase: met.loss - clean.loss,
            later_copies_increase: met
                .later_copies_loss
                .zip(clean.later_copies_loss)
                .map(|(x, y)| x - y),
            metrics: met,
        });
    }
    let file = AblateFile {
        schema_version: 1,
        run: lr.run.path.display().to_string(),
        task: lr.cfg.task.task().name().to_string(),
        on: match a.on {
            OnArg::Probe => "probe".into(),
            OnArg::Task => "task".into(),
        },
        mode: how.name(),
        description,
        note,
        clean,
        ablations: out,
    };
    let plots = lr.run.plots_dir()?;
    let png = plots.join("ablate.png");
    // On the probe each set gets two bars: all predictions, and the repeated copies alone.
    let mut labels = Vec::new();
    let mut values = Vec::new();
    for r in &file.ablations {
        let name = r.heads.join("+");
        labels.push(name.clone());
        values.push(r.loss_increase);
        if let Some(l) = r.later_copies_increase {
            labels.push(format!("{name} (repeats)"));
            values.push(l);
        }
    }
    let scope = if probe.is_some() {
        "; (repeats) = predictions in copies 1.."
    } else {
        ""
    };
    bar_chart(
        &png,
        &format!(
            "Loss increase, {} ablation on the {} (clean loss {:.3}{scope})",
            file.mode, file.on, file.clean.loss
        ),
        "ablated loss - clean loss",
        &labels,
        &values,
    )
    .with_context(|| format!("drawing {}", png.display()))?;
    let json = lr.run.path.join("ablate.json");
    indu::report::write_json(&json, &file)?;
    // Only once everything is written: an error is then the one line on stderr.
    if let Some(n) = &file.note {
        eprintln!("{n}");
    }
    if a.run.json {
        println!("{}", serde_json::to_string_pretty(&file)?);
        return Ok(());
    }
    println!(
        "{} ablation on {} of {}",
        file.mode, file.description, file.run
    );
    let fmt = |m: &Metrics| match (m.first_copy_loss, m.later_copies_loss) {
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
    };
    println!("{:<12} {}", "clean", fmt(&file.clean));
    for r in &file.ablations {
        println!(
            "{:<12} {}  ({:+.3})",
            r.heads.join("+"),
            fmt(&r.metrics),
            r.loss_increase
        );
    }
    println!("wrote {} and {}", json.display(), png.display());
    Ok(())
}
