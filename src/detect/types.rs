//! Detector vocabulary and report types: `Detector`, `Variant`, `Thresholds`, `HeadScores`
//! and `flagged`. Names are snake_case and stable (they key `heads.json`).
use crate::error::{Error, Result};
pub use crate::probe::{Probe, Source};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// A kind of attention head, scored from its attention pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Detector {
    /// Attends to its own position: A[q, q].
    CurrentToken,
    /// Attends to the position before: A[q, q-1].
    PreviousToken,
    /// Attends to position 0 (the begin token): A[q, 0].
    FirstToken,
    /// Attends to earlier occurrences of the current token.
    DuplicateToken,
    /// Attends to the token after earlier occurrences of the current token.
    Induction,
}

impl Detector {
    /// Every detector, in report order.
    pub const ALL: [Detector; 5] = [
        Detector::CurrentToken,
        Detector::PreviousToken,
        Detector::FirstToken,
        Detector::DuplicateToken,
        Detector::Induction,
    ];

    /// The snake_case name used in JSON, on the command line and in `Display`.
    pub fn name(self) -> &'static str {
        match self {
            Detector::CurrentToken => "current_token",
            Detector::PreviousToken => "previous_token",
            Detector::FirstToken => "first_token",
            Detector::DuplicateToken => "duplicate_token",
            Detector::Induction => "induction",
        }
    }

    /// Whether the targets depend on the sequence (a repeat probe or the tokens are needed).
    pub fn needs_sequence(self) -> bool {
        matches!(self, Detector::DuplicateToken | Detector::Induction)
    }
}

impl fmt::Display for Detector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Detector {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Detector::ALL
            .into_iter()
            .find(|d| d.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Detector::ALL.iter().map(|d| d.name()).collect();
                Error::Invalid(format!(
                    "unknown detector '{s}'; expected one of {}",
                    names.join(", ")
                ))
            })
    }
}

/// How the begin token (key 0) is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    /// Score the pattern as it is (seed 001).
    WithBos,
    /// Seed 004: renormalise each row over keys >= 1 and drop key 0 from every target set.
    ExcludeBos,
}

impl Variant {
    /// Both variants, in report order.
    pub const ALL: [Variant; 2] = [Variant::WithBos, Variant::ExcludeBos];

    /// The snake_case name used in JSON and in `Display`.
    pub fn name(self) -> &'static str {
        match self {
            Variant::WithBos => "with_bos",
            Variant::ExcludeBos => "exclude_bos",
        }
    }
}

impl fmt::Display for Variant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Variant {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Variant::ALL
            .into_iter()
            .find(|v| v.name() == s)
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "unknown variant '{s}'; expected with_bos or exclude_bos"
                ))
            })
    }
}

/// Per-detector thresholds; a head is flagged when its score is strictly above.
/// Defaults are seed 001's: 0.4 for current/previous/first/duplicate, 0.2 for induction.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Thresholds {
    pub current_token: f64,
    pub previous_token: f64,
    pub first_token: f64,
    pub duplicate_token: f64,
    pub induction: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            current_token: 0.4,
            previous_token: 0.4,
            first_token: 0.4,
            duplicate_token: 0.4,
            induction: 0.2,
        }
    }
}

impl Thresholds {
    /// The threshold for `detector`.
    pub fn get(&self, detector: Detector) -> f64 {
        match detector {
            Detector::CurrentToken => self.current_token,
            Detector::PreviousToken => self.previous_token,
            Detector::FirstToken => self.first_token,
            Detector::DuplicateToken => self.duplicate_token,
            Detector::Induction => self.induction,
        }
    }
}

/// The heads scoring strictly above `threshold`, as "layer.head" strings ("1.4"), in
/// layer-then-head order. NaN scores are never flagged.
pub fn flagged(scores: &[Vec<f64>], threshold: f64) -> Vec<String> {
    let mut out = Vec::new();
    for (layer, heads) in scores.iter().enumerate() {
        for (head, &s) in heads.iter().enumerate() {
            if s > threshold {
                out.push(format!("{layer}.{head}"));
            }
        }
    }
    out
}

