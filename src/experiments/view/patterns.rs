//! Attention patterns as the page carries them: each head's causal `[query_pos, key_pos]`
//! pattern quantised to one byte per weight (`round(255 a)`, error at most 1/510), only the
//! lower triangle (`k <= q`, row by row: `pos (pos + 1) / 2` bytes), base64-encoded. The
//! page decodes them back to `a = byte / 255`.
use crate::detect::Patterns;
use crate::error::Result;
use serde::Serialize;

/// Every head's pattern on the page's input after `step` steps.
#[derive(Debug, Clone, Serialize)]
pub struct PatternSet {
    /// The step of the weights (the run's last step for the final model).
    pub step: usize,
    /// `heads[layer * n_heads + head]`: the lower triangle of `[query_pos, key_pos]`,
    /// quantised and base64-encoded (see the module doc).
    pub heads: Vec<String>,
}

/// The raw bytes one head takes on the page (before base64).
pub fn bytes_per_head(pos: usize) -> usize {
    pos * (pos + 1) / 2
}

impl PatternSet {
    /// Quantise row 0 of `p` (one input row) for every head.
    pub fn of(step: usize, p: &Patterns) -> Result<PatternSet> {
        let mut heads = Vec::with_capacity(p.n_layers * p.n_heads);
        for l in 0..p.n_layers {
            for h in 0..p.n_heads {
                heads.push(base64(&quantise(p.head(l, 0, h)?, p.pos)));
            }
        }
        Ok(PatternSet { step, heads })
    }
}

/// The lower triangle of a `[pos, pos]` pattern, one byte per weight.
pub fn quantise(a: &[f32], pos: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes_per_head(pos));
    for q in 0..pos {
        for k in 0..=q {
            let v = a.get(q * pos + k).copied().unwrap_or(0.0);
            let v = if v.is_finite() {
                v.clamp(0.0, 1.0)
            } else {
                0.0
            };
            out.push((v * 255.0).round() as u8);
        }
    }
    out
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with `=` padding (what the browser's `atob` reads).
pub fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_the_standard_vectors() {
        for (raw, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(raw.as_bytes()), enc);
        }
        assert_eq!(base64(&[255, 254, 253]), "//79");
    }

    #[test]
    fn quantise_keeps_the_lower_triangle_within_half_a_step() {
        // [[1, 0, 0], [0.3, 0.7, 0], [0.2, 0.5, 0.3]]
        let a = [1.0, 0.0, 0.0, 0.3, 0.7, 0.0, 0.2, 0.5, 0.3];
        let q = quantise(&a, 3);
        assert_eq!(q.len(), bytes_per_head(3));
        assert_eq!(q, [255, 77, 179, 51, 128, 77]);
        let back: Vec<f32> = q.iter().map(|&b| b as f32 / 255.0).collect();
        let lower = [1.0, 0.3, 0.7, 0.2, 0.5, 0.3];
        for (x, y) in back.iter().zip(lower) {
            assert!((x - y).abs() <= 0.5 / 255.0 + 1e-6, "{x} vs {y}");
        }
        assert_eq!(quantise(&[f32::NAN, 2.0, -1.0, 0.5], 2), [0, 0, 128]);
    }
}
