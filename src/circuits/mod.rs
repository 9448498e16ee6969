//! Weight-based circuit analysis and interventions: full QK/OV circuits and their
//! diagonal scores (`qk_ov`), composition scores and seed 004's weight-based scores
//! (`composition`, `analyze`), a small f64 SVD (`svd`), head ablations (`ablate`), direct
//! logit attribution (`attribute`) and the figures of the three commands (`figures`).
pub mod ablate;
pub mod analyze;
pub mod attribute;
pub mod composition;
pub mod eigen;
pub mod figures;
pub mod qk_ov;
pub mod svd;

pub use crate::hooks::{parse_head, parse_heads, HeadRef};
