//! Sweeps: many ordinary runs over a grid of config values. The sweep file and `--grid`
//! (`spec`), its points and their names (`points`), the sweep directory (this file:
//! `sweep.toml` with the resolved points, `base.toml`, one run directory per point), what each
//! point's process recorded (`result`), running one point (`runner`), the Slurm array job
//! and queue (`slurm`), every point's state (`status`) and the report of its runs (`report`).
//!
//! A sweep directory:
//! ```text
//! sweep.toml           the resolved sweep: base, axes, points (written first)
//! base.toml            the config text every run starts from
//! lr=1e-3/seed=3/      one ordinary run directory per point
//! results/<i>.json     what point i's process recorded (state, exit code, stderr tail)
//! logs/<i>.log         point i's output (local backend; Slurm: logs/slurm-<job>_<task>.out)
//! slurm/array-<n>.sh   each submitted array job script; slurm/submissions.jsonl
//! ```
pub mod points;
pub mod report;
pub mod result;
pub mod runner;
pub mod slurm;
pub mod spec;
pub mod status;

use crate::error::{Error, Result};
use crate::run_dir::RunDir;
use points::Point;
use serde::{Deserialize, Serialize};
use spec::{Axis, SweepSpec};
use std::path::{Path, PathBuf};

/// The resolved sweep file's name in the sweep directory.
pub const SWEEP_FILE: &str = "sweep.toml";
/// The base config's file name in the sweep directory.
pub const BASE_FILE: &str = "base.toml";
/// The folder of point results.
pub const RESULTS: &str = "results";
/// The folder of point logs.
pub const LOGS: &str = "logs";

/// What `sweep.toml` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepFile {
    /// Where the base came from, in words (`preset induction`, `config my.toml`).
    pub source: String,
    /// Overrides every run gets (before its point's own).
    pub set: Vec<String>,
    /// The data file every run trains on (`indu train --data`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<PathBuf>,
    /// Random points of the grid: how many, and the seed they were drawn with.
    pub sample: Option<usize>,
    pub sample_seed: Option<u64>,
    pub axes: Vec<AxisRecord>,
    pub slurm: slurm::SlurmOptions,
    pub points: Vec<Point>,
}

/// An axis as `sweep.toml` records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AxisRecord {
    pub key: String,
    pub values: Vec<toml::Value>,
}

/// An open sweep directory.
#[derive(Debug, Clone)]
pub struct Sweep {
    pub dir: PathBuf,
    pub file: SweepFile,
}

impl Sweep {
    /// Whether `dir` holds a sweep (a `sweep.toml`).
    pub fn is_sweep(dir: &Path) -> bool {
        dir.join(SWEEP_FILE).is_file()
    }

    /// Write a new sweep into `dir`: `base.toml`, then `sweep.toml`. A directory that already
    /// holds a sweep is refused unless `force`.
    pub fn create(dir: &Path, spec: &SweepSpec, force: bool) -> Result<Sweep> {
        let points = points::points(spec)?;
        if Self::is_sweep(dir) && !force {
            return Err(Error::Invalid(format!(
                "{} already holds a sweep; continue it with --resume, or pass --force to start it again",
                dir.display()
            )));
        }
        if dir.is_file() {
            return Err(Error::Invalid(format!(
                "--out {} is a file, expected a directory",
                dir.display()
            )));
        }
        std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
        if force {
            for sub in [RESULTS, LOGS] {
                let p = dir.join(sub);
                if p.is_dir() {
                    std::fs::remove_dir_all(&p).map_err(Error::io(&p))?;
                }
            }
        }
        crate::report::atomic_write(&dir.join(BASE_FILE), spec.base.text.as_bytes())?;
        let file = SweepFile {
            source: spec.base.source.clone(),
            set: spec.base.set.clone(),
            data: spec.base.data.clone(),
            sample: spec.sample.map(|(n, _)| n),
            sample_seed: spec.sample.map(|(_, s)| s),
            axes: spec.axes.iter().map(AxisRecord::from).collect(),
            slurm: spec.slurm.clone(),
            points,
        };
        let text = toml::to_string(&file)
            .map_err(|e| Error::Config(format!("cannot write {SWEEP_FILE}: {e}")))?;
        crate::report::atomic_write(&dir.join(SWEEP_FILE), text.as_bytes())?;
        Ok(Sweep {
            dir: dir.to_path_buf(),
            file,
        })
    }

