//! Bad arguments to `ablate`, `attribute` and `circuits` (heads, ranks, modes, batches,
//! probes, non-finite or truncated weights), NaN weights and checkpoints elsewhere, and values
//! the user typed named back (task values, seeds beyond TOML, typos).
use super::{check_all, edit_config, none, poison, truncate, write, Case, CKPT, MODEL};

#[test]
fn bad_circuit_arguments_are_refused() {
    check_all(&[
        Case {
            name: "ablate unknown head",
            args: &["ablate", "--run", "RUN", "--heads", "5.0"],
            setup: none,
            expect: &["--heads", "5.0", "layers 0..=1"],
        },
        Case {
            name: "ablate head out of range",
            args: &["ablate", "--run", "RUN", "--heads", "1.3"],
            setup: none,
            expect: &["--heads", "1.3", "heads 0..=0"],
        },
        Case {
            name: "ablate malformed head",
            args: &["ablate", "--run", "RUN", "--heads", "one"],
            setup: none,
            expect: &["--heads", "\"one\"", "layer.head"],
        },
        Case {
            name: "ablate missing --heads",
            args: &["ablate", "--run", "RUN"],
            setup: none,
            expect: &["--heads"],
        },
        Case {
            name: "ablate rank 0",
            args: &[
                "ablate",
                "--run",
                "RUN",
                "--heads",
                "1.0",
                "--mode",
                "project-out",
                "--rank",
                "0",
            ],
            setup: none,
            expect: &["--rank 0", "1..=64"],
        },
        Case {
            name: "ablate rank above d_model",
            args: &[
                "ablate",
                "--run",
                "RUN",
                "--heads",
                "1.0",
                "--mode",
                "project-keep",
                "--rank",
                "65",
            ],
            setup: none,
            expect: &["--rank 65", "1..=64"],
        },
        Case {
            name: "ablate rank negative",
            args: &["ablate", "--run", "RUN", "--heads", "1.0", "--rank", "-2"],
            setup: none,
            expect: &["--rank", "-2"],
        },
        Case {
            name: "ablate rank without projection",
            args: &["ablate", "--run", "RUN", "--heads", "1.0", "--rank", "4"],
            setup: none,
            expect: &["--rank 4", "project-out", "--mode zero"],
        },
        Case {
            name: "ablate rank with shuffle",
            args: &[
                "ablate", "--run", "RUN", "--heads", "1.0", "--mode", "shuffle", "--rank", "4",
            ],
            setup: none,
            expect: &["--rank 4", "--mode shuffle"],
        },
        Case {
            name: "ablate projection in layer 0",
            args: &[
                "ablate",
                "--run",
                "RUN",
                "--heads",
                "0.0",
                "--mode",
                "project-out",
            ],
            setup: none,
            expect: &["head 0.0", "layer 0"],
        },
        Case {
            name: "ablate mean of one row",
            args: &[
                "ablate", "--run", "RUN", "--heads", "1.0", "--mode", "mean", "--batch", "1",
            ],
            setup: none,
            expect: &["--mode mean", "--batch 1", "--batch 2 or more"],
        },
        Case {
            name: "ablate resample of one task row",
            args: &[
                "ablate", "--run", "RUN", "--heads", "1.0", "--mode", "resample", "--on", "task",
                "--batch", "1",
            ],
            setup: none,
            expect: &["--mode resample", "--batch 2 or more"],
        },
        Case {
            name: "ablate batch 0",
            args: &["ablate", "--run", "RUN", "--heads", "1.0", "--batch", "0"],
            setup: none,
            expect: &["--batch 0"],
        },
        Case {
            name: "ablate unknown mode",
            args: &[
                "ablate", "--run", "RUN", "--heads", "1.0", "--mode", "erase",
            ],
            setup: none,
            expect: &["erase", "possible values", "project-out"],
        },
        Case {
            name: "ablate probe too long",
            args: &[
                "ablate",
                "--run",
                "RUN",
                "--heads",
                "1.0",
                "--probe-len",
                "100000",
            ],
            setup: none,
            expect: &["--probe-len 100000", "n_ctx is 32", "15 or less"],
        },
        Case {
            name: "ablate one copy",
            args: &["ablate", "--run", "RUN", "--heads", "1.0", "--repeats", "1"],
            setup: none,
            expect: &["--repeats 1", ">= 2"],
        },
        Case {
            name: "ablate missing run",
            args: &["ablate", "--run", "nowhere", "--heads", "1.0"],
            setup: none,
            expect: &["nowhere", "does not exist"],
        },
        Case {
            name: "ablate run is a file",
            args: &["ablate", "--run", "afile", "--heads", "1.0"],
            setup: none,
            expect: &["afile", "is a file"],
        },
        Case {
            name: "ablate NaN weights",
            args: &["ablate", "--run", "RUN", "--heads", "1.0"],
            setup: |d| poison(d, "blocks.1.attn.W_K", f32::NAN),
            expect: &["model.safetensors", "blocks.1.attn.W_K", "non-finite"],
        },
        Case {
            name: "ablate truncated weights",
            args: &["ablate", "--run", "RUN", "--heads", "1.0"],
            setup: |d| truncate(d, MODEL, 50_000),
            expect: &["model.safetensors", "not a valid safetensors"],
        },
        Case {
            name: "ablate plots is a file",
            args: &["ablate", "--run", "RUN", "--heads", "1.0", "--batch", "4"],
            setup: |d| write(d, "runs/r/plots", "x"),
            expect: &["plots"],
        },
        Case {
            name: "attribute probe too long",
            args: &["attribute", "--run", "RUN", "--probe-len", "100000"],
            setup: none,
            expect: &["--probe-len 100000", "n_ctx is 32", "15 or less"],
        },
        Case {
            name: "attribute probe-len 0",
            args: &["attribute", "--run", "RUN", "--probe-len", "0"],
            setup: none,
            expect: &["probe length 0"],
        },
        Case {
            name: "attribute one copy",
            args: &["attribute", "--run", "RUN", "--repeats", "1"],
            setup: none,
            expect: &["--repeats 1", ">= 2"],
        },
        Case {
            name: "attribute repeats too many",
            args: &["attribute", "--run", "RUN", "--repeats", "40"],
            setup: none,
            expect: &["--repeats 40", "n_ctx = 32"],
        },
        Case {
            name: "attribute batch 0",
            args: &["attribute", "--run", "RUN", "--batch", "0"],
            setup: none,
            expect: &["--batch 0"],
        },
        Case {
            name: "attribute batch negative",
            args: &["attribute", "--run", "RUN", "--batch", "-4"],
            setup: none,
            expect: &["--batch", "-4"],
        },
        Case {
            name: "attribute run is a file",
            args: &["attribute", "--run", "afile"],
            setup: none,
            expect: &["afile", "is a file"],
        },
        Case {
            name: "attribute no runs",
            args: &["attribute"],
            setup: |d| std::fs::remove_dir_all(d.join("runs")).unwrap(),
            expect: &["no run found"],
        },
        Case {
            name: "attribute inf weights",
            args: &["attribute", "--run", "RUN"],
            setup: |d| poison(d, "unembed.W_U", f32::INFINITY),
            expect: &["unembed.W_U", "non-finite", "inf"],
        },
        Case {
            name: "attribute config mismatch",
            args: &["attribute", "--run", "RUN"],
            setup: |d| edit_config(d, "d_head = 64", "d_head = 32"),
            expect: &["model.safetensors", "shape"],
        },
        Case {
            name: "attribute plots is a file",
            args: &["attribute", "--run", "RUN", "--batch", "2"],
            setup: |d| write(d, "runs/r/plots", "x"),
            expect: &["plots"],
        },
        Case {
            name: "circuits missing run",
            args: &["circuits", "--run", "nowhere"],
            setup: none,
            expect: &["nowhere", "does not exist"],
        },
        Case {
            name: "circuits run is a file",
            args: &["circuits", "--run", "afile"],
            setup: none,
            expect: &["afile", "is a file"],
        },
        Case {
            name: "circuits NaN weights",
            args: &["circuits", "--run", "RUN"],
            setup: |d| poison(d, "blocks.0.attn.W_Q", f32::NAN),
            expect: &["blocks.0.attn.W_Q", "non-finite"],
        },
        Case {
            name: "circuits empty model",
            args: &["circuits", "--run", "RUN"],
            setup: |d| truncate(d, MODEL, 0),
            expect: &["model.safetensors", "not a valid safetensors"],
        },
        Case {
            name: "circuits model missing",
            args: &["circuits", "--run", "RUN"],
            setup: |d| std::fs::remove_file(d.join(MODEL)).unwrap(),
            expect: &["model.safetensors is missing"],
        },
        Case {
            name: "circuits config layers mismatch",
            args: &["circuits", "--run", "RUN"],
            setup: |d| edit_config(d, "n_layers = 2", "n_layers = 3"),
            expect: &["model.safetensors", "blocks.2"],
        },
        Case {
            name: "circuits plots is a file",
            args: &["circuits", "--run", "RUN"],
            setup: |d| write(d, "runs/r/plots", "x"),
            expect: &["plots"],
        },
        Case {
            name: "circuits unknown flag",
            args: &["circuits", "--run", "RUN", "--heads", "1.0"],
            setup: none,
            expect: &["--heads"],
        },
        Case {
            name: "detect one copy",
            args: &["detect-heads", "--run", "RUN", "--repeats", "1"],
            setup: none,
            expect: &["--repeats 1", ">= 2"],
        },
        Case {
            name: "eval NaN weights",
            args: &["eval", "--run", "RUN", "--n", "8"],
            setup: |d| poison(d, "embed.W_E", f32::NAN),
            expect: &["embed.W_E", "non-finite"],
        },
        Case {
            name: "resume from a NaN checkpoint",
            args: &["train", "--resume", "--run", "RUN", "--steps", "8"],
            setup: |d| {
                let p = d.join(CKPT);
                let b = std::fs::read(&p).unwrap();
                let st = safetensors::SafeTensors::deserialize(&b).unwrap();
                let (_, meta) = safetensors::SafeTensors::read_metadata(&b).unwrap();
                let mut owned: Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)> = st
                    .tensors()
                    .into_iter()
                    .map(|(n, v)| (n, v.dtype(), v.shape().to_vec(), v.data().to_vec()))
                    .collect();
                let t = owned.iter_mut().find(|t| t.0 == "param.embed.W_E").unwrap();
                t.3[..4].copy_from_slice(&f32::NAN.to_le_bytes());
                let views: Vec<(String, safetensors::tensor::TensorView)> = owned
                    .iter()
                    .map(|(n, dt, s, b)| {
                        let v = safetensors::tensor::TensorView::new(*dt, s.clone(), b).unwrap();
                        (n.clone(), v)
                    })
                    .collect();
                let out = safetensors::serialize(views, meta.metadata().clone()).unwrap();
                std::fs::write(&p, out).unwrap();
            },
            expect: &["checkpoint.safetensors", "non-finite"],
        },
        Case {
            name: "train task value negative",
            args: &["train", "--task", "induction", "--set", "task.length=-3"],
            setup: none,
            expect: &["task.length", "-3", "whole number >= 0"],
        },
        Case {
            name: "train seed beyond TOML",
            args: &[
                "train",
                "--task",
                "induction",
                "--seed",
                "18446744073709551615",
            ],
            setup: none,
            expect: &["--seed 18446744073709551615", "at most 9223372036854775807"],
        },
        Case {
            name: "train --set seed beyond TOML",
            args: &[
                "train",
                "--task",
                "induction",
                "--set",
                "seed=9223372036854775808",
            ],
            setup: none,
            expect: &["seed = 9223372036854775808", "at most 9223372036854775807"],
        },
        Case {
            name: "data missing --task",
            args: &["data", "--n", "3"],
            setup: none,
            expect: &["required", "--task"],
        },
        Case {
            name: "data format lists values",
            args: &["data", "--task", "induction", "--format", "xml"],
            setup: none,
            expect: &["xml", "text", "jsonl"],
        },
        Case {
            name: "subcommand typo",
            args: &["trian", "--task", "induction"],
            setup: none,
            expect: &["trian", "similar subcommand", "'train'"],
        },
    ]);
}
