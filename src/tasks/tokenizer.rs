//! STUB: token <-> text.
#[derive(Debug, Clone, Default)]
pub struct Tokenizer {}
