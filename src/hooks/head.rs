//! `HeadRef`, the address of one attention head (`layer.head`), and the parsers of the
//! heads a user names (`--heads 1.0,0.3`, `[train] ablate_heads`).
use crate::error::{Error, Result};
use std::fmt;

/// A head `layer.head`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HeadRef {
    pub layer: usize,
    pub head: usize,
}

impl fmt::Display for HeadRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.layer, self.head)
    }
}

/// Parse `"1.0,0.3"` into heads of a model with `n_layers x n_heads` heads. Errors name the
/// bad item and the valid range; duplicates are dropped (first occurrence kept).
pub fn parse_heads(s: &str, n_layers: usize, n_heads: usize) -> Result<Vec<HeadRef>> {
    let mut out: Vec<HeadRef> = Vec::new();
    for item in s.split(',').map(str::trim) {
        let h = parse_head("--heads", item, n_layers, n_heads)?;
        if !out.contains(&h) {
            out.push(h);
        }
    }
    Ok(out)
}

/// Parse one head `"layer.head"` of a model with `n_layers x n_heads` heads; `what` (the
/// option or config key) opens the error, which names the item and the valid range.
pub fn parse_head(what: &str, item: &str, n_layers: usize, n_heads: usize) -> Result<HeadRef> {
    let range = || {
        format!(
            "this model has {n_layers} layer(s) x {n_heads} head(s): layers 0..={}, heads 0..={}",
            n_layers.saturating_sub(1),
            n_heads.saturating_sub(1)
        )
    };
    let parsed = item
        .split_once('.')
        .and_then(|(l, h)| Some((l.parse::<usize>().ok()?, h.parse::<usize>().ok()?)));
    let Some((layer, head)) = parsed else {
        return Err(Error::Invalid(format!(
            "{what}: {item:?} is not a head; write layer.head, e.g. 1.0 ({})",
            range()
        )));
    };
    if layer >= n_layers || head >= n_heads {
        return Err(Error::Invalid(format!(
            "{what}: unknown head {layer}.{head}; {}",
            range()
        )));
    }
    Ok(HeadRef { layer, head })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_parse_and_bad_heads_name_the_range() {
        let h = parse_heads("1.0, 0.3,1.0", 2, 4).unwrap();
        assert_eq!(
            h,
            vec![HeadRef { layer: 1, head: 0 }, HeadRef { layer: 0, head: 3 }]
        );
        assert_eq!(h[1].to_string(), "0.3");
        let e = parse_heads("3.9", 2, 4).unwrap_err().to_string();
        assert!(
            e.contains("3.9") && e.contains("layers 0..=1") && e.contains("heads 0..=3"),
            "{e}"
        );
        for bad in ["", "1", "a.b", "1.0.0", "-1.0"] {
            assert!(parse_heads(bad, 2, 4).is_err(), "{bad}");
        }
    }
}
