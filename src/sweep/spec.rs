//! A sweep file (TOML) and the `--grid` shorthand: the base of every run (a preset or a
//! config file, plus `set` overrides) and the axes (any config key and its values), read
//! and checked here; `points` turns them into runs.
//!
//! ```toml
//! task = "induction"              # or: config = "my.toml"
//! set = ["train.steps=1000"]      # overrides of every run
//! sample = 20                     # optional: 20 random points of the grid (default: all)
//! sample_seed = 0
//! [axes]
//! "train.lr" = [5e-4, 1e-3, 2e-3]
//! seed = "0..20"                  # a range of integers, end exclusive ("0..=19" inclusive)
//! [slurm]                         # only read by --backend slurm
//! partition = "main"
//! ```
use super::slurm::SlurmOptions;
use crate::config::RunConfig;
use crate::error::{Error, Result};
use crate::wording::one_line;
use toml::{Table, Value};

/// The most points one sweep runs (after sampling).
pub const MAX_POINTS: usize = 100_000;

/// Where every run of a sweep starts from.
#[derive(Debug, Clone, PartialEq)]
pub struct Base {
    /// What the base is, in words (`preset induction`, `config my.toml`).
    pub source: String,
    /// The config text every run is read from (the preset's text or the file's), unresolved,
    /// so that an axis over a task key still resolves `n_ctx` and the vocabulary per run.
    pub text: String,
    /// Overrides every run gets before its point's own.
    pub set: Vec<String>,
    /// A data file (from `indu data`) every run trains on, as an absolute path.
    pub data: Option<std::path::PathBuf>,
}

/// One axis: a config key and the values it takes, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    pub key: String,
    pub values: Vec<Value>,
}

impl Axis {
    /// The override that sets this axis to `values[i]`.
    pub fn set(&self, i: usize) -> String {
        format!("{}={}", self.key, self.values[i])
    }
}

/// A sweep as written: its base, its axes in order, how many points to sample.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepSpec {
    pub base: Base,
    pub axes: Vec<Axis>,
    /// `Some((n, seed))`: n random points of the grid, drawn with this seed.
    pub sample: Option<(usize, u64)>,
    pub slurm: SlurmOptions,
}

