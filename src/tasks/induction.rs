//! STUB: to be replaced by the induction generator.
use super::{Rows, Split, Tokenizer};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InductionConfig {}

impl InductionConfig {
    pub fn validate(&self) -> Result<()> {
        Ok(())
    }
}

#[derive(Debug, Clone)]
pub struct Induction {}

impl Induction {
    pub fn new(_c: &InductionConfig, _seed: u64) -> Result<Self> {
        Err(Error::Invalid("not implemented".into()))
    }
    pub fn n_ctx(&self) -> usize {
        0
    }
    pub fn d_vocab(&self) -> usize {
        0
    }
    pub fn d_vocab_out(&self) -> usize {
        0
    }
    pub fn generate<R: rand::Rng + ?Sized>(&self, _n: usize, _s: Split, _r: &mut R) -> Rows {
        Rows::default()
    }
    pub fn tokenizer(&self) -> Tokenizer {
        Tokenizer::default()
    }
    pub fn is_valid(&self, _row: &[u32]) -> Option<bool> {
        None
    }
    pub fn metrics(&self, _rows: &Rows, _loss: &[f32], _pred: &[u32]) -> Vec<(String, f64)> {
        vec![]
    }
}
