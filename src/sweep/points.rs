//! The points of a sweep: every combination of the axes' values (the last axis varies
//! fastest), or a seeded random sample of them, each named by its values (`lr=1e-3/seed=3`),
//! which is also its run directory under the sweep directory.
use super::spec::{Axis, SweepSpec};
use crate::error::{Error, Result};
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use toml::Value;

/// One run of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Position in the sweep (0-based; Slurm's array task i trains the point its script lists
    /// at i).
    pub index: usize,
    /// The run directory, relative to the sweep directory: `label=value` per axis, joined by `/`.
    pub name: String,
    /// The overrides that make this point (`train.lr=0.001`), one per axis, in axis order.
    pub set: Vec<String>,
}

/// Every point of `spec`, in order.
pub fn points(spec: &SweepSpec) -> Result<Vec<Point>> {
    let indices: Vec<usize> = match spec.sample {
        Some((n, seed)) if n < spec.grid_size() => sample(spec.grid_size(), n, seed),
        _ => (0..spec.grid_size()).collect(),
    };
    let labels = labels(&spec.axes);
    let mut names = BTreeSet::new();
    let mut out = Vec::with_capacity(indices.len());
    for (index, flat) in indices.into_iter().enumerate() {
        let picks = digits(flat, &spec.axes);
        let name = picks
            .iter()
            .zip(&spec.axes)
            .zip(&labels)
            .map(|((&i, a), l)| format!("{l}={}", value_label(&a.values[i])))
            .collect::<Vec<_>>()
            .join("/");
        if !names.insert(name.clone()) {
            return Err(Error::Config(format!(
                "sweep: two points would both be named {name}: an axis lists the same value twice (e.g. 0.001 and 1e-3)"
            )));
        }
        let set = picks
            .iter()
            .zip(&spec.axes)
            .map(|(&i, a)| a.set(i))
            .collect();
        out.push(Point { index, name, set });
    }
    Ok(out)
}

/// The value index of each axis at grid position `flat` (the last axis varies fastest).
fn digits(mut flat: usize, axes: &[Axis]) -> Vec<usize> {
    let mut d = vec![0; axes.len()];
    for (k, a) in axes.iter().enumerate().rev() {
        d[k] = flat % a.values.len();
        flat /= a.values.len();
    }
    d
}

/// `n` distinct grid positions out of `size`, drawn with `seed`, in increasing order.
fn sample(size: usize, n: usize, seed: u64) -> Vec<usize> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut picked = BTreeSet::new();
    while picked.len() < n {
        picked.insert(rng.random_range(0..size));
    }
    picked.into_iter().collect()
}

/// Each axis's label in a name: the last part of its key (`train.lr` -> `lr`), or the whole
/// key where two axes end alike.
pub fn labels(axes: &[Axis]) -> Vec<String> {
    let last = |k: &str| k.rsplit('.').next().unwrap_or(k).to_string();
    axes.iter()
        .map(|a| {
            let l = last(&a.key);
            let clash = axes.iter().filter(|b| last(&b.key) == l).count() > 1;
            if clash {
                a.key.clone()
            } else {
                l
            }
        })
        .collect()
}

/// A value as it appears in a run's name: whole numbers as they are, small and large floats
/// in exponent form (`1e-3`), strings bare; anything that is not a plain file-name character
/// becomes `_`.
pub fn value_label(v: &Value) -> String {
    let raw = match v {
        Value::Float(f) => float_label(*f),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(value_label).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    };
    let clean: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-+.,_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    match clean.as_str() {
        "" | "." | ".." => format!("_{clean}"),
        _ => clean,
    }
}

fn float_label(f: f64) -> String {
    let a = f.abs();
    if a != 0.0 && !(1e-2..1e5).contains(&a) {
        format!("{f:e}")
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn spec(text: &str) -> SweepSpec {
        SweepSpec::from_toml(text, Path::new(".")).unwrap()
    }

    #[test]
    fn grid_points_are_named_by_their_values() {
        let s =
            spec("task = \"induction\"\n[axes]\n\"train.lr\" = [5e-4, 1e-3]\nseed = \"0..3\"\n");
        let p = points(&s).unwrap();
        let names: Vec<&str> = p.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "lr=5e-4/seed=0",
                "lr=5e-4/seed=1",
                "lr=5e-4/seed=2",
                "lr=1e-3/seed=0",
                "lr=1e-3/seed=1",
                "lr=1e-3/seed=2"
            ]
        );
        assert_eq!(p[4].set, ["train.lr=0.001", "seed=1"]);
        assert_eq!(p[4].index, 4);
        for pt in &p {
            s.base.config(&pt.set).unwrap();
        }
    }

    #[test]
    fn samples_are_distinct_seeded_and_clashing_labels_use_the_key() {
        let s = spec("task = \"induction\"\nsample = 7\nsample_seed = 3\n[axes]\nseed = \"0..50\"\n\"train.lr\" = [1e-3, 2e-3]\n");
        let a = points(&s).unwrap();
        assert_eq!(a.len(), 7);
        assert_eq!(a, points(&s).unwrap());
        let names: BTreeSet<&str> = a.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names.len(), 7);
        let other = spec("task = \"induction\"\nsample = 7\nsample_seed = 4\n[axes]\nseed = \"0..50\"\n\"train.lr\" = [1e-3, 2e-3]\n");
        assert_ne!(a, points(&other).unwrap());
        let clash = labels(&[
            Axis {
                key: "model.init".into(),
                values: vec![],
            },
            Axis {
                key: "train.init".into(),
                values: vec![],
            },
            Axis {
                key: "seed".into(),
                values: vec![],
            },
        ]);
        assert_eq!(clash, ["model.init", "train.init", "seed"]);
        let twice = spec("task = \"induction\"\n[axes]\n\"train.lr\" = [1e-3, 0.001]\n");
        assert!(points(&twice).unwrap_err().to_string().contains("lr=1e-3"));
    }

    #[test]
    fn labels_are_safe_file_names() {
        assert_eq!(value_label(&Value::Float(0.5)), "0.5");
        assert_eq!(value_label(&Value::Float(2e-4)), "2e-4");
        assert_eq!(value_label(&Value::Integer(-3)), "-3");
        assert_eq!(value_label(&Value::String("a/b c".into())), "a_b_c");
        assert_eq!(value_label(&Value::String("..".into())), "_..");
        assert_eq!(value_label(&Value::Boolean(true)), "true");
        let pair = Value::Array(vec![Value::Float(0.9), Value::Float(0.98)]);
        assert_eq!(value_label(&pair), "0.9,0.98");
    }
}