    /// Open the sweep in `dir`.
    pub fn open(dir: &Path) -> Result<Sweep> {
        let path = dir.join(SWEEP_FILE);
        if !path.is_file() {
            return Err(Error::Invalid(format!(
                "{} holds no sweep ({SWEEP_FILE} is missing); pass the directory `indu sweep` wrote",
                dir.display()
            )));
        }
        let text = std::fs::read_to_string(&path).map_err(Error::io(&path))?;
        let file: SweepFile = toml::from_str(&text).map_err(|e| Error::Format {
            path: path.clone(),
            msg: crate::wording::one_line(&e.to_string()),
        })?;
        Ok(Sweep {
            dir: dir.to_path_buf(),
            file,
        })
    }

    /// The base config file every point's run is read from.
    pub fn base_file(&self) -> PathBuf {
        self.dir.join(BASE_FILE)
    }

    /// The run directory of a point.
    pub fn run(&self, p: &Point) -> RunDir {
        RunDir::new(self.dir.join(&p.name))
    }

    /// The point with this index.
    pub fn point(&self, index: usize) -> Result<&Point> {
        self.file.points.get(index).ok_or_else(|| {
            Error::Invalid(format!(
                "point {index}: the sweep in {} has {} points (0..{})",
                self.dir.display(),
                self.file.points.len(),
                self.file.points.len()
            ))
        })
    }

    /// The axes with their values.
    pub fn axes(&self) -> Vec<Axis> {
        self.file
            .axes
            .iter()
            .map(|a| Axis {
                key: a.key.clone(),
                values: a.values.clone(),
            })
            .collect()
    }

    /// The value of every axis at point `p` (as its override gives it), in axis order.
    pub fn values_of(&self, p: &Point) -> Vec<(String, String)> {
        p.set
            .iter()
            .filter_map(|s| s.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
            .collect()
    }

    /// The runs of the sweep that `filter` keeps (`key=value` pairs, all of which must hold),
    /// in point order.
    pub fn runs_where(&self, filter: &[String]) -> Result<Vec<(Point, RunDir)>> {
        let wanted: Vec<(String, String)> = filter
            .iter()
            .map(|f| {
                let (k, v) = f.split_once('=').ok_or_else(|| {
                    Error::Invalid(format!(
                        "--where {f:?}: expected KEY=VALUE, e.g. train.lr=1e-3"
                    ))
                })?;
                let (k, v) = (k.trim(), v.trim());
                let axis = self.file.axes.iter().find(|a| a.key == k).ok_or_else(|| {
                    let keys: Vec<&str> = self.file.axes.iter().map(|a| a.key.as_str()).collect();
                    Error::Invalid(format!(
                        "--where {f:?}: {k} is not an axis of this sweep (axes: {})",
                        keys.join(", ")
                    ))
                })?;
                let want = crate::config::parse_override_value(k, v)?;
                let label = points::value_label(&want);
                if !axis.values.iter().any(|x| points::value_label(x) == label) {
                    return Err(Error::Invalid(format!(
                        "--where {f:?}: {k} takes the values {}",
                        axis.values
                            .iter()
                            .map(points::value_label)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
                Ok((k.to_string(), label))
            })
            .collect::<Result<_>>()?;
        let axes = self.axes();
        Ok(self
            .file
            .points
            .iter()
            .filter(|p| {
                wanted.iter().all(|(k, label)| {
                    let a = axes.iter().position(|a| &a.key == k);
                    a.and_then(|a| p.set.get(a))
                        .and_then(|s| s.split_once('='))
                        .and_then(|(_, v)| crate::config::parse_override_value(k, v).ok())
                        .is_some_and(|v| &points::value_label(&v) == label)
                })
            })
            .map(|p| (p.clone(), self.run(p)))
            .collect())
    }
}

impl From<&Axis> for AxisRecord {
    fn from(a: &Axis) -> Self {
        AxisRecord {
            key: a.key.clone(),
            values: a.values.clone(),
        }
    }
}
