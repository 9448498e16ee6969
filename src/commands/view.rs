//! `indu view`: one offline, interactive HTML page of a run -> view.html; with `--sweep`,
//! the page of a sweep (its report's table and plots, links to its runs' pages).
use crate::cli::ViewArgs;
use anyhow::Result;
use indu::experiments::view::{self, sweep::SweepViewOptions, Scrubber, ViewOptions};
use indu::sweep::{report, slurm, status, Sweep};

pub fn run(mut a: ViewArgs) -> Result<()> {
    if let Some(dir) = &a.sweep {
        let sweep = Sweep::open(dir)?;
        let st = status::status(&sweep, &slurm::queue(), &slurm::task_end);
        let r = report::build(&sweep, &st)?;
        let o = SweepViewOptions {
            out: a.out.clone(),
            no_run_pages: a.no_run_pages,
        };
        let done = view::sweep::write(&sweep, &r, &o)?;
        let mut wrote = done.run_pages.clone();
        wrote.push(done.file.clone());
        return super::emit(&done, a.json, &wrote);
    }
    let o = ViewOptions {
        source: a.source(),
        given: a.given(),
        seed: a.seed,
        scrubber: if a.scrubber {
            Scrubber::Required
        } else {
            Scrubber::IfTracked
        },
        out: a.out,
    };
    let lr = indu::analysis::LoadedRun::open(a.run.as_deref(), candle_core::Device::Cpu)?;
    let data = view::run(&lr, &o)?;
    let report = data.write(&lr, o.out.as_deref())?;
    super::emit(&report, a.json, std::slice::from_ref(&report.file))
}
