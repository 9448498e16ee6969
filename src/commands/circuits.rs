//! `indu circuits`: weight-based circuit scores -> circuits.json, plots/circuits_*.png,
//! a table.
use crate::cli::RunArg;
use anyhow::Result;
use indu::circuits::analyze::CircuitOptions;
use indu::experiments::circuits;

pub fn run(a: RunArg) -> Result<()> {
    let lr = super::open_run(&a)?;
    let c = circuits::run(&lr, &CircuitOptions::default())?;
    let wrote = c.write(&lr)?;
    super::emit(&c.file, a.json, &wrote)
}
