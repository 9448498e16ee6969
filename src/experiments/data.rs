//! `data`: a task's data set as text, one decoded row per line (the format `train --data`
//! reads), or as JSON lines `{"tokens": [..], "mask": [..], "text": ".."}`.
use crate::tasks::{Split, TaskSpec};
use rand::SeedableRng;

/// How rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Jsonl,
}

impl Format {
    /// The file extension of the format.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Text => "txt",
            Format::Jsonl => "jsonl",
        }
    }
}

/// `n` rows of `spec`'s `split`, seeded, one line each; `progress(rows done)` is called
/// after every chunk of rows.
pub fn lines(
    spec: &TaskSpec,
    n: usize,
    split: Split,
    seed: u64,
    format: Format,
    mut progress: impl FnMut(usize),
) -> String {
    const CHUNK: usize = 4096;
    let tokenizer = spec.tokenizer();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut text = String::new();
    let mut done = 0;
    while done < n {
        let chunk = CHUNK.min(n - done);
        let rows = spec.generate(chunk, split, &mut rng);
        for i in 0..rows.len() {
            let row = rows.row(i);
            let mask = rows.mask_row(i);
            match format {
                Format::Text => text.push_str(&spec.to_line(row, mask)),
                Format::Jsonl => {
                    let line = serde_json::json!({
                        "tokens": row,
                        "mask": mask.iter().map(|&m| m as u8).collect::<Vec<_>>(),
                        "text": tokenizer.decode(row),
                    });
                    text.push_str(&line.to_string());
                }
            }
            text.push('\n');
        }
        done += chunk;
        progress(done);
    }
    text
}
