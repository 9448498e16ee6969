//! `Given`: the input rows a user gave a command, as text (`--text`, encoded with the run's
//! tokenizer) or as token ids (`--tokens 0,5,17`, or `--tokens @FILE` with one row per line),
//! and the parser of the ids. Ids reach a model without any tokenizer, so a model with no
//! vocabulary can still be probed with exact inputs.
use crate::error::{Error, Result};

/// What the user gave as the model's input.
#[derive(Debug, Clone, PartialEq)]
pub enum Given {
    /// Text for the run's tokenizer.
    Text(String),
    /// Rows of token ids `[batch, pos]`, every row the same length (checked by `parse_ids`).
    Tokens(Vec<Vec<u32>>),
}

/// Most rows one `--tokens` may give.
pub const MAX_ROWS: usize = 4096;

/// Rows of token ids: ids separated by commas and/or whitespace, one row per line (blank
/// lines skipped). Every row must have the same number of ids. The error names the line and
/// the item that is not an id.
pub fn parse_ids(text: &str) -> Result<Vec<Vec<u32>>> {
    let mut rows: Vec<Vec<u32>> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let items: Vec<&str> = line
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .collect();
        if items.is_empty() {
            continue;
        }
        let row = items
            .iter()
            .map(|s| {
                s.parse::<u32>().map_err(|_| {
                    Error::Invalid(format!(
                        "line {}: {s:?} is not a token id (expected whole numbers like 0,5,17)",
                        i + 1
                    ))
                })
            })
            .collect::<Result<Vec<u32>>>()?;
        if let Some(first) = rows.first() {
            if first.len() != row.len() {
                return Err(Error::Invalid(format!(
                    "line {}: {} ids, but the first row has {}: every row needs the same length",
                    i + 1,
                    row.len(),
                    first.len()
                )));
            }
        }
        rows.push(row);
        if rows.len() > MAX_ROWS {
            return Err(Error::Invalid(format!(
                "more than {MAX_ROWS} rows of token ids"
            )));
        }
    }
    if rows.is_empty() {
        return Err(Error::Invalid(
            "no token ids: give ids like 0,5,17 (one row per line in a file)".into(),
        ));
    }
    Ok(rows)
}

/// Check `rows` against a model: every id below `d_vocab`, every row at most `n_ctx` long.
pub fn check_ids(rows: &[Vec<u32>], d_vocab: usize, n_ctx: usize) -> Result<()> {
    for (r, row) in rows.iter().enumerate() {
        if row.len() > n_ctx {
            return Err(Error::Invalid(format!(
                "--tokens: row {} has {} ids but the model's context is n_ctx = {n_ctx}",
                r + 1,
                row.len()
            )));
        }
        if let Some((p, &t)) = row
            .iter()
            .enumerate()
            .find(|&(_, &t)| t as usize >= d_vocab)
        {
            return Err(Error::Invalid(format!(
                "--tokens: id {t} (row {}, position {p}) is out of range: the model reads ids 0..={}",
                r + 1,
                d_vocab.saturating_sub(1)
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_by_commas_spaces_and_lines() {
        assert_eq!(parse_ids("0,5,17").unwrap(), vec![vec![0, 5, 17]]);
        assert_eq!(
            parse_ids("1 2, 3\n\n4,5 ,6\n").unwrap(),
            vec![vec![1, 2, 3], vec![4, 5, 6]]
        );
    }

    #[test]
    fn bad_ids_name_the_line_and_item() {
        let e = parse_ids("1,2\n3,x").unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("\"x\""), "{e}");
        let e = parse_ids("1,-2").unwrap_err().to_string();
        assert!(e.contains("\"-2\""), "{e}");
        let e = parse_ids("1,2\n3").unwrap_err().to_string();
        assert!(e.contains("same length"), "{e}");
        assert!(parse_ids(" \n,\n").is_err());
    }

    #[test]
    fn ids_are_checked_against_the_model() {
        let rows = vec![vec![0, 26, 3]];
        assert!(check_ids(&rows, 27, 32).is_ok());
        let e = check_ids(&rows, 26, 32).unwrap_err().to_string();
        assert!(e.contains("id 26") && e.contains("0..=25"), "{e}");
        let e = check_ids(&rows, 27, 2).unwrap_err().to_string();
        assert!(e.contains("n_ctx = 2"), "{e}");
    }
}
