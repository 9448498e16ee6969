//! Property tests that feed arbitrary and half-valid input to every parser a user can reach:
//! the config parser and `--set` overrides, the safetensors loaders (`st_io::read`,
//! `model::load_weights`, the training checkpoint) and the task text encoders and line
//! parsers. The property is "returns, never panics" (plus: an accepted config validates).
use candle_core::{DType, Device};
use indu::config::{apply_override, preset_text, RunConfig};
use indu::run_dir::RunDir;
use indu::tasks::Task;
use proptest::prelude::*;
use std::path::Path;

/// Keys a user might set, including misspelt and foreign ones.
const KEYS: &[&str] = &[
    "seed",
    "task.name",
    "task.length",
    "task.n_symbols",
    "task.n_digits",
    "task.seq_len",
    "task.subseq_len",
    "model.n_layers",
    "model.n_heads",
    "model.d_model",
    "model.d_head",
    "model.n_ctx",
    "model.d_vocab",
    "model.d_vocab_out",
    "model.attn_only",
    "model.d_mlp",
    "model.act_fn",
    "model.normalization",
    "model.positional",
    "model.init",
    "model.init_range",
    "train.steps",
    "train.batch_size",
    "train.lr",
    "train.betas",
    "train.eps",
    "train.warmup_steps",
    "train.schedule",
    "train.grad_clip",
    "train.eval_every",
    "train.eval_size",
    "train.num_data",
    "train.threads",
    "train.lrr",
    "model",
    "train.lr.x",
    "",
    "a..b",
];

/// Values: edge integers, floats, specials, strings, arrays, tables, garbage.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|v| v.to_string()),
        any::<u64>().prop_map(|v| v.to_string()),
        (0u32..100_000).prop_map(|v| v.to_string()),
        any::<f64>().prop_map(|v| format!("{v:e}")),
        Just("nan".to_string()),
        Just("-inf".to_string()),
        Just("99999999999999999999999".to_string()),
        Just("[0.9, 0.99]".to_string()),
        Just("[1e400, -0.0]".to_string()),
        Just("{ a = 1 }".to_string()),
        Just("\"LN\"".to_string()),
        Just("true".to_string()),
        "[a-z_]{0,8}",
        ".{0,12}",
    ]
}

fn override_spec() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (prop::sample::select(KEYS), value()).prop_map(|(k, v)| format!("{k}={v}")),
        1 => ".{0,24}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn config_text_never_panics(text in ".{0,200}") {
        let _ = RunConfig::from_toml(&text, &[]);
    }

    #[test]
    fn config_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = RunConfig::from_toml(&String::from_utf8_lossy(&bytes), &[]);
    }

    #[test]
    fn presets_with_random_overrides_never_panic(
        task in prop::sample::select(Task::ALL.to_vec()),
        sets in prop::collection::vec(override_spec(), 0..4),
    ) {
        if let Ok(cfg) = RunConfig::from_toml(preset_text(task), &sets) {
            // Whatever is accepted is valid, resolvable and round-trips through TOML.
            prop_assert!(cfg.validate().is_ok());
            let text = cfg.to_toml().unwrap();
            prop_assert_eq!(RunConfig::from_toml(&text, &[]).unwrap(), cfg);
        }
    }

    #[test]
    fn override_parsing_never_panics(spec in ".{0,40}") {
        let mut table = toml::Table::new();
        let _ = apply_override(&mut table, &spec);
    }
}

/// A minimal run directory holding `model.safetensors` / `checkpoint.safetensors` = `bytes`.
fn run_with(dir: &Path, bytes: &[u8]) -> RunDir {
    std::fs::write(dir.join("model.safetensors"), bytes).unwrap();
    std::fs::write(dir.join("checkpoint.safetensors"), bytes).unwrap();
    RunDir::new(dir)
}

fn tiny_config() -> RunConfig {
    RunConfig::preset(
        Task::Induction,
        &[
            "model.d_model=8".into(),
            "model.d_head=4".into(),
            "model.n_heads=2".into(),
        ],
    )
    .unwrap()
}

