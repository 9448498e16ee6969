//! Small helpers for wording error messages: the closest name to a misspelt one (for "did
//! you mean"), a multi-line message folded onto one line, and Rust's number type names said
//! as what a user types.

/// The candidate with the smallest edit distance to `word`, if reasonably close (at most
/// half the longer word's length, and at least 2 edits are always allowed).
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        // Ties go to the candidate with the same first letter (`n_head` -> `n_heads`).
        .map(|c| {
            (
                levenshtein(word, c),
                c.chars().next() != word.chars().next(),
                *c,
            )
        })
        .min()
        .filter(|(d, _, c)| *d <= (c.len().max(word.len()) / 2).max(2))
        .map(|(_, _, c)| c)
}

/// ` (did you mean `best`?)` when one of `candidates` is close to `word`, else empty.
pub fn did_you_mean(word: &str, candidates: &[&str]) -> String {
    closest(word, candidates)
        .map(|c| format!(" (did you mean `{c}`?)"))
        .unwrap_or_default()
}

/// Edit distance (insertions, deletions, substitutions) between `a` and `b`, by characters.
fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The non-empty lines of `s`, trimmed and joined by single spaces.
pub fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The phrase for an unsigned whole number, as messages say what a key expects.
pub const WHOLE_NUMBER: &str = "a whole number >= 0";

/// "expected usize" / "expected u64" in `msg` said as "expected a whole number >= 0".
pub fn plain_number_words(msg: &str) -> String {
    let plain = format!("expected {WHOLE_NUMBER}");
    msg.replace("expected usize", &plain)
        .replace("expected u64", &plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_prefers_the_same_first_letter_and_refuses_far_words() {
        assert_eq!(closest("n_head", &["d_head", "n_heads"]), Some("n_heads"));
        assert_eq!(closest("lrr", &["lr", "eps"]), Some("lr"));
        assert_eq!(closest("ln", &["none", "LN"]), Some("LN"));
        assert_eq!(closest("completely_else", &["lr", "eps"]), None);
        assert_eq!(
            did_you_mean("trian", &["task", "train"]),
            " (did you mean `train`?)"
        );
        assert_eq!(did_you_mean("zzzzzz", &["task"]), "");
    }

    #[test]
    fn levenshtein_counts_edits() {
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("same", "same"), 0);
    }

    #[test]
    fn one_line_and_number_words() {
        assert_eq!(one_line(" a\n\n  b \n"), "a b");
        assert_eq!(
            plain_number_words("invalid type: string \"x\", expected usize"),
            "invalid type: string \"x\", expected a whole number >= 0"
        );
    }
}
