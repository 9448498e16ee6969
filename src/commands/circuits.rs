//! `indu circuits`: QK/OV circuits, composition scores and seed 004's weight-based scores of
//! a run -> circuits.json and plots/circuits_*.png, plus a short table.
use crate::cli::RunArg;
use anyhow::{Context, Result};
use indu::circuits::analyze::{analyze, subspace_summary, CircuitOptions, CircuitsFile};
use indu::circuits::figures::circuit_figures;
use indu::circuits::qk_ov::ModelW;

pub fn run(a: RunArg) -> Result<()> {
    let lr = super::open_run(&a)?;
    let m = ModelW::load(&lr.run.model(), &lr.cfg.model)?;
    let (file, mats) = analyze(
        &m,
        &lr.run.path.display().to_string(),
        lr.cfg.task.task().name(),
        &CircuitOptions::default(),
    )?;
    let tok = lr.spec.tokenizer();
    let cfg = &lr.cfg.model;
    let labels = |n: usize| (0..n as u32).map(|t| tok.label(t)).collect::<Vec<_>>();
    let plots = lr.run.plots_dir()?;
    let pngs = circuit_figures(
        &plots,
        &file,
        &mats,
        &labels(cfg.d_vocab()),
        &labels(cfg.d_vocab_out()),
    )
    .with_context(|| format!("drawing circuit figures in {}", plots.display()))?;
    let out = lr.run.path.join("circuits.json");
    indu::report::write_json(&out, &file)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&file)?);
        return Ok(());
    }
    print_table(&file);
    println!("wrote {}", out.display());
    for p in pngs {
        println!("wrote {}", p.display());
    }
    Ok(())
}

fn print_table(f: &CircuitsFile) {
    println!("circuits of {} ({} task)", f.run, f.task);
    for n in &f.notes {
        println!("note: {n}");
    }
    println!(
        "{:<6} {:>8} {:>8} {:>8} {:>9} {:>10} {:>9}",
        "head", "QK diag", "OV diag", "OV z", "pos prev", "induction", "shifting"
    );
    let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
    for (h, r) in f
        .heads
        .iter()
        .zip(f.roles.iter().map(Some).chain(std::iter::repeat(None)))
    {
        println!(
            "{:<6} {:>8.2} {:>8.2} {:>8.2} {:>9.2} {:>10} {:>9}",
            h.head,
            h.qk_diag,
            h.ov_diag,
            h.ov_diag_z,
            h.pos_prev,
            opt(r.and_then(|r| r.induction)),
            opt(r.and_then(|r| r.shifting))
        );
    }
    if let Some(c) = &f.composition {
        println!(
            "composition (baseline {:.3} +- {:.3}):",
            c.baseline.mean, c.baseline.std
        );
        for p in &c.pairs {
            println!(
                "  {} -> {}: Q {:.3}  K {:.3}  V {:.3}",
                p.earlier, p.later, p.q, p.k, p.v
            );
        }
    }
    if let Some(s) = &f.subspaces {
        for line in subspace_summary(s) {
            println!("{line}");
        }
    }
}
