//! `circuits`: every weight-based score of a run's model (QK/OV circuits, composition
//! scores, diagonal pair scores, common subspaces) -> `CircuitsFile` (`circuits.json`) and
//! `plots/circuits_*.png`. The numerics are `circuits::analyze`'s.
use crate::analysis::LoadedRun;
use crate::circuits::analyze::{analyze, subspace_summary, CircuitMatrices, CircuitOptions};
use crate::circuits::figures::circuit_figures;
use crate::circuits::qk_ov::ModelW;
use crate::error::Result;
use crate::report::{write_json, Outputs, Report};
use std::path::PathBuf;

pub use crate::circuits::analyze::{CircuitsFile, SCHEMA_VERSION};

/// The report and the matrices its figures draw.
pub struct Circuits {
    pub file: CircuitsFile,
    pub matrices: CircuitMatrices,
}

/// Analyse the run's weights.
pub fn run(lr: &LoadedRun, o: &CircuitOptions) -> Result<Circuits> {
    let m = ModelW::of(&lr.weights, &lr.cfg.model)?;
    let (file, matrices) = analyze(
        &m,
        &lr.run.path.display().to_string(),
        lr.cfg.task.task().name(),
        o,
    )?;
    Ok(Circuits { file, matrices })
}

impl Circuits {
    /// Write the figures and `circuits.json`; returns the JSON path, then every PNG.
    pub fn write(&self, lr: &LoadedRun) -> Result<Vec<PathBuf>> {
        let mut outputs = Outputs::new();
        let tok = lr.tokenizer();
        let cfg = &lr.cfg.model;
        let labels = |n: usize| (0..n as u32).map(|t| tok.label(t)).collect::<Vec<_>>();
        let plots = outputs.dir(&lr.run.plots())?;
        let pngs = circuit_figures(
            &plots,
            &self.file,
            &self.matrices,
            &labels(cfg.d_vocab()),
            &labels(cfg.d_vocab_out()),
        )
        .map_err(|e| {
            crate::error::Error::Invalid(format!(
                "drawing circuit figures in {}: {e}",
                plots.display()
            ))
        })?;
        for p in &pngs {
            outputs.file(p);
        }
        let json = lr.run.path.join("circuits.json");
        write_json(&outputs.file(&json), &self.file)?;
        outputs.keep();
        Ok(std::iter::once(json).chain(pngs).collect())
    }
}

impl Report for CircuitsFile {
    const SCHEMA_VERSION: u32 = SCHEMA_VERSION;

    fn human(&self) -> Vec<String> {
        let f = self;
        let mut out = vec![format!("circuits of {} ({} task)", f.run, f.task)];
        for n in &f.notes {
            out.push(format!("note: {n}"));
        }
        out.push(format!(
            "{:<6} {:>8} {:>8} {:>8} {:>9} {:>10} {:>9}",
            "head", "QK diag", "OV diag", "OV z", "pos prev", "induction", "shifting"
        ));
        let opt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
        for (h, r) in f
            .heads
            .iter()
            .zip(f.roles.iter().map(Some).chain(std::iter::repeat(None)))
        {
            out.push(format!(
                "{:<6} {:>8.2} {:>8.2} {:>8.2} {:>9.2} {:>10} {:>9}",
                h.head,
                h.qk_diag,
                h.ov_diag,
                h.ov_diag_z,
                h.pos_prev,
                opt(r.and_then(|r| r.induction)),
                opt(r.and_then(|r| r.shifting))
            ));
        }
        if let Some(c) = &f.composition {
            out.push(format!(
                "composition (baseline {:.3} +- {:.3}):",
                c.baseline.mean, c.baseline.std
            ));
            for p in &c.pairs {
                out.push(format!(
                    "  {} -> {}: Q {:.3}  K {:.3}  V {:.3}",
                    p.earlier, p.later, p.q, p.k, p.v
                ));
            }
        }
        if let Some(s) = &f.subspaces {
            out.extend(subspace_summary(s));
        }
        out
    }
}
