//! `indu view`: one offline, interactive HTML page of a run -> view.html.
use crate::cli::ViewArgs;
use anyhow::Result;
use indu::experiments::view::{self, Scrubber, ViewOptions};

pub fn run(a: ViewArgs) -> Result<()> {
    let o = ViewOptions {
        source: a.source(),
        text: a.text,
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