/// Try every loader on the same bytes; none may panic.
fn load_all(bytes: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let run = run_with(dir.path(), bytes);
    let cfg = tiny_config();
    let _ = indu::st_io::read(&run.model(), &Device::Cpu);
    let _ = indu::st_io::metadata(&run.model());
    let _ = indu::model::load_weights(&run.model(), &cfg.model, &Device::Cpu, DType::F32);
    let varmap = indu::model::init_varmap(&cfg.model, 0, &Device::Cpu, DType::F32).unwrap();
    let vars = varmap
        .data()
        .lock()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut opt = indu::train::optim::AdamW::new(vars, &cfg.train).unwrap();
    let _ = indu::train::checkpoint::load(&run, &mut opt, &Device::Cpu);
}

/// A safetensors-shaped file: an 8-byte header length, a JSON header built from arbitrary
/// names, dtypes, shapes and offsets, then `data` bytes.
fn structured_file() -> impl Strategy<Value = Vec<u8>> {
    let name = prop_oneof![
        Just("embed.W_E".to_string()),
        Just("param.embed.W_E".to_string()),
        Just("blocks.0.attn.W_Q".to_string()),
        Just("blocks.0.attn.mask".to_string()),
        "[a-z._]{0,12}",
    ];
    let dtype = prop::sample::select(vec!["F32", "F64", "F16", "BF16", "I64", "U8", "BOOL", "X"]);
    let dim = prop_oneof![0usize..40, Just(usize::MAX / 2), any::<usize>()];
    let shape = prop::collection::vec(dim, 0..4);
    let offsets = (0usize..4096, 0usize..4096);
    let entry = (name, dtype, shape, offsets);
    (
        prop::collection::vec(entry, 0..4),
        prop::option::of("[a-z]{0,6}"),
        0usize..4096,
        any::<bool>(),
    )
        .prop_map(|(entries, meta, data_len, lie_len)| {
            let mut header = serde_json::Map::new();
            for (n, d, s, (a, b)) in entries {
                header.insert(
                    n,
                    serde_json::json!({"dtype": d, "shape": s, "data_offsets": [a.min(b), a.max(b)]}),
                );
            }
            if let Some(m) = meta {
                header.insert(
                    "__metadata__".into(),
                    serde_json::json!({"format": "indu-checkpoint-1", "step": m}),
                );
            }
            let h = serde_json::Value::Object(header).to_string().into_bytes();
            let len = if lie_len { h.len() as u64 * 3 } else { h.len() as u64 };
            let mut out = len.to_le_bytes().to_vec();
            out.extend(h);
            out.extend(std::iter::repeat_n(0x3f, data_len));
            out
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn loaders_never_panic_on_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        load_all(&bytes);
    }

    #[test]
    fn loaders_never_panic_on_forged_headers(bytes in structured_file()) {
        load_all(&bytes);
    }

    #[test]
    fn loaders_never_panic_on_damaged_real_files(cut in 0usize..4000, flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6)) {
        let cfg = tiny_config();
        let varmap = indu::model::init_varmap(&cfg.model, 0, &Device::Cpu, DType::F32).unwrap();
        let mut bytes = indu::model::weights_bytes(&varmap, &cfg.model).unwrap();
        for (i, b) in flips {
            let i = i.index(bytes.len());
            bytes[i] = b;
        }
        bytes.truncate(bytes.len().saturating_sub(cut));
        load_all(&bytes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn encoders_and_line_parsers_never_panic(
        task in prop::sample::select(Task::ALL.to_vec()),
        text in prop_oneof![".{0,60}", "[a-z0-9+=<> .|]{0,60}"],
        tokens in prop::collection::vec(any::<u32>(), 0..40),
    ) {
        let cfg = RunConfig::preset(task, &[]).unwrap();
        let spec = cfg.task.spec(0).unwrap();
        let tok = spec.tokenizer();
        if let Ok(ids) = tok.encode(&text) {
            // What encodes decodes to tokens that encode the same way.
            prop_assert!(ids.iter().all(|&t| (t as usize) < tok.d_vocab()));
            prop_assert_eq!(tok.encode(&tok.decode(&ids)).unwrap(), ids);
        }
        let _ = tok.decode(&tokens);
        let _ = tok.labels(&tokens);
        let _ = spec.from_lines(text.lines());
        let decoded = tok.decode(&tokens);
        let _ = spec.from_lines([decoded.as_str()]);
    }
}
