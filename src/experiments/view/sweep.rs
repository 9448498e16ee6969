//! The page of a sweep (`indu view --sweep DIR` -> `<sweep>/view.html`): the sweep report's
//! table (sortable by any column), its metric-vs-axis plots drawn by the page from the
//! embedded `SweepReport` in the PNGs' palette (`plot::series_hex`), and per row a link to
//! that run's own page (`<name>/view.html`, relative to the sweep page). A done run without
//! a page gets one first (unless asked not to); any run left without one says why and how
//! to make it.
use super::page::{render_page, Page};
use super::{Scrubber, ViewOptions};
use crate::analysis::LoadedRun;
use crate::error::{Error, Result};
use crate::probe::Source;
use crate::report::{atomic_write, Outputs, Report};
use crate::sweep::report::SweepReport;
use crate::sweep::result::State;
use crate::sweep::Sweep;
use serde::Serialize;
use std::path::{Component, Path, PathBuf};

/// The embedded data's `schema_version` (and the `--json` summary's).
pub const SCHEMA_VERSION: u32 = 1;
/// A run's page, in its run directory (what `indu view` writes by default).
pub const RUN_PAGE: &str = "view.html";

/// Options of the sweep page.
#[derive(Debug, Clone, Default)]
pub struct SweepViewOptions {
    /// The page (default `<sweep>/view.html`).
    pub out: Option<PathBuf>,
    /// Do not write the pages of done runs that have none.
    pub no_run_pages: bool,
}

/// Where a row's link goes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunLink {
    /// The run's page, relative to the sweep page (URL-encoded); `None` when it has none.
    pub href: Option<String>,
    /// Whether this command wrote it.
    pub made: bool,
    /// Why there is no page, and how to make one.
    pub missing: Option<String>,
}

/// What the page embeds.
#[derive(Debug, Clone, Serialize)]
pub struct SweepViewData {
    pub schema_version: u32,
    pub report: SweepReport,
    /// Colour `i` of the figures, as `#rrggbb`.
    pub palette: Vec<String>,
    /// One per row of the report, in order.
    pub links: Vec<RunLink>,
    pub notes: Vec<String>,
}

/// What `view --sweep` wrote (its `--json`).
#[derive(Debug, Clone, Serialize)]
pub struct SweepViewReport {
    pub schema_version: u32,
    pub sweep: PathBuf,
    pub file: PathBuf,
    pub bytes: usize,
    pub runs: usize,
    /// The run pages this command wrote.
    pub run_pages: Vec<PathBuf>,
    /// Runs left without a page.
    pub without_page: usize,
}

/// Write the page of `sweep` (whose report is `r`) and the missing run pages.
pub fn write(sweep: &Sweep, r: &SweepReport, o: &SweepViewOptions) -> Result<SweepViewReport> {
    let path = o.out.clone().unwrap_or_else(|| sweep.dir.join(RUN_PAGE));
    let mut outputs = Outputs::new();
    let parent = match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(p) => outputs.dir(p)?,
        None => PathBuf::from("."),
    };
    let base = relative(&parent, &sweep.dir)?;
    let mut links = Vec::with_capacity(r.rows.len());
    let mut made = Vec::new();
    for row in &r.rows {
        let run = sweep.dir.join(&row.name);
        let page = run.join(RUN_PAGE);
        let how = format!("make it with: indu view --run {}", run.display());
        let mut link = RunLink {
            href: None,
            made: false,
            missing: None,
        };
        if !page.is_file() && row.state == State::Done && !o.no_run_pages {
            match run_page(&run) {
                Ok(()) => {
                    link.made = true;
                    made.push(page.clone());
                }
                Err(e) => link.missing = Some(format!("no page: {e}; {how}")),
            }
        }
        if page.is_file() {
            link.href = Some(href(&base.join(&row.name).join(RUN_PAGE)));
        } else if link.missing.is_none() {
            link.missing = Some(match row.state {
                State::Done => format!("no page yet; {how}"),
                s => format!("no page: the run is {}", s.name()),
            });
        }
        links.push(link);
    }
    let without_page = links.iter().filter(|l| l.href.is_none()).count();
    let data = SweepViewData {
        schema_version: SCHEMA_VERSION,
        report: r.clone(),
        palette: crate::plot::series_hex(),
        links,
        notes: Vec::new(),
    };
    let title = format!("indu view: sweep {} ({})", sweep.dir.display(), r.task);
    let html = render_page(Page::Sweep, &title, &data)?;
    atomic_write(&outputs.file(&path), html.as_bytes())?;
    outputs.keep();
    Ok(SweepViewReport {
        schema_version: SCHEMA_VERSION,
        sweep: sweep.dir.clone(),
        file: path,
        bytes: html.len(),
        runs: r.rows.len(),
        run_pages: made,
        without_page,
    })
}

/// Write a run's own page as `indu view --run RUN` does by default.
fn run_page(run: &Path) -> Result<()> {
    let lr = LoadedRun::open(Some(run), candle_core::Device::Cpu)?;
    let o = ViewOptions {
        source: Source::Task,
        given: None,
        seed: 0,
        scrubber: Scrubber::IfTracked,
        out: None,
    };
    super::run(&lr, &o)?.write(&lr, None)?;
    Ok(())
}

/// The path from directory `from` to `to` (both existing), e.g. `../sweep` or `.`.
pub fn relative(from: &Path, to: &Path) -> Result<PathBuf> {
    let canon = |p: &Path| p.canonicalize().map_err(Error::io(p));
    let (from, to) = (canon(from)?, canon(to)?);
    let a: Vec<Component> = from.components().collect();
    let b: Vec<Component> = to.components().collect();
    let common = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = PathBuf::new();
    for _ in common..a.len() {
        out.push("..");
    }
    for c in &b[common..] {
        out.push(c);
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    Ok(out)
}

/// A relative path as a URL: `/`-separated, `.` steps dropped, every byte outside the
/// unreserved characters (and `=`, `,`, `+`) percent-encoded.
pub fn href(p: &Path) -> String {
    p.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .map(|c| {
            let s = c.as_os_str().to_string_lossy();
            s.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-._~=,+".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("/")
}

impl Report for SweepViewReport {
    const SCHEMA_VERSION: u32 = SCHEMA_VERSION;

    fn human(&self) -> Vec<String> {
        let mut line = format!(
            "view of sweep {}: {} runs ({} KB)",
            self.sweep.display(),
            self.runs,
            self.bytes.div_ceil(1024)
        );
        if !self.run_pages.is_empty() {
            line.push_str(&format!("; wrote {} run pages", self.run_pages.len()));
        }
        if self.without_page > 0 {
            line.push_str(&format!("; {} runs have no page", self.without_page));
        }
        vec![line]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_relative_and_url_safe() {
        let dir = tempfile::tempdir().unwrap();
        let sw = dir.path().join("my sweep");
        std::fs::create_dir_all(sw.join("lr=1e-3/seed=0")).unwrap();
        std::fs::create_dir_all(dir.path().join("pages")).unwrap();
        assert_eq!(relative(&sw, &sw).unwrap(), PathBuf::from("."));
        let up = relative(&dir.path().join("pages"), &sw).unwrap();
        assert_eq!(up, PathBuf::from("../my sweep"));
        let page = Path::new(".").join("lr=1e-3/seed=0").join(RUN_PAGE);
        assert_eq!(href(&page), "lr=1e-3/seed=0/view.html");
        assert_eq!(
            href(&up.join("a\"b<c>").join(RUN_PAGE)),
            "../my%20sweep/a%22b%3Cc%3E/view.html"
        );
    }
}
