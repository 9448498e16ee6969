//! The HuggingFace tokenizer of an imported model (`indu import --tokenizer tokenizer.json`,
//! kept in the run as `tokenizer.json`): `--text` is encoded with it, and its vocabulary
//! labels the tokens in figures and summaries. The begin token TransformerLens prepends
//! (`default_prepend_bos`) is the tokenizer's own, found by its usual names.
use crate::error::{Error, Result};
use crate::tasks::Tokenizer;
use std::path::Path;

/// Names a begin-of-sequence token goes by, in the order they are looked for.
const BOS_NAMES: [&str; 6] = [
    "<|endoftext|>",
    "<|begin_of_text|>",
    "<s>",
    "<bos>",
    "[CLS]",
    "<|BOS|>",
];

/// A loaded HuggingFace tokenizer.
pub struct HfTokenizer {
    inner: tokenizers::Tokenizer,
    /// Prepend the begin token to every text (TransformerLens's `default_prepend_bos`).
    prepend_bos: bool,
}

impl std::fmt::Debug for HfTokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HfTokenizer({} tokens)", self.inner.get_vocab_size(true))
    }
}

impl HfTokenizer {
    /// Read `tokenizer.json`; the error names the file.
    pub fn load(path: &Path, prepend_bos: bool) -> Result<HfTokenizer> {
        if !path.is_file() {
            return Err(Error::Invalid(format!(
                "tokenizer {} does not exist",
                path.display()
            )));
        }
        let inner = tokenizers::Tokenizer::from_file(path).map_err(|e| Error::Format {
            path: path.to_path_buf(),
            msg: format!(
                "not a HuggingFace tokenizer.json ({}); expected the file `tokenizer.save(...)` or `AutoTokenizer.save_pretrained` writes",
                crate::wording::one_line(&e.to_string())
            ),
        })?;
        Ok(HfTokenizer { inner, prepend_bos })
    }

    /// Number of ids the tokenizer can give (added tokens included).
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// The begin token, when the tokenizer has one of the usual names.
    pub fn bos(&self) -> Option<u32> {
        BOS_NAMES.iter().find_map(|n| self.inner.token_to_id(n))
    }

    /// `text` as ids (the begin token first when `prepend_bos` and the tokenizer has one),
    /// as TransformerLens's `to_tokens` gives them.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        let enc = self.inner.encode(text, false).map_err(|e| {
            Error::Invalid(format!(
                "the tokenizer cannot encode the text: {}",
                crate::wording::one_line(&e.to_string())
            ))
        })?;
        let mut ids = enc.get_ids().to_vec();
        if self.prepend_bos {
            if let Some(b) = self.bos() {
                if ids.first() != Some(&b) {
                    ids.insert(0, b);
                }
            }
        }
        Ok(ids)
    }

    /// Labels of ids `0..d_vocab` (an id the tokenizer does not know: `t<id>`), as an indu
    /// word tokenizer for figures and summaries.
    pub fn labels(&self, d_vocab: usize) -> Tokenizer {
        let words = (0..d_vocab as u32)
            .map(|i| self.inner.id_to_token(i).unwrap_or_else(|| format!("t{i}")))
            .collect();
        Tokenizer::words(words)
    }
}