impl SweepSpec {
    /// Read a sweep file's text. `dir` is where a relative `config` path is looked up.
    pub fn from_toml(text: &str, dir: &std::path::Path) -> Result<SweepSpec> {
        let doc = toml::de::DeTable::parse(text)
            .map_err(|e| bad(format!("invalid TOML: {}", one_line(&e.to_string()))))?;
        let table: Table = text.parse().map_err(|e: toml::de::Error| {
            bad(format!("invalid TOML: {}", one_line(&e.to_string())))
        })?;
        for key in table.keys() {
            if !TOP_KEYS.contains(&key.as_str()) {
                return Err(bad(format!(
                    "unknown key `{key}`: expected {}",
                    TOP_KEYS.join(", ")
                )));
            }
        }
        let set = match table.get("set") {
            None => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(bad(format!(
                        "set: expected strings like \"train.lr=1e-3\", found {other}"
                    ))),
                })
                .collect::<Result<_>>()?,
            Some(other) => {
                return Err(bad(format!(
                    "set = {other}: expected an array of strings like [\"train.lr=1e-3\"]"
                )))
            }
        };
        let string = |k: &str| -> Result<Option<String>> {
            match table.get(k) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(bad(format!("{k} = {other}: expected a string"))),
            }
        };
        let base = match (string("task")?, string("config")?) {
            (Some(_), Some(_)) => return Err(bad("give `task` or `config`, not both".into())),
            (Some(t), None) => Base::preset(&t, set)?,
            (None, Some(c)) => Base::file(&dir.join(c), set)?,
            (None, None) => {
                return Err(bad(format!(
                    "no base: add `task = \"induction\"` (one of {}) or `config = \"my.toml\"`",
                    crate::config::Preset::list()
                )))
            }
        };
        let base = match string("data")? {
            Some(d) => base.with_data(&dir.join(d))?,
            None => base,
        };
        let axes = match table.get("axes") {
            Some(Value::Table(t)) => {
                // `Table` sorts its keys; the axes keep the order the file gives them.
                let mut keys: Vec<(usize, String)> =
                    match doc.get_ref().iter().find(|(k, _)| k.get_ref() == "axes") {
                        Some((_, v)) => match v.get_ref() {
                            toml::de::DeValue::Table(dt) => dt
                                .iter()
                                .map(|(k, _)| (k.span().start, k.get_ref().to_string()))
                                .collect(),
                            _ => Vec::new(),
                        },
                        None => Vec::new(),
                    };
                keys.sort();
                keys.into_iter()
                    .map(|(_, k)| axis_from_toml(&k, &t[&k]))
                    .collect::<Result<Vec<_>>>()?
            }
            Some(other) => return Err(bad(format!("axes = {other}: expected a table [axes]"))),
            None => {
                return Err(bad(
                    "no [axes]: add e.g. `[axes]` with `seed = \"0..8\"`".into()
                ))
            }
        };
        let whole = |k: &str| -> Result<Option<u64>> {
            match table.get(k) {
                None => Ok(None),
                Some(Value::Integer(i)) if *i >= 0 => Ok(Some(*i as u64)),
                Some(other) => Err(bad(format!("{k} = {other}: expected a whole number"))),
            }
        };
        let sample = match whole("sample")? {
            Some(0) => return Err(bad("sample = 0: expected at least 1 point".into())),
            Some(n) => Some((
                n.min(usize::MAX as u64) as usize,
                whole("sample_seed")?.unwrap_or(0),
            )),
            None => {
                if table.contains_key("sample_seed") {
                    return Err(bad("sample_seed without sample: add `sample = N`".into()));
                }
                None
            }
        };
        let slurm = match table.get("slurm") {
            None => SlurmOptions::default(),
            Some(Value::Table(t)) => SlurmOptions::from_table(t)?,
            Some(other) => return Err(bad(format!("slurm = {other}: expected a table [slurm]"))),
        };
        Self::from_parts(base, axes, sample, slurm)
    }

    /// A sweep from its parts, checked.
    pub fn from_parts(
        base: Base,
        axes: Vec<Axis>,
        sample: Option<(usize, u64)>,
        slurm: SlurmOptions,
    ) -> Result<SweepSpec> {
        let spec = SweepSpec {
            base,
            axes,
            sample,
            slurm,
        };
        spec.check()?;
        Ok(spec)
    }

    /// A sweep from the command line: `--grid KEY=V1,V2` or `--grid seed=0..8`, in order.
    pub fn from_grid(
        base: Base,
        grid: &[String],
        sample: Option<(usize, u64)>,
    ) -> Result<SweepSpec> {
        let axes = grid
            .iter()
            .map(|g| axis_from_arg(g))
            .collect::<Result<Vec<_>>>()?;
        if axes.is_empty() {
            return Err(bad(
                "no axes: pass a sweep file or --grid KEY=VALUES (e.g. --grid seed=0..8)".into(),
            ));
        }
        Self::from_parts(base, axes, sample, SlurmOptions::default())
    }

    /// The number of points of the full grid (saturating).
    pub fn grid_size(&self) -> usize {
        self.axes
            .iter()
            .fold(1usize, |n, a| n.saturating_mul(a.values.len()))
    }

    /// The number of points this sweep runs.
    pub fn n_points(&self) -> usize {
        let g = self.grid_size();
        self.sample.map_or(g, |(n, _)| n.min(g))
    }

    /// Every axis is a distinct key with at least one value; each value builds a valid
    /// config on the base; the sweep has at most `MAX_POINTS` points.
    fn check(&self) -> Result<()> {
        let n = self.n_points();
        if n > MAX_POINTS {
            let n = if self.grid_size() == usize::MAX {
                "more than 2^64".to_string()
            } else {
                n.to_string()
            };
            return Err(bad(format!(
                "{n} points: at most {MAX_POINTS} per sweep (use `sample = N` for random points of a large grid)"
            )));
        }
        self.base
            .config(&[])
            .map_err(|e| bad(format!("base ({}): {e}", self.base.source)))?;
        for (i, a) in self.axes.iter().enumerate() {
            if self.axes[..i].iter().any(|b| b.key == a.key) {
                return Err(bad(format!("axis {} is given twice", a.key)));
            }
            if a.values.is_empty() {
                return Err(bad(format!("axis {} has no values", a.key)));
            }
            for j in checked_values(a) {
                self.base
                    .config(&[a.set(j)])
                    .map_err(|e| bad(format!("axis {} = {}: {e}", a.key, a.values[j])))?;
            }
        }
        Ok(())
    }
}