/// Score matrices by name then variant: `[name][variant] -> [n_layers][n_heads]`.
/// A NaN score means "not applicable" (no query counted); it is written as JSON `null`
/// and read back as NaN (`nan_as_null`).
pub type ScoreTable = BTreeMap<String, BTreeMap<String, Vec<Vec<f64>>>>;

/// Every detector's scores under every variant: `scores[detector][variant][layer][head]`,
/// keyed by the snake_case names so that the JSON is stable.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadScores {
    pub n_layers: usize,
    pub n_heads: usize,
    #[serde(deserialize_with = "nan_as_null")]
    pub scores: ScoreTable,
}

/// Reads a `ScoreTable` whose not-applicable scores are `null` (serde_json writes a NaN
/// `f64` as `null` but cannot read `null` back into one).
pub fn nan_as_null<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<ScoreTable, D::Error> {
    type Nullable = BTreeMap<String, BTreeMap<String, Vec<Vec<Option<f64>>>>>;
    let raw: Nullable = Deserialize::deserialize(d)?;
    Ok(raw
        .into_iter()
        .map(|(name, variants)| {
            let variants = variants
                .into_iter()
                .map(|(v, m)| {
                    let m = m
                        .into_iter()
                        .map(|row| row.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect())
                        .collect();
                    (v, m)
                })
                .collect();
            (name, variants)
        })
        .collect())
}

/// `flags[detector][variant]` = flagged "layer.head" strings.
pub type Flags = BTreeMap<String, BTreeMap<String, Vec<String>>>;

impl HeadScores {
    /// An empty table for a model of this shape.
    pub fn new(n_layers: usize, n_heads: usize) -> Self {
        HeadScores {
            n_layers,
            n_heads,
            scores: BTreeMap::new(),
        }
    }

    /// Store the `[n_layers][n_heads]` scores of `detector` under `variant`.
    pub fn insert(&mut self, detector: Detector, variant: Variant, scores: Vec<Vec<f64>>) {
        self.scores
            .entry(detector.name().to_string())
            .or_default()
            .insert(variant.name().to_string(), scores);
    }

    /// The scores of `detector` under `variant`, if present.
    pub fn get(&self, detector: Detector, variant: Variant) -> Option<&Vec<Vec<f64>>> {
        self.scores.get(detector.name())?.get(variant.name())
    }

    /// Flagged heads of every stored detector and variant under `thresholds`.
    pub fn flags(&self, thresholds: &Thresholds) -> Flags {
        let mut out = Flags::new();
        for detector in Detector::ALL {
            for variant in Variant::ALL {
                if let Some(s) = self.get(detector, variant) {
                    out.entry(detector.name().to_string()).or_default().insert(
                        variant.name().to_string(),
                        flagged(s, thresholds.get(detector)),
                    );
                }
            }
        }
        out
    }
}

/// A convenient `heads.json` body: where the patterns came from, the scores, the
/// thresholds used and the heads they flag.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeadsReport {
    /// The repeat probe, or the task's own data (token-based targets).
    pub source: Source,
    /// The probe's period and copies when `source` is "probe".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<Probe>,
    /// Number of sequences the scores are pooled over.
    pub batch: usize,
    pub thresholds: Thresholds,
    pub scores: HeadScores,
    pub flagged: Flags,
}

impl HeadsReport {
    /// Build the report, computing the flags from `scores` and `thresholds`.
    pub fn new(
        source: Source,
        probe: Option<Probe>,
        batch: usize,
        thresholds: Thresholds,
        scores: HeadScores,
    ) -> Self {
        let flagged = scores.flags(&thresholds);
        HeadsReport {
            source,
            probe,
            batch,
            thresholds,
            scores,
            flagged,
        }
    }
}
