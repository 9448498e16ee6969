//! Value parsers of the command line's numbers, with our own wording: clap prints
//! "invalid value '-5' for '--n <N>': <ours>".
use std::num::IntErrorKind;

/// A count or index: a whole number >= 0.
pub fn count(s: &str) -> Result<usize, String> {
    whole(s, usize::MAX as u128).map(|v| v as usize)
}

/// A seed: a whole number >= 0 that fits 64 bits (runs refuse those above i64::MAX later,
/// naming the limit).
pub fn seed_value(s: &str) -> Result<u64, String> {
    whole(s, u64::MAX as u128).map(|v| v as u64)
}

/// A number (decimal or exponent notation, `inf` and `nan` included: the option says which
/// it accepts).
pub fn number(s: &str) -> Result<f64, String> {
    s.trim()
        .parse::<f64>()
        .map_err(|_| "expected a number".to_string())
}

fn whole(s: &str, max: u128) -> Result<u128, String> {
    let t = s.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit() || b == b'+') {
        return Err("expected a whole number >= 0".into());
    }
    match t.parse::<u128>() {
        Ok(v) if v <= max => Ok(v),
        Ok(_) => Err(format!("the number is too large (expected at most {max})")),
        Err(e) if *e.kind() == IntErrorKind::PosOverflow => {
            Err(format!("the number is too large (expected at most {max})"))
        }
        Err(_) => Err("expected a whole number >= 0".into()),
    }
}

/// The rows of `--tokens`: `[batch, pos]` token ids.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenRows(pub Vec<Vec<u32>>);

/// `--tokens`: ids separated by commas or whitespace (`0,5,17`), or `@FILE` holding one row
/// per line.
pub fn token_rows(s: &str) -> Result<TokenRows, String> {
    let text = match s.strip_prefix('@') {
        Some(path) => std::fs::read_to_string(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => format!("{path}: no such file"),
            std::io::ErrorKind::InvalidData => format!("{path}: not UTF-8 text"),
            _ => format!("{path}: cannot be read"),
        })?,
        None => s.to_string(),
    };
    indu::given::parse_ids(&text)
        .map(TokenRows)
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_worded_by_us() {
        assert_eq!(count("12"), Ok(12));
        assert_eq!(count("-5").unwrap_err(), "expected a whole number >= 0");
        assert_eq!(count("1.5").unwrap_err(), "expected a whole number >= 0");
        assert_eq!(count("").unwrap_err(), "expected a whole number >= 0");
        assert_eq!(
            count("99999999999999999999999").unwrap_err(),
            format!("the number is too large (expected at most {})", usize::MAX)
        );
        assert_eq!(seed_value("18446744073709551615"), Ok(u64::MAX));
        assert!(seed_value("18446744073709551616")
            .unwrap_err()
            .contains("too large"));
        assert_eq!(number("1e-3"), Ok(1e-3));
        assert_eq!(number("abc").unwrap_err(), "expected a number");
    }
}
