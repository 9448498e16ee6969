//! `--set key.path=value` overrides, applied to the TOML table before it is read.
use super::document::parse_value;
use crate::error::{Error, Result};

/// Apply one `a.b.c=value` override to a TOML table. The value is parsed as TOML
/// (`1e-3`, `true`, `[0.9, 0.98]`, `"LN"`), or taken as a bare string.
pub fn apply_override(table: &mut toml::Table, spec: &str) -> Result<()> {
    let Some((key, raw)) = spec.split_once('=') else {
        return Err(Error::Config(format!(
            "--set {spec:?}: expected KEY=VALUE, e.g. train.lr=1e-3"
        )));
    };
    let key = key.trim();
    let raw = raw.trim();
    let value = parse_value(key, raw)?.unwrap_or_else(|| toml::Value::String(raw.to_string()));
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(Error::Config(format!("--set {spec:?}: empty key segment")));
    }
    let mut cur = table;
    for p in &parts[..parts.len() - 1] {
        let entry = cur
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = match entry {
            toml::Value::Table(t) => t,
            _ => {
                return Err(Error::Config(format!(
                    "--set {key}: `{p}` is a value, not a section"
                )))
            }
        };
    }
    cur.insert(parts[parts.len() - 1].to_string(), value);
    Ok(())
}

/// The value of a `key=raw` override as `apply_override` reads it: TOML, or a bare string.
pub fn parse_override_value(key: &str, raw: &str) -> Result<toml::Value> {
    Ok(
        parse_value(key, raw.trim())?
            .unwrap_or_else(|| toml::Value::String(raw.trim().to_string())),
    )
}
