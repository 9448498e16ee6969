//! Head detectors on captured attention patterns (plain `f32` data, no tensors).
//!
//! `Patterns` holds, per layer, a TransformerLens `hook_pattern` `[batch, head, q, k]`
//! flattened row-major. `detectors` scores every head with the docs/tasks.md detectors
//! (current / previous / first / duplicate / induction, with or without the begin token);
//! `tl` reproduces TransformerLens `detect_head` for parity checks; `types` holds the names,
//! thresholds and the serde report types behind `heads.json`.
pub mod detectors;
pub mod tl;
pub mod types;

pub use detectors::{score_all, score_heads};
pub use types::{flagged, Detector, Flags, HeadScores, HeadsReport, Probe, Thresholds, Variant};

use crate::error::{Error, Result};

/// Attention patterns of every layer: `data[l]` is `[batch, n_heads, pos (query), pos (key)]`
/// row-major, as TransformerLens `blocks.{l}.attn.hook_pattern` (rows sum to 1, causal).
#[derive(Debug, Clone, PartialEq)]
pub struct Patterns {
    pub n_layers: usize,
    pub n_heads: usize,
    pub batch: usize,
    pub pos: usize,
    pub data: Vec<Vec<f32>>,
}

impl Patterns {
    /// Build and check the shape of every layer.
    pub fn new(
        n_layers: usize,
        n_heads: usize,
        batch: usize,
        pos: usize,
        data: Vec<Vec<f32>>,
    ) -> Result<Self> {
        let p = Patterns {
            n_layers,
            n_heads,
            batch,
            pos,
            data,
        };
        p.validate()?;
        Ok(p)
    }

    /// Number of f32 values one layer must hold.
    pub fn layer_len(&self) -> usize {
        self.batch * self.n_heads * self.pos * self.pos
    }

    /// Check that there are `n_layers` layers of `batch * n_heads * pos * pos` values and that
    /// nothing is empty.
    pub fn validate(&self) -> Result<()> {
        if self.n_layers == 0 || self.n_heads == 0 || self.batch == 0 || self.pos == 0 {
            return Err(Error::Invalid(format!(
                "attention patterns are empty (n_layers {}, n_heads {}, batch {}, pos {})",
                self.n_layers, self.n_heads, self.batch, self.pos
            )));
        }
        if self.data.len() != self.n_layers {
            return Err(Error::Invalid(format!(
                "attention patterns hold {} layers, expected n_layers = {}",
                self.data.len(),
                self.n_layers
            )));
        }
        let want = self.layer_len();
        for (l, layer) in self.data.iter().enumerate() {
            if layer.len() != want {
                return Err(Error::Invalid(format!(
                    "attention pattern of layer {l} holds {} values, expected batch {} x \
                     n_heads {} x pos {} x pos {} = {want}",
                    layer.len(),
                    self.batch,
                    self.n_heads,
                    self.pos,
                    self.pos
                )));
            }
        }
        Ok(())
    }

    /// The `[pos, pos]` pattern of one head for one sequence (call `validate` first; out of
    /// range indices give an error).
    pub fn head(&self, layer: usize, row: usize, head: usize) -> Result<&[f32]> {
        let n = self.pos * self.pos;
        let start = (row * self.n_heads + head) * n;
        if row >= self.batch || head >= self.n_heads {
            return Err(Error::Invalid(format!(
                "no pattern for row {row} head {head} (batch {}, n_heads {})",
                self.batch, self.n_heads
            )));
        }
        self.data
            .get(layer)
            .and_then(|d| d.get(start..start + n))
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "no pattern for layer {layer} (n_layers {}, or a short layer)",
                    self.n_layers
                ))
            })
    }

    /// The patterns of the first `len` positions: the top-left `[len, len]` block of every
    /// head. For a causal model this is exactly the pattern of the sequence cut to `len`.
    pub fn prefix(&self, len: usize) -> Result<Patterns> {
        self.validate()?;
        if len == 0 || len > self.pos {
            return Err(Error::Invalid(format!(
                "prefix length {len} must be in 1..={}",
                self.pos
            )));
        }
        let mut data = Vec::with_capacity(self.n_layers);
        for l in 0..self.n_layers {
            let mut out = Vec::with_capacity(self.batch * self.n_heads * len * len);
            for b in 0..self.batch {
                for h in 0..self.n_heads {
                    let a = self.head(l, b, h)?;
                    for q in 0..len {
                        out.extend_from_slice(&a[q * self.pos..q * self.pos + len]);
                    }
                }
            }
            data.push(out);
        }
        Patterns::new(self.n_layers, self.n_heads, self.batch, len, data)
    }
}
