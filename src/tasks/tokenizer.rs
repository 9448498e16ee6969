//! `Tokenizer`: tokens <-> readable text for every task. Two styles: character-level
//! (each token is one character, text is their concatenation) and word-level (tokens are
//! whitespace-free words, text is space-separated). Also short tick labels for plots.
use crate::error::{Error, Result};
use std::collections::HashMap;

/// How a token sequence is written as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Style {
    /// One character per token, concatenated (`12345+67890=080235`).
    #[default]
    Chars,
    /// One whitespace-free word per token, separated by single spaces (`<s> t3 m1 q`).
    Words,
}

/// Maps token ids to strings and back. `tokens[i]` is the text of token `i`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Tokenizer {
    style: Style,
    tokens: Vec<String>,
    lookup: HashMap<String, u32>,
}

impl Tokenizer {
    /// A character-level tokenizer: token `i` is the `i`-th character of `alphabet`.
    pub fn chars(alphabet: &str) -> Tokenizer {
        Self::build(Style::Chars, alphabet.chars().map(String::from).collect())
    }

    /// A word-level tokenizer: token `i` is `words[i]` (words must be distinct and contain
    /// no whitespace, so that decode -> encode round-trips).
    pub fn words(words: Vec<String>) -> Tokenizer {
        Self::build(Style::Words, words)
    }

    fn build(style: Style, tokens: Vec<String>) -> Tokenizer {
        let lookup = tokens
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), i as u32))
            .collect();
        Tokenizer {
            style,
            tokens,
            lookup,
        }
    }

    /// Number of tokens.
    pub fn d_vocab(&self) -> usize {
        self.tokens.len()
    }

    /// Character- or word-level.
    pub fn style(&self) -> Style {
        self.style
    }

    /// The text of one token (None when out of range).
    pub fn token(&self, t: u32) -> Option<&str> {
        self.tokens.get(t as usize).map(String::as_str)
    }

    /// The id of one token's text.
    pub fn id(&self, s: &str) -> Option<u32> {
        self.lookup.get(s).copied()
    }

    /// The text of one token, or `<#id>` for an id outside the vocabulary.
    fn text(&self, t: u32) -> String {
        match self.token(t) {
            Some(s) => s.to_string(),
            None => format!("<#{t}>"),
        }
    }

    /// Tokens as text: concatenated (chars) or space-separated (words). Ids outside the
    /// vocabulary show as `<#id>` (and then do not encode back).
    pub fn decode(&self, tokens: &[u32]) -> String {
        let parts: Vec<String> = tokens.iter().map(|&t| self.text(t)).collect();
        match self.style {
            Style::Chars => parts.concat(),
            Style::Words => parts.join(" "),
        }
    }

    /// Text back to tokens. Chars: every character must be a token. Words: the text is split
    /// on whitespace and every word must be a token. The error names the first unknown
    /// character (and its 0-based column) or word (and its 0-based index).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        match self.style {
            Style::Chars => text
                .chars()
                .enumerate()
                .map(|(col, c)| {
                    let mut buf = [0u8; 4];
                    self.id(c.encode_utf8(&mut buf)).ok_or_else(|| {
                        Error::Invalid(format!(
                            "character {c:?} at column {col} is not in the vocabulary \
                             (valid: {})",
                            self.examples()
                        ))
                    })
                })
                .collect(),
            Style::Words => text
                .split_whitespace()
                .enumerate()
                .map(|(i, w)| {
                    self.id(w).ok_or_else(|| {
                        Error::Invalid(format!(
                            "word {w:?} at position {i} is not in the vocabulary \
                             (valid: {})",
                            self.examples()
                        ))
                    })
                })
                .collect(),
        }
    }

    /// A few valid tokens, for error messages.
    fn examples(&self) -> String {
        const SHOW: usize = 8;
        let mut shown: Vec<String> = self
            .tokens
            .iter()
            .take(SHOW)
            .map(|s| format!("{s:?}"))
            .collect();
        if self.tokens.len() > SHOW {
            shown.push(format!("... {} tokens in all", self.tokens.len()));
        }
        shown.join(", ")
    }

    /// A short label for plot ticks: the token's text, with a space shown as `_`, or
    /// `t<id>` for an id outside the vocabulary.
    pub fn label(&self, t: u32) -> String {
        match self.token(t) {
            Some(" ") => "_".to_string(),
            Some(s) => s.to_string(),
            None => format!("t{t}"),
        }
    }

    /// Labels of a whole row.
    pub fn labels(&self, tokens: &[u32]) -> Vec<String> {
        tokens.iter().map(|&t| self.label(t)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chars_round_trip_and_errors() {
        let t = Tokenizer::chars("0123456789+=");
        assert_eq!(t.d_vocab(), 12);
        let toks = t.encode("12+3=15").unwrap();
        assert_eq!(toks, vec![1, 2, 10, 3, 11, 1, 5]);
        assert_eq!(t.decode(&toks), "12+3=15");
        let err = t.encode("12-3").unwrap_err().to_string();
        assert!(err.contains("'-'") && err.contains("column 2"), "{err}");
        assert_eq!(t.label(10), "+");
        assert_eq!(t.label(99), "t99");
    }

    #[test]
    fn words_round_trip_and_errors() {
        let t = Tokenizer::words(vec!["<s>".into(), "q".into(), "t0".into()]);
        assert_eq!(t.decode(&[0, 2, 1]), "<s> t0 q");
        assert_eq!(t.encode("  <s>  t0\tq ").unwrap(), vec![0, 2, 1]);
        let err = t.encode("<s> t9").unwrap_err().to_string();
        assert!(
            err.contains("\"t9\"") && err.contains("position 1"),
            "{err}"
        );
        assert_eq!(t.decode(&[5]), "<#5>");
    }

    #[test]
    fn space_label() {
        let t = Tokenizer::chars("> .ab");
        assert_eq!(t.labels(&[0, 1, 2, 3]), vec![">", "_", ".", "a"]);
    }
}
