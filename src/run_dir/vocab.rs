//! A run's vocabulary for other tools: `vocab.json` (id -> token text, the begin/stop tokens
//! named) and a HuggingFace tokenizer of the same vocabulary (`tokenizer.json`,
//! `tokenizer_config.json`), so that `AutoTokenizer.from_pretrained(run_dir)` gives
//! TransformerLens a tokenizer and `to_tokens` / `to_str_tokens` / `detect_head` work on an
//! indu run (README, "TransformerLens").
use crate::error::Result;
use crate::report::write_json;
use crate::tasks::tokenizer::Style;
use crate::tasks::TaskSpec;
use serde_json::{json, Map, Value};
use std::path::Path;

/// The file names, in the run directory.
pub const VOCAB: &str = "vocab.json";
pub const HF_TOKENIZER: &str = "tokenizer.json";
pub const HF_TOKENIZER_CONFIG: &str = "tokenizer_config.json";

/// The unknown-token name of the HuggingFace tokenizer. It is not in the vocabulary, so a
/// character or word the task does not have fails to encode instead of becoming a real id.
const UNK: &str = "<unk>";

/// Token `id` and its text, as `{"id": .., "token": ..}`, or null.
fn named(spec: &TaskSpec, id: Option<u32>) -> Value {
    let tok = spec.tokenizer();
    match id.and_then(|i| tok.token(i).map(|t| (i, t.to_string()))) {
        Some((i, t)) => json!({ "id": i, "token": t }),
        None => Value::Null,
    }
}

/// What `vocab.json` holds: `tokens[i]` is the text of id i; `style` says how a row is
/// written (`chars`: concatenated, `words`: space-separated); `bos` the begin token every
/// row starts with and `eos` the token that ends a generated row (null where the task has
/// none); `pad` null (rows are never padded). Output ids are the first `d_vocab_out` ids.
pub fn vocab_json(spec: &TaskSpec) -> Value {
    let tok = spec.tokenizer();
    let task = spec.task();
    let tokens: Vec<String> = (0..tok.d_vocab() as u32)
        .map(|i| tok.token(i).unwrap_or_default().to_string())
        .collect();
    json!({
        "task": task.name(),
        "style": match tok.style() { Style::Chars => "chars", Style::Words => "words" },
        "tokens": tokens,
        "bos": named(spec, task.begin_token()),
        "eos": named(spec, task.stop_token()),
        "pad": Value::Null,
        "d_vocab": spec.d_vocab(),
        "d_vocab_out": spec.d_vocab_out(),
    })
}

/// The HuggingFace `tokenizer.json` (a `WordLevel` model over the task's tokens; characters
/// split one by one and fused back for a character-level task, whitespace-split words
/// otherwise) and its `tokenizer_config.json`.
pub fn hf_tokenizer(spec: &TaskSpec) -> (Value, Value) {
    let tok = spec.tokenizer();
    let task = spec.task();
    let mut vocab = Map::new();
    for i in 0..tok.d_vocab() as u32 {
        if let Some(t) = tok.token(i) {
            vocab.insert(t.to_string(), json!(i));
        }
    }
    let bos = task
        .begin_token()
        .and_then(|i| tok.token(i).map(|t| (i, t)));
    let added: Vec<Value> = bos
        .iter()
        .map(|(i, t)| {
            json!({ "id": i, "content": t, "single_word": false, "lstrip": false,
                    "rstrip": false, "normalized": false, "special": true })
        })
        .collect();
    let (pre, decoder) = match tok.style() {
        Style::Chars => (
            json!({ "type": "Split", "pattern": { "Regex": "." }, "behavior": "Isolated", "invert": false }),
            json!({ "type": "Fuse" }),
        ),
        Style::Words => (json!({ "type": "WhitespaceSplit" }), Value::Null),
    };
    let tokenizer = json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": added,
        "normalizer": null,
        "pre_tokenizer": pre,
        "post_processor": null,
        "decoder": decoder,
        "model": { "type": "WordLevel", "vocab": vocab, "unk_token": UNK },
    });
    let mut config = Map::new();
    config.insert("tokenizer_class".into(), json!("PreTrainedTokenizerFast"));
    config.insert("model_max_length".into(), json!(spec.n_ctx()));
    match bos {
        Some((_, t)) => {
            for k in ["bos_token", "eos_token", "pad_token"] {
                config.insert(k.into(), json!(t));
            }
        }
        // TransformerLens's `to_tokens` needs a pad token even for one row: name id 0 (rows
        // of the same length are never padded).
        None => {
            if let Some(t) = tok.token(0) {
                config.insert("pad_token".into(), json!(t));
            }
        }
    }
    (tokenizer, Value::Object(config))
}

/// Write `vocab.json`, `tokenizer.json` and `tokenizer_config.json` into `dir`.
pub fn write(dir: &Path, spec: &TaskSpec) -> Result<()> {
    write_json(&dir.join(VOCAB), &vocab_json(spec))?;
    let (tokenizer, config) = hf_tokenizer(spec);
    write_json(&dir.join(HF_TOKENIZER), &tokenizer)?;
    write_json(&dir.join(HF_TOKENIZER_CONFIG), &config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RunConfig;
    use crate::tasks::Task;

    fn spec(task: Task) -> TaskSpec {
        let cfg = RunConfig::preset(task, &[]).unwrap();
        cfg.task.spec(cfg.seed).unwrap()
    }

    #[test]
    fn vocab_names_every_id_and_the_begin_token() {
        let s = spec(Task::Induction);
        let v = vocab_json(&s);
        let tokens = v["tokens"].as_array().unwrap();
        assert_eq!(tokens.len(), s.d_vocab());
        let tok = s.tokenizer();
        for (i, t) in tokens.iter().enumerate() {
            assert_eq!(tok.id(t.as_str().unwrap()), Some(i as u32));
        }
        let b = s.task().begin_token().unwrap();
        assert_eq!(v["bos"]["id"], json!(b));
        assert_eq!(v["style"], json!("chars"));
    }

    #[test]
    fn hf_vocab_matches_ids_for_every_task() {
        for task in Task::ALL {
            let s = spec(task);
            let (t, c) = hf_tokenizer(&s);
            let vocab = t["model"]["vocab"].as_object().unwrap();
            assert_eq!(vocab.len(), s.d_vocab(), "{task}: tokens must be distinct");
            for (text, id) in vocab {
                assert_eq!(s.tokenizer().id(text), id.as_u64().map(|i| i as u32));
            }
            assert!(!vocab.contains_key(UNK), "{task}");
            assert_eq!(c["model_max_length"], json!(s.n_ctx()));
        }
    }
}