/// The values of an axis that are built into a config to check them: all of them, or for a
/// long run of whole numbers (a range) its smallest and largest, since every limit on a
/// whole number is an interval.
fn checked_values(a: &Axis) -> Vec<usize> {
    let n = a.values.len();
    if n <= 64 || !a.values.iter().all(|v| v.is_integer()) {
        return (0..n).collect();
    }
    let by = |i: &usize| a.values[*i].as_integer();
    let lo = (0..n).min_by_key(by).unwrap_or(0);
    let hi = (0..n).max_by_key(by).unwrap_or(0);
    vec![lo, hi]
}

/// Keys a sweep file may hold at the top level.
const TOP_KEYS: &[&str] = &[
    "task",
    "config",
    "set",
    "data",
    "axes",
    "sample",
    "sample_seed",
    "slurm",
];

impl Base {
    /// The embedded preset of a task, with overrides.
    pub fn preset(name: &str, set: Vec<String>) -> Result<Base> {
        let preset: crate::config::Preset = name.parse().map_err(|e: Error| bad(e.to_string()))?;
        Ok(Base {
            source: format!("preset {preset}"),
            text: preset.text().to_string(),
            set,
            data: None,
        })
    }

    /// A config file, with overrides.
    pub fn file(path: &std::path::Path, set: Vec<String>) -> Result<Base> {
        let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
        Ok(Base {
            source: format!("config {}", path.display()),
            text,
            set,
            data: None,
        })
    }

    /// Every run trains on the data file `path` (`indu train --data`), which must exist; kept
    /// as an absolute path so that a point finds it from any working directory.
    pub fn with_data(mut self, path: &std::path::Path) -> Result<Base> {
        let abs = std::fs::canonicalize(path).map_err(Error::io(path))?;
        if !abs.is_file() {
            return Err(bad(format!("data = {}: not a file", path.display())));
        }
        self.data = Some(abs);
        Ok(self)
    }

    /// The config of a run: the base text with the base's overrides, then `point`'s.
    pub fn config(&self, point: &[String]) -> Result<RunConfig> {
        let all: Vec<String> = self.set.iter().chain(point).cloned().collect();
        RunConfig::from_toml(&self.text, &all)
    }
}

fn bad(msg: String) -> Error {
    Error::Config(format!("sweep: {msg}"))
}

/// An axis from the sweep file: an array of values or a range string.
fn axis_from_toml(key: &str, v: &Value) -> Result<Axis> {
    let values = match v {
        Value::Array(items) => items.clone(),
        Value::String(s) => range(key, s)?.ok_or_else(|| {
            bad(format!(
                "axis {key} = {v}: expected an array of values or a range like \"0..8\""
            ))
        })?,
        other => vec![other.clone()],
    };
    Ok(Axis {
        key: key.to_string(),
        values,
    })
}

/// An axis from `--grid KEY=V1,V2,...` or `--grid KEY=A..B`.
fn axis_from_arg(arg: &str) -> Result<Axis> {
    let Some((key, raw)) = arg.split_once('=') else {
        return Err(bad(format!(
            "--grid {arg:?}: expected KEY=V1,V2 or KEY=A..B, e.g. train.lr=5e-4,1e-3"
        )));
    };
    let (key, raw) = (key.trim(), raw.trim());
    if key.is_empty() {
        return Err(bad(format!("--grid {arg:?}: no key before `=`")));
    }
    if let Some(values) = range(key, raw)? {
        return Ok(Axis {
            key: key.into(),
            values,
        });
    }
    let values = split_top(raw)
        .into_iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| crate::config::parse_override_value(key, s.trim()))
        .collect::<Result<Vec<_>>>()?;
    Ok(Axis {
        key: key.into(),
        values,
    })
}

