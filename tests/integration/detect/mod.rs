//! The head detectors: scores on hand-built patterns, properties over random ones, and the
//! TransformerLens `detect_head` reference.
mod props;
mod scores;
mod tl;
