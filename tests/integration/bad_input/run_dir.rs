//! Broken run directories under every analysis command: corrupt, missing or mismatched weights
//! and configs, runs that are files or missing, bad metrics, outputs blocked by files or
//! directories, read-only runs.
use super::{
    check_all, edit_config, none, read_only_run, truncate, write, write_tensor, Case, MODEL,
};

#[test]
fn broken_run_directories_are_refused() {
    check_all(&[
        Case {
            name: "empty model",
            args: &["eval", "--run", "RUN"],
            setup: |d| truncate(d, MODEL, 0),
            expect: &["model.safetensors", "not a valid safetensors"],
        },
        Case {
            name: "truncated model",
            args: &["detect-heads", "--run", "RUN"],
            setup: |d| truncate(d, MODEL, 100_000),
            expect: &["model.safetensors", "not a valid safetensors"],
        },
        Case {
            name: "header only",
            args: &["plot-attn", "--run", "RUN"],
            setup: |d| truncate(d, MODEL, 1_000),
            expect: &["model.safetensors"],
        },
        Case {
            name: "random bytes",
            args: &["sample", "--run", "RUN"],
            setup: |d| write(d, MODEL, "\u{7f}ELF garbage garbage garbage"),
            expect: &["model.safetensors"],
        },
        Case {
            name: "huge header length",
            args: &["cache", "--run", "RUN", "--hooks", "*", "--text", "abc"],
            setup: |d| std::fs::write(d.join(MODEL), [0xffu8; 16]).unwrap(),
            expect: &["model.safetensors"],
        },
        Case {
            name: "model missing",
            args: &["detect-heads", "--run", "RUN"],
            setup: |d| std::fs::remove_file(d.join(MODEL)).unwrap(),
            expect: &["model.safetensors is missing"],
        },
        Case {
            name: "model is a dir",
            args: &["eval", "--run", "RUN"],
            setup: |d| {
                std::fs::remove_file(d.join(MODEL)).unwrap();
                std::fs::create_dir(d.join(MODEL)).unwrap()
            },
            expect: &["model.safetensors"],
        },
        Case {
            name: "wrong shape",
            args: &["eval", "--run", "RUN"],
            setup: |d| write_tensor(d, MODEL, "embed.W_E", safetensors::Dtype::F32, &[27, 10]),
            expect: &["embed.W_E", "[27, 10]", "[27, 64]"],
        },
        Case {
            name: "wrong dtype",
            args: &["eval", "--run", "RUN"],
            setup: |d| write_tensor(d, MODEL, "embed.W_E", safetensors::Dtype::I32, &[27, 64]),
            expect: &["embed.W_E", "F32"],
        },
        Case {
            name: "foreign tensor",
            args: &["plot-attn", "--run", "RUN"],
            setup: |d| {
                write_tensor(
                    d,
                    MODEL,
                    "transformer.wte",
                    safetensors::Dtype::F32,
                    &[2, 2],
                )
            },
            expect: &["transformer.wte", "unexpected"],
        },
        Case {
            name: "tensors missing",
            args: &["plot-attn", "--run", "RUN"],
            setup: |d| write_tensor(d, MODEL, "embed.W_E", safetensors::Dtype::F32, &[27, 64]),
            expect: &["missing tensor", "pos_embed.W_pos"],
        },
        Case {
            name: "config d_model mismatch",
            args: &["eval", "--run", "RUN"],
            setup: |d| edit_config(d, "d_model = 64", "d_model = 32"),
            expect: &["model.safetensors", "64]", "expected [", "32"],
        },
        Case {
            name: "config heads mismatch",
            args: &["detect-heads", "--run", "RUN"],
            setup: |d| edit_config(d, "n_heads = 1", "n_heads = 2"),
            expect: &["model.safetensors", "shape"],
        },
        Case {
            name: "config layers mismatch",
            args: &["sample", "--run", "RUN"],
            setup: |d| edit_config(d, "n_layers = 2", "n_layers = 3"),
            expect: &["model.safetensors", "blocks.2"],
        },
        Case {
            name: "config n_ctx mismatch",
            args: &["plot-attn", "--run", "RUN"],
            setup: |d| edit_config(d, "n_ctx = 32", "n_ctx = 40"),
            expect: &["pos_embed.W_pos"],
        },
        Case {
            name: "config n_ctx too small",
            args: &["cache", "--run", "RUN", "--hooks", "*", "--probe"],
            setup: |d| edit_config(d, "n_ctx = 32", "n_ctx = 16"),
            expect: &["config.toml", "model.n_ctx = 16"],
        },
        Case {
            name: "config malformed",
            args: &["eval", "--run", "RUN"],
            setup: |d| write(d, "runs/r/config.toml", "seed = [\n"),
            expect: &["config.toml", "invalid TOML"],
        },
        Case {
            name: "config unknown key",
            args: &["detect-heads", "--run", "RUN"],
            setup: |d| edit_config(d, "d_model = 64", "d_modle = 64"),
            expect: &["config.toml", "d_modle", "did you mean `d_model`"],
        },
        Case {
            name: "config missing",
            args: &["sample", "--run", "RUN"],
            setup: |d| std::fs::remove_file(d.join("runs/r/config.toml")).unwrap(),
            expect: &["config.toml is missing"],
        },
        Case {
            name: "run is a file",
            args: &["detect-heads", "--run", "afile"],
            setup: none,
            expect: &["afile", "is a file"],
        },
        Case {
            name: "run is a file (plot-attn)",
            args: &["plot-attn", "--run", "afile"],
            setup: none,
            expect: &["afile", "is a file"],
        },
        Case {
            name: "run is a file (plot-loss)",
            args: &["plot-loss", "--run", "afile"],
            setup: none,
            expect: &["afile", "is a file"],
        },
        Case {
            name: "run is a file (eval)",
            args: &["eval", "--run", "afile"],
            setup: none,
            expect: &["afile", "is a file"],
        },
        Case {
            name: "run is a file (sample)",
            args: &["sample", "--run", "afile"],
            setup: none,
            expect: &["afile", "is a file"],
        },
        Case {
            name: "run is a file (cache)",
            args: &["cache", "--run", "afile", "--hooks", "*", "--probe"],
            setup: none,
            expect: &["afile", "is a file"],
        },
        Case {
            name: "run missing",
            args: &["eval", "--run", "nowhere"],
            setup: none,
            expect: &["nowhere", "does not exist"],
        },
        Case {
            name: "no runs",
            args: &["plot-loss"],
            setup: |d| std::fs::remove_dir_all(d.join("runs")).unwrap(),
            expect: &["no run found"],
        },
        Case {
            name: "no runs (sample)",
            args: &["sample"],
            setup: |d| std::fs::remove_dir_all(d.join("runs")).unwrap(),
            expect: &["no run found"],
        },
        Case {
            name: "metrics missing",
            args: &["plot-loss", "--run", "RUN"],
            setup: |d| std::fs::remove_file(d.join("runs/r/metrics.jsonl")).unwrap(),
            expect: &["metrics.jsonl"],
        },
        Case {
            name: "metrics garbage",
            args: &["plot-loss", "--run", "RUN"],
            setup: |d| write(d, "runs/r/metrics.jsonl", "{\"step\": 1, \"lo"),
            expect: &["metrics.jsonl", "no loss values"],
        },
        Case {
            name: "plots is a file",
            args: &["detect-heads", "--run", "RUN"],
            setup: |d| write(d, "runs/r/plots", "x"),
            expect: &["plots", "is a file"],
        },
        Case {
            name: "plots is a file (plot-attn)",
            args: &["plot-attn", "--run", "RUN"],
            setup: |d| write(d, "runs/r/plots", "x"),
            expect: &["plots", "is a file"],
        },
        Case {
            name: "plots is a file (plot-loss)",
            args: &["plot-loss", "--run", "RUN"],
            setup: |d| write(d, "runs/r/plots", "x"),
            expect: &["plots", "is a file"],
        },
        Case {
            name: "heads.json is a dir",
            args: &["detect-heads", "--run", "RUN"],
            setup: |d| std::fs::create_dir(d.join("runs/r/heads.json")).unwrap(),
            expect: &["heads.json"],
        },
        Case {
            name: "eval.json is a dir",
            args: &["eval", "--run", "RUN", "--n", "10"],
            setup: |d| std::fs::create_dir(d.join("runs/r/eval.json")).unwrap(),
            expect: &["eval.json"],
        },
        Case {
            name: "samples.txt is a dir",
            args: &["sample", "--run", "RUN", "-n", "2"],
            setup: |d| std::fs::create_dir(d.join("runs/r/samples.txt")).unwrap(),
            expect: &["samples.txt"],
        },
        Case {
            name: "unreadable run dir",
            args: &["detect-heads", "--run", "RUN"],
            setup: read_only_run,
            expect: &["runs/r"],
        },
    ]);
}