/// Split on commas outside brackets and quotes: `[0.9,0.98],[0.9,0.99]` is two values.
fn split_top(s: &str) -> Vec<&str> {
    let (mut out, mut depth, mut quote, mut start) = (Vec::new(), 0i32, false, 0);
    for (i, c) in s.char_indices() {
        match c {
            '"' => quote = !quote,
            '[' | '{' if !quote => depth += 1,
            ']' | '}' if !quote => depth -= 1,
            ',' if !quote && depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

/// `A..B` (end exclusive) or `A..=B` as integers; `None` when `s` is not range syntax.
fn range(key: &str, s: &str) -> Result<Option<Vec<Value>>> {
    let (a, b, inclusive) = if let Some((a, b)) = s.split_once("..=") {
        (a, b, true)
    } else if let Some((a, b)) = s.split_once("..") {
        (a, b, false)
    } else {
        return Ok(None);
    };
    let parse = |x: &str| -> Result<i64> {
        x.trim().parse().map_err(|_| {
            bad(format!(
                "axis {key} = \"{s}\": expected a range of whole numbers like \"0..8\""
            ))
        })
    };
    let (a, b) = (parse(a)?, parse(b)?);
    let end = if inclusive { b.saturating_add(1) } else { b };
    if end <= a {
        return Err(bad(format!(
            "axis {key} = \"{s}\" is empty: the end must be greater than the start"
        )));
    }
    if (end as i128 - a as i128) > MAX_POINTS as i128 {
        return Err(bad(format!(
            "axis {key} = \"{s}\" has {} values: at most {MAX_POINTS} points per sweep",
            end as i128 - a as i128
        )));
    }
    Ok(Some((a..end).map(Value::Integer).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn spec(text: &str) -> Result<SweepSpec> {
        SweepSpec::from_toml(text, Path::new("."))
    }

    #[test]
    fn axes_keep_the_file_order_and_ranges_expand() {
        let s = spec("task = \"induction\"\nset = [\"train.steps=10\"]\n[axes]\n\"train.lr\" = [5e-4, 1e-3]\nseed = \"0..3\"\n\"model.init\" = [\"tl\", \"scaled\"]\n").unwrap();
        let keys: Vec<&str> = s.axes.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(keys, ["train.lr", "seed", "model.init"]);
        assert_eq!(
            s.axes[1].values,
            vec![Value::Integer(0), Value::Integer(1), Value::Integer(2)]
        );
        assert_eq!(s.grid_size(), 12);
        assert_eq!(s.axes[0].set(1), "train.lr=0.001");
        assert_eq!(s.axes[2].set(0), "model.init=\"tl\"");
        assert_eq!(s.base.set, ["train.steps=10"]);
    }

    #[test]
    fn bad_sweep_files_say_what_is_wrong() {
        let cases = [
            (
                "task = \"induction\"\n[axes]\n\"train.lrr\" = [1e-3]\n",
                "train.lrr",
            ),
            ("task = \"induction\"\n[axes]\nseed = []\n", "has no values"),
            (
                "task = \"induction\"\n[axes]\nseed = \"5..2\"\n",
                "is empty",
            ),
            (
                "task = \"induction\"\n[axes]\n\"train.lr\" = [\"fast\"]\n",
                "train.lr",
            ),
            (
                "task = \"induction\"\n[axes]\nseed = \"0..100001\"\n",
                "at most 100000",
            ),
            (
                "task = \"induction\"\n[axes]\nseed = \"0..1000\"\n\"train.lr\" = \"1..102\"\n",
                "101000 points",
            ),
            ("task = \"nope\"\n[axes]\nseed = \"0..2\"\n", "nope"),
            ("[axes]\nseed = \"0..2\"\n", "no base"),
            ("task = \"induction\"\n", "no [axes]"),
            (
                "task = \"induction\"\nsteps = 3\n[axes]\nseed = \"0..2\"\n",
                "unknown key `steps`",
            ),
            (
                "task = \"induction\"\n[axes]\nseed = \"a..b\"\n",
                "range of whole numbers",
            ),
            ("task = \"induction\"\n[axes\n", "invalid TOML"),
        ];
        for (text, want) in cases {
            let e = spec(text).unwrap_err().to_string();
            assert!(
                e.starts_with("sweep: ") && e.contains(want),
                "{text:?}: {e}"
            );
            assert_eq!(e.lines().count(), 1, "{e}");
        }
    }

    #[test]
    fn sampling_caps_the_points_and_grid_args_parse() {
        let s = spec("task = \"induction\"\nsample = 5\n[axes]\nseed = \"0..1000\"\n\"train.lr\" = [1e-3, 2e-3]\n").unwrap();
        assert_eq!((s.grid_size(), s.n_points()), (2000, 5));
        let base = Base::preset("induction", vec![]).unwrap();
        let s = SweepSpec::from_grid(
            base.clone(),
            &[
                "train.lr=5e-4,1e-3".into(),
                "seed=0..=2".into(),
                "train.betas=[0.9,0.98],[0.9,0.99]".into(),
            ],
            None,
        )
        .unwrap();
        assert_eq!(
            s.axes[0].values,
            vec![Value::Float(5e-4), Value::Float(1e-3)]
        );
        assert_eq!(s.axes[1].values.len(), 3);
        assert_eq!(s.axes[2].values.len(), 2);
        for bad_grid in ["train.lr", "=1", "seed=3..1", "model.init=nope"] {
            assert!(
                SweepSpec::from_grid(base.clone(), &[bad_grid.into()], None).is_err(),
                "{bad_grid}"
            );
        }
    }
}
