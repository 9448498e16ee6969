//! TOML text to a `toml::Table`. Syntax errors are toml's report on one line; every value is
//! converted here, so an integer or float beyond what TOML holds is refused by its key with
//! indu's wording.
use crate::error::{Error, Result};
use crate::wording::one_line;
use toml::de::{DeFloat, DeInteger, DeTable, DeValue};
use toml::{Table, Value};

/// Parse a TOML document into a table.
pub(super) fn parse_document(text: &str) -> Result<Table> {
    let doc = DeTable::parse(text)
        .map_err(|e| Error::Config(format!("invalid TOML: {}", one_line(&e.to_string()))))?;
    table(doc.get_ref(), "")
}

/// Parse `raw` as one TOML value for the key `key` (`--set key=raw`); `None` when `raw` is
/// not TOML syntax (the caller then takes it as a bare string).
pub(super) fn parse_value(key: &str, raw: &str) -> Result<Option<Value>> {
    let text = format!("v = {raw}");
    let Ok(doc) = DeTable::parse(&text) else {
        return Ok(None);
    };
    match doc.get_ref().iter().find(|(k, _)| k.get_ref() == "v") {
        Some((_, v)) => Ok(Some(value(v.get_ref(), key)?)),
        None => Ok(None),
    }
}

fn table(t: &DeTable, prefix: &str) -> Result<Table> {
    let mut out = Table::new();
    for (k, v) in t.iter() {
        let key = k.get_ref().to_string();
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        out.insert(key, value(v.get_ref(), &path)?);
    }
    Ok(out)
}

fn value(v: &DeValue, path: &str) -> Result<Value> {
    Ok(match v {
        DeValue::String(s) => Value::String(s.to_string()),
        DeValue::Integer(i) => Value::Integer(integer(i, path)?),
        DeValue::Float(f) => Value::Float(float(f, path)?),
        DeValue::Boolean(b) => Value::Boolean(*b),
        DeValue::Datetime(d) => Value::Datetime(*d),
        DeValue::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| value(x.get_ref(), &format!("{path}[{i}]")))
                .collect::<Result<_>>()?,
        ),
        DeValue::Table(t) => Value::Table(table(t, path)?),
    })
}

/// A TOML integer holds a 64-bit signed value.
fn integer(i: &DeInteger, path: &str) -> Result<i64> {
    i64::from_str_radix(i.as_str(), i.radix()).map_err(|_| {
        let bound = if i.as_str().starts_with('-') {
            format!("at least {}", i64::MIN)
        } else {
            format!("at most {}", i64::MAX)
        };
        Error::Config(format!("{path} = {i} is out of range: expected {bound}"))
    })
}

/// A TOML float is an f64; a literal beyond its range (`1e999`) is refused rather than
/// read as infinity (only `inf` is infinity).
fn float(f: &DeFloat, path: &str) -> Result<f64> {
    let s = f.as_str();
    match s.parse::<f64>() {
        Ok(x) if !x.is_infinite() || s.contains("inf") => Ok(x),
        _ => Err(Error::Config(format!(
            "{path} = {f} is out of range: expected a number of magnitude at most {:e}",
            f64::MAX
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_read_as_toml_reads_them() {
        let text = "seed = 3\n[task]\nname = \"induction\"\nlength = 0x10\n[train]\nlr = 1e-3\nbetas = [0.9, 0.99]\nx = inf\ny = nan\nwhen = 1979-05-27\n";
        let ours = parse_document(text).unwrap();
        let theirs: Table = text.parse().unwrap();
        // NaN != NaN, so compare the text forms.
        assert_eq!(ours.to_string(), theirs.to_string());
        let keys: Vec<&String> = ours.keys().collect();
        assert_eq!(keys, ["seed", "task", "train"]);
    }

    #[test]
    fn values_beyond_toml_are_refused_by_key() {
        let e = parse_document("seed = 18446744073709551615\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "seed = 18446744073709551615 is out of range: expected at most 9223372036854775807"
        );
        let e = parse_document("[train]\nbetas = [1e999, 0.9]\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("train.betas[0] = 1e999 is out of range"),
            "{e}"
        );
        let e = parse_value("seed", "-9223372036854775809").unwrap_err();
        assert!(
            e.to_string().contains("at least -9223372036854775808"),
            "{e}"
        );
        assert!(parse_document("[task\n")
            .unwrap_err()
            .to_string()
            .starts_with("invalid TOML: "));
    }

    #[test]
    fn override_values_parse_or_fall_back() {
        assert_eq!(parse_value("k", "1e-3").unwrap(), Some(Value::Float(1e-3)));
        assert_eq!(parse_value("k", "LN").unwrap(), None);
        assert_eq!(
            parse_value("k", "[0.9, 0.98]").unwrap(),
            Some(Value::Array(vec![Value::Float(0.9), Value::Float(0.98)]))
        );
    }
}
