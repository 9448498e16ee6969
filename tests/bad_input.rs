//! Bad input through the real binary, table-driven: every subcommand against malformed and
//! out-of-range configs, corrupt or mismatched run directories, unwritable outputs, text
//! outside the vocabulary and absurd numbers. Each case must exit 2 with exactly one line on
//! stderr that names the culprit, never panic, and leave the working directory (every file,
//! byte for byte) as it found it.
use assert_cmd::Command;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One bad input: arguments (`RUN` is replaced by the run directory), a setup that breaks the
/// working directory, and substrings the error line must contain.
struct Case {
    name: &'static str,
    args: &'static [&'static str],
    setup: fn(&Path),
    expect: &'static [&'static str],
}

fn none(_: &Path) {}

/// A small trained run in `dir/base` (built once per test function, copied per case).
fn base_run(dir: &Path) -> PathBuf {
    let out = Command::cargo_bin("indu")
        .unwrap()
        .current_dir(dir)
        .args(["train", "--task", "induction", "--steps", "5", "--quiet"])
        .args(["--set", "train.eval_size=32", "--out", "base"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir.join("base")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

/// Every file and directory under `dir` with its contents (directories as `None`).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Option<Vec<u8>>>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_path_buf();
            if p.is_dir() && !p.is_symlink() {
                out.insert(rel, None);
                walk(root, &p, out);
            } else {
                out.insert(rel, Some(std::fs::read(&p).unwrap_or_default()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Run every case in a fresh copy of the base run (`runs/r`, also `runs/latest`).
fn check_all(cases: &[Case]) {
    let base_dir = tempfile::tempdir().unwrap();
    let base = base_run(base_dir.path());
    let mut failures = Vec::new();
    for c in cases {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        copy_dir(&base, &d.join("runs/r"));
        #[cfg(unix)]
        std::os::unix::fs::symlink("r", d.join("runs/latest")).unwrap();
        std::fs::write(d.join("afile"), "not a directory").unwrap();
        (c.setup)(d);
        let before = snapshot(d);
        let args: Vec<&str> = c
            .args
            .iter()
            .map(|a| if *a == "RUN" { "runs/r" } else { a })
            .collect();
        let out = Command::cargo_bin("indu")
            .unwrap()
            .current_dir(d)
            .env("RUST_BACKTRACE", "1")
            .args(&args)
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        let mut why = Vec::new();
        if out.status.code() != Some(2) {
            why.push(format!("exit {:?}", out.status.code()));
        }
        if err.trim_end().lines().count() != 1 || !err.starts_with("error: ") {
            why.push("not exactly one `error:` line".into());
        }
        if err.contains("panicked") || err.contains("backtrace") {
            why.push("panic".into());
        }
        for e in c.expect {
            if !err.contains(e) {
                why.push(format!("lacks {e:?}"));
            }
        }
        let after = snapshot(d);
        if after != before {
            let changed: Vec<_> = before
                .keys()
                .chain(after.keys())
                .filter(|k| before.get(*k) != after.get(*k))
                .collect();
            why.push(format!("changed files {changed:?}"));
        }
        if !why.is_empty() {
            failures.push(format!(
                "{} {args:?}: {} -- stderr: {err}",
                c.name,
                why.join(", ")
            ));
        }
    }
    eprintln!("{} bad inputs tried", cases.len());
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn write(d: &Path, rel: &str, text: &str) {
    std::fs::write(d.join(rel), text).unwrap();
}

fn edit_config(d: &Path, from: &str, to: &str) {
    let p = d.join("runs/r/config.toml");
    let t = std::fs::read_to_string(&p).unwrap();
    assert!(t.contains(from), "{from}");
    std::fs::write(&p, t.replace(from, to)).unwrap();
}

/// A safetensors file with one f32 tensor of `shape` (zeros) at `rel`.
fn write_tensor(d: &Path, rel: &str, name: &str, dtype: safetensors::Dtype, shape: &[usize]) {
    let n: usize = shape.iter().product();
    let bytes = vec![0u8; n * dtype.bitsize() / 8];
    let view = safetensors::tensor::TensorView::new(dtype, shape.to_vec(), &bytes).unwrap();
    let data = safetensors::serialize(vec![(name, view)], None).unwrap();
    std::fs::write(d.join(rel), data).unwrap();
}

fn truncate(d: &Path, rel: &str, keep: usize) {
    let p = d.join(rel);
    let b = std::fs::read(&p).unwrap();
    std::fs::write(&p, &b[..keep.min(b.len())]).unwrap();
}

/// Rewrite the run's model with `value` as the first element of tensor `name` (everything
/// else byte for byte as trained).
fn poison(d: &Path, name: &str, value: f32) {
    let p = d.join(MODEL);
    let bytes = std::fs::read(&p).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut owned: Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)> = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, v.dtype(), v.shape().to_vec(), v.data().to_vec()))
        .collect();
    let t = owned
        .iter_mut()
        .find(|t| t.0 == name)
        .expect("tensor in model");
    t.3[..4].copy_from_slice(&value.to_le_bytes());
    let views: Vec<(String, safetensors::tensor::TensorView)> = owned
        .iter()
        .map(|(n, dt, s, b)| {
            let v = safetensors::tensor::TensorView::new(*dt, s.clone(), b).unwrap();
            (n.clone(), v)
        })
        .collect();
    std::fs::write(&p, safetensors::serialize(views, None).unwrap()).unwrap();
}

const MODEL: &str = "runs/r/model.safetensors";
const CKPT: &str = "runs/r/checkpoint.safetensors";

#[test]
fn bad_configs_are_refused() {
    check_all(&[
        Case {
            name: "malformed toml",
            args: &["train", "--config", "bad.toml"],
            setup: |d| write(d, "bad.toml", "[task\nname="),
            expect: &["bad.toml", "invalid TOML"],
        },
        Case {
            name: "unknown key in file",
            args: &["train", "--config", "c.toml"],
            setup: |d| {
                write(
                    d,
                    "c.toml",
                    "[task]\nname = \"induction\"\n[train]\nlrr = 1e-3\n",
                )
            },
            expect: &["c.toml", "lrr", "did you mean `lr`"],
        },
        Case {
            name: "unknown key --set",
            args: &["train", "--task", "induction", "--set", "model.n_head=2"],
            setup: none,
            expect: &["n_head", "did you mean `n_heads`"],
        },
        Case {
            name: "unknown section",
            args: &["train", "--task", "induction", "--set", "trian.lr=1"],
            setup: none,
            expect: &["trian", "did you mean `train`"],
        },
        Case {
            name: "string for int",
            args: &[
                "train",
                "--task",
                "induction",
                "--set",
                "model.n_heads=\"two\"",
            ],
            setup: none,
            expect: &["model.n_heads", "\"two\"", "whole number >= 0"],
        },
        Case {
            name: "float for int",
            args: &["train", "--task", "induction", "--set", "train.steps=1.5"],
            setup: none,
            expect: &["train.steps", "1.5", "whole number >= 0"],
        },
        Case {
            name: "negative seed",
            args: &["train", "--task", "induction", "--set", "seed=-1"],
            setup: none,
            expect: &["seed", "-1", "whole number >= 0"],
        },
        Case {
            name: "table for value",
            args: &["train", "--task", "induction", "--set", "model=3"],
            setup: none,
            expect: &["model"],
        },
        Case {
            name: "set without =",
            args: &["train", "--task", "induction", "--set", "train.lr"],
            setup: none,
            expect: &["train.lr", "KEY=VALUE"],
        },
        Case {
            name: "set empty key",
            args: &["train", "--task", "induction", "--set", "=3"],
            setup: none,
            expect: &["=3", "empty key"],
        },
        Case {
            name: "unknown variant",
            args: &[
                "train",
                "--task",
                "induction",
                "--set",
                "model.normalization=ln",
            ],
            setup: none,
            expect: &["ln", "did you mean `LN`"],
        },
        Case {
            name: "betas length",
            args: &["train", "--task", "induction", "--set", "train.betas=[0.9]"],
            setup: none,
            expect: &["train.betas", "length 2"],
        },
        Case {
            name: "n_heads 0",
            args: &["train", "--task", "induction", "--set", "model.n_heads=0"],
            setup: none,
            expect: &["model.n_heads = 0", "1..="],
        },
        Case {
            name: "n_layers 0",
            args: &["train", "--task", "induction", "--set", "model.n_layers=0"],
            setup: none,
            expect: &["model.n_layers = 0"],
        },
        Case {
            name: "d_model 0",
            args: &["train", "--task", "induction", "--set", "model.d_model=0"],
            setup: none,
            expect: &["model.d_model = 0"],
        },
        Case {
            name: "d_head 0",
            args: &["train", "--task", "induction", "--set", "model.d_head=0"],
            setup: none,
            expect: &["model.d_head = 0"],
        },
        Case {
            name: "mlp without width",
            args: &[
                "train",
                "--task",
                "induction",
                "--set",
                "model.attn_only=false",
                "--set",
                "model.d_mlp=0",
            ],
            setup: none,
            expect: &["model.d_mlp = 0"],
        },
        Case {
            name: "n_ctx too small",
            args: &["train", "--task", "induction", "--set", "model.n_ctx=8"],
            setup: none,
            expect: &["model.n_ctx = 8", "32"],
        },
        Case {
            name: "d_vocab too small",
            args: &["train", "--task", "induction", "--set", "model.d_vocab=5"],
            setup: none,
            expect: &["model.d_vocab = 5", "27"],
        },
        Case {
            name: "d_vocab_out too small",
            args: &[
                "train",
                "--task",
                "addition",
                "--set",
                "model.d_vocab_out=3",
            ],
            setup: none,
            expect: &["model.d_vocab_out = 3"],
        },
        Case {
            name: "lr negative",
            args: &["train", "--task", "induction", "--set", "train.lr=-1"],
            setup: none,
            expect: &["train.lr = -1", "(0, 10]"],
        },
        Case {
            name: "lr nan",
            args: &["train", "--task", "induction", "--set", "train.lr=nan"],
            setup: none,
            expect: &["train.lr = NaN"],
        },
        Case {
            name: "lr inf",
            args: &["train", "--task", "induction", "--set", "train.lr=inf"],
            setup: none,
            expect: &["train.lr = inf"],
        },
        Case {
            name: "batch 0",
            args: &[
                "train",
                "--task",
                "induction",
                "--set",
                "train.batch_size=0",
            ],
            setup: none,
            expect: &["train.batch_size = 0"],
        },
        Case {
            name: "beta 1",
            args: &[
                "train",
                "--task",
                "induction",
                "--set",
                "train.betas=[1.0, 0.99]",
            ],
            setup: none,
            expect: &["train.betas", "below 1"],
        },
        Case {
            name: "eps 0",
            args: &["train", "--task", "induction", "--set", "train.eps=0"],
            setup: none,
            expect: &["train.eps = 0"],
        },
        Case {
            name: "num_data 0",
            args: &["train", "--task", "induction", "--set", "train.num_data=0"],
            setup: none,
            expect: &["train.num_data = 0"],
        },
        Case {
            name: "init_range negative",
            args: &[
                "train",
                "--task",
                "induction",
                "--set",
                "model.init_range=-1",
            ],
            setup: none,
            expect: &["model.init_range = -1"],
        },
        Case {
            name: "task out of range",
            args: &[
                "train",
                "--task",
                "permutations",
                "--set",
                "task.n_symbols=9",
            ],
            setup: none,
            expect: &["n_symbols", "9"],
        },
        Case {
            name: "task length huge",
            args: &[
                "train",
                "--task",
                "induction",
                "--set",
                "task.length=1000000000",
            ],
            setup: none,
            expect: &["task.length"],
        },
        Case {
            name: "huge model",
            args: &[
                "train",
                "--task",
                "induction",
                "--set",
                "model.d_model=65536",
                "--set",
                "model.d_head=65536",
            ],
            setup: none,
            expect: &["parameters", "limit"],
        },
        Case {
            name: "huge n_ctx",
            args: &[
                "train",
                "--task",
                "induction",
                "--set",
                "model.n_ctx=100000000",
            ],
            setup: none,
            expect: &["n_ctx = 100000000", "limit"],
        },
        Case {
            name: "huge d_vocab",
            args: &[
                "train",
                "--task",
                "induction",
                "--set",
                "model.d_vocab=100000000",
            ],
            setup: none,
            expect: &["d_vocab = 100000000", "limit"],
        },
        Case {
            name: "huge batch",
            args: &[
                "train",
                "--task",
                "induction",
                "--set",
                "train.batch_size=1000000",
            ],
            setup: none,
            expect: &["train.batch_size = 1000000", "expected train.batch_size <="],
        },
        Case {
            name: "huge eval_size",
            args: &[
                "train",
                "--task",
                "induction",
                "--set",
                "train.eval_size=16000000",
            ],
            setup: none,
            expect: &["train.eval_size = 16000000", "at most"],
        },
        Case {
            name: "huge num_data",
            args: &[
                "train",
                "--task",
                "induction",
                "--set",
                "train.num_data=1000000000000",
            ],
            setup: none,
            expect: &["train.num_data = 1000000000000", "at most"],
        },
        Case {
            name: "unknown task",
            args: &["train", "--task", "inductoin"],
            setup: none,
            expect: &["inductoin", "skip_trigrams"],
        },
        Case {
            name: "task in file unknown",
            args: &["train", "--config", "c.toml"],
            setup: |d| write(d, "c.toml", "[task]\nname = \"inductoin\"\n"),
            expect: &["c.toml", "inductoin"],
        },
        Case {
            name: "config missing",
            args: &["train", "--config", "nope.toml"],
            setup: none,
            expect: &["nope.toml"],
        },
        Case {
            name: "config empty",
            args: &["train", "--config", "c.toml"],
            setup: |d| write(d, "c.toml", ""),
            expect: &["c.toml", "missing field `task`"],
        },
        Case {
            name: "config is a dir",
            args: &["train", "--config", "runs"],
            setup: none,
            expect: &["runs"],
        },
        Case {
            name: "config not utf8",
            args: &["train", "--config", "c.toml"],
            setup: |d| std::fs::write(d.join("c.toml"), [0xff, 0xfe, 0x00]).unwrap(),
            expect: &["c.toml"],
        },
        Case {
            name: "neither task nor config",
            args: &["train"],
            setup: none,
            expect: &["--task"],
        },
    ]);
}

#[test]
fn bad_train_invocations_are_refused() {
    check_all(&[
        Case {
            name: "steps negative",
            args: &["train", "--task", "induction", "--steps", "-5"],
            setup: none,
            expect: &["-5", "--steps"],
        },
        Case {
            name: "steps overflow",
            args: &[
                "train",
                "--task",
                "induction",
                "--steps",
                "99999999999999999999999",
            ],
            setup: none,
            expect: &["--steps", "too large"],
        },
        Case {
            name: "seed negative",
            args: &["train", "--task", "induction", "--seed", "-1"],
            setup: none,
            expect: &["--seed", "-1"],
        },
        Case {
            name: "seed not a number",
            args: &["train", "--task", "induction", "--seed", "abc"],
            setup: none,
            expect: &["--seed", "abc"],
        },
        Case {
            name: "device",
            args: &["train", "--task", "induction", "--device", "tpu"],
            setup: none,
            expect: &["tpu"],
        },
        Case {
            name: "unknown flag",
            args: &["train", "--task", "induction", "--stpes", "3"],
            setup: none,
            expect: &["--stpes"],
        },
        Case {
            name: "bench 0",
            args: &["train", "--task", "induction", "--bench", "0"],
            setup: none,
            expect: &["--bench 0"],
        },
        Case {
            name: "bench huge",
            args: &["train", "--task", "induction", "--bench", "10000000000"],
            setup: none,
            expect: &["--bench 10000000000", "at most"],
        },
        Case {
            name: "jobs 0",
            args: &[
                "train",
                "--task",
                "induction",
                "--seeds",
                "0..2",
                "--jobs",
                "0",
                "--out",
                "sweep",
            ],
            setup: none,
            expect: &["--jobs 0"],
        },
        Case {
            name: "seeds reversed",
            args: &["train", "--task", "induction", "--seeds", "5..2"],
            setup: none,
            expect: &["5..2"],
        },
        Case {
            name: "seeds garbage",
            args: &["train", "--task", "induction", "--seeds", "a,b"],
            setup: none,
            expect: &["a,b"],
        },
        Case {
            name: "data file missing",
            args: &[
                "train",
                "--task",
                "induction",
                "--out",
                "runs/n",
                "--data",
                "nope.txt",
            ],
            setup: none,
            expect: &["nope.txt"],
        },
        Case {
            name: "data file garbage",
            args: &[
                "train",
                "--task",
                "induction",
                "--out",
                "runs/n",
                "--data",
                "g.txt",
                "--steps",
                "2",
            ],
            setup: |d| write(d, "g.txt", "garbage\n"),
            expect: &["g.txt", "line 1"],
        },
        Case {
            name: "data file too short",
            args: &[
                "train",
                "--task",
                "induction",
                "--out",
                "runs/n",
                "--data",
                "g.txt",
                "--steps",
                "2",
            ],
            setup: |d| write(d, "g.txt", "abcdefghijklmnopqrstuvwxyzabcde\n"),
            expect: &["g.txt", "1 rows"],
        },
        Case {
            name: "out is a file",
            args: &["train", "--task", "induction", "--out", "afile"],
            setup: none,
            expect: &["afile", "is a file"],
        },
        Case {
            name: "out under a file",
            args: &[
                "train",
                "--task",
                "induction",
                "--out",
                "afile/run",
                "--steps",
                "1",
            ],
            setup: none,
            expect: &["afile/run"],
        },
        Case {
            name: "out exists",
            args: &["train", "--task", "induction", "--out", "runs/r"],
            setup: none,
            expect: &["runs/r", "--force"],
        },
        Case {
            name: "resume no checkpoint",
            args: &["train", "--resume", "--run", "RUN"],
            setup: |d| std::fs::remove_file(d.join(CKPT)).unwrap(),
            expect: &["checkpoint.safetensors", "missing"],
        },
        Case {
            name: "resume truncated checkpoint",
            args: &["train", "--resume", "--run", "RUN", "--steps", "10"],
            setup: |d| truncate(d, CKPT, 5000),
            expect: &["checkpoint.safetensors"],
        },
        Case {
            name: "resume empty checkpoint",
            args: &["train", "--resume", "--run", "RUN", "--steps", "10"],
            setup: |d| truncate(d, CKPT, 0),
            expect: &["checkpoint.safetensors"],
        },
        Case {
            name: "resume foreign checkpoint",
            args: &["train", "--resume", "--run", "RUN", "--steps", "10"],
            setup: |d| {
                std::fs::copy(d.join(MODEL), d.join(CKPT))
                    .map(|_| ())
                    .unwrap()
            },
            expect: &["checkpoint.safetensors", "not an indu checkpoint"],
        },
        Case {
            name: "resume with other shape",
            args: &[
                "train",
                "--resume",
                "--run",
                "RUN",
                "--steps",
                "10",
                "--set",
                "model.d_model=32",
            ],
            setup: none,
            expect: &["checkpoint.safetensors", "shape"],
        },
        Case {
            name: "resume past steps",
            args: &["train", "--resume", "--run", "RUN", "--steps", "3"],
            setup: none,
            expect: &["step 5", "train.steps = 3"],
        },
        Case {
            name: "resume with task",
            args: &["train", "--resume", "--task", "induction"],
            setup: none,
            expect: &["--resume", "--task"],
        },
        Case {
            name: "resume not a run",
            args: &["train", "--resume", "--run", "afile"],
            setup: none,
            expect: &["afile"],
        },
        Case {
            name: "resume bad config",
            args: &["train", "--resume", "--run", "RUN", "--steps", "10"],
            setup: |d| write(d, "runs/r/config.toml", "[task\n"),
            expect: &["config.toml", "invalid TOML"],
        },
        Case {
            name: "resume bad override",
            args: &["train", "--resume", "--run", "RUN", "--set", "train.lr=-1"],
            setup: none,
            expect: &["train.lr = -1"],
        },
        Case {
            name: "resume locked",
            args: &["train", "--resume", "--run", "RUN", "--steps", "10"],
            setup: hold_lock,
            expect: &["in use", "runs/r"],
        },
    ]);
}

/// Hold the run's lock as another live process would: an `flock` from this test process,
/// kept for the rest of the test (the descriptor is deliberately leaked).
fn hold_lock(d: &Path) {
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::io::AsRawFd;
        let mut f = std::fs::File::create(d.join("runs/r/.lock")).unwrap();
        write!(f, "{}", std::process::id()).unwrap();
        // SAFETY: flock on a descriptor we own.
        assert_eq!(
            unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) },
            0
        );
        std::mem::forget(f);
    }
}

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

/// Make the run directory read-only. Root ignores permissions: then make the case fail the
/// same way through a path under a file instead, so the case still checks something.
fn read_only_run(d: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let r = d.join("runs/r");
        std::fs::set_permissions(&r, std::fs::Permissions::from_mode(0o555)).unwrap();
        let probe = r.join(".probe");
        if std::fs::write(&probe, "x").is_err() {
            return; // really read-only
        }
        let _ = std::fs::remove_file(&probe);
        std::fs::set_permissions(&r, std::fs::Permissions::from_mode(0o755)).unwrap();
        eprintln!("running as root: the read-only case uses `plots` as a file instead");
    }
    write(d, "runs/r/plots", "x");
}

#[test]
fn bad_analysis_arguments_are_refused() {
    check_all(&[
        Case {
            name: "text outside vocab",
            args: &["plot-attn", "--run", "RUN", "--text", "abC!"],
            setup: none,
            expect: &["'C'", "column 2", "vocabulary"],
        },
        Case {
            name: "text unicode",
            args: &["plot-attn", "--run", "RUN", "--text", "ab\u{e9}"],
            setup: none,
            expect: &["'\u{e9}'", "vocabulary"],
        },
        Case {
            name: "text too long",
            args: &[
                "plot-attn",
                "--run",
                "RUN",
                "--text",
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            ],
            setup: none,
            expect: &["49 tokens", "n_ctx = 32"],
        },
        Case {
            name: "cache text outside vocab",
            args: &["cache", "--run", "RUN", "--hooks", "*", "--text", "a b"],
            setup: none,
            expect: &["' '", "vocabulary"],
        },
        Case {
            name: "text with --probe",
            args: &["plot-attn", "--run", "RUN", "--text", "abc", "--probe"],
            setup: none,
            expect: &["--probe"],
        },
        Case {
            name: "sample with --probe",
            args: &["plot-attn", "--run", "RUN", "--sample", "--probe"],
            setup: none,
            expect: &["--sample", "--probe"],
        },
        Case {
            name: "layer out of range",
            args: &["plot-attn", "--run", "RUN", "--layer", "9"],
            setup: none,
            expect: &["--layer 9", "0..=1"],
        },
        Case {
            name: "head out of range",
            args: &["plot-attn", "--run", "RUN", "--head", "4"],
            setup: none,
            expect: &["--head 4", "0..=0"],
        },
        Case {
            name: "layer negative",
            args: &["plot-attn", "--run", "RUN", "--layer", "-1"],
            setup: none,
            expect: &["--layer", "-1"],
        },
        Case {
            name: "plot-attn out under a file",
            args: &["plot-attn", "--run", "RUN", "--out", "afile/x.png"],
            setup: none,
            expect: &["afile/x.png"],
        },
        Case {
            name: "detect batch 0",
            args: &["detect-heads", "--run", "RUN", "--batch", "0"],
            setup: none,
            expect: &["--batch 0"],
        },
        Case {
            name: "detect batch huge",
            args: &["detect-heads", "--run", "RUN", "--batch", "100000000000"],
            setup: none,
            expect: &["--batch 100000000000", "at most"],
        },
        Case {
            name: "detect batch overflow",
            args: &[
                "detect-heads",
                "--run",
                "RUN",
                "--batch",
                "18446744073709551616",
            ],
            setup: none,
            expect: &["--batch", "too large"],
        },
        Case {
            name: "detect repeats huge",
            args: &["detect-heads", "--run", "RUN", "--repeats", "1000"],
            setup: none,
            expect: &["--repeats 1000", "n_ctx = 32"],
        },
        Case {
            name: "detect probe-len longer than n_ctx",
            args: &["detect-heads", "--run", "RUN", "--probe-len", "16"],
            setup: none,
            expect: &[
                "--probe-len 16 with --repeats 2 needs 1 + 16*2 = 33 positions",
                "n_ctx is 32",
                "--probe-len 15 or less",
            ],
        },
        Case {
            name: "detect probe-len 0",
            args: &["detect-heads", "--run", "RUN", "--probe-len", "0"],
            setup: none,
            expect: &["probe length 0"],
        },
        Case {
            name: "detect probe-len negative",
            args: &["detect-heads", "--run", "RUN", "--probe-len", "-3"],
            setup: none,
            expect: &["--probe-len", "-3"],
        },
        Case {
            name: "detect threshold nan",
            args: &["detect-heads", "--run", "RUN", "--threshold-token", "nan"],
            setup: none,
            expect: &["--threshold-token NaN", "between 0 and 1"],
        },
        Case {
            name: "detect threshold negative",
            args: &[
                "detect-heads",
                "--run",
                "RUN",
                "--threshold-induction",
                "-5",
            ],
            setup: none,
            expect: &["--threshold-induction -5"],
        },
        Case {
            name: "detect threshold > 1",
            args: &[
                "detect-heads",
                "--run",
                "RUN",
                "--threshold-induction",
                "1.5",
            ],
            setup: none,
            expect: &["--threshold-induction 1.5"],
        },
        Case {
            name: "detect on xyz",
            args: &["detect-heads", "--run", "RUN", "--on", "xyz"],
            setup: none,
            expect: &["xyz"],
        },
        Case {
            name: "eval n 0",
            args: &["eval", "--run", "RUN", "--n", "0"],
            setup: none,
            expect: &["--n 0"],
        },
        Case {
            name: "eval n huge",
            args: &["eval", "--run", "RUN", "--n", "1000000000000"],
            setup: none,
            expect: &["--n 1000000000000", "at most"],
        },
        Case {
            name: "eval n negative",
            args: &["eval", "--run", "RUN", "--n", "-1"],
            setup: none,
            expect: &["--n", "-1"],
        },
        Case {
            name: "eval seed overflow",
            args: &["eval", "--run", "RUN", "--seed", "18446744073709551616"],
            setup: none,
            expect: &["--seed", "too large"],
        },
        Case {
            name: "sample n 0",
            args: &["sample", "--run", "RUN", "-n", "0"],
            setup: none,
            expect: &["-n 0"],
        },
        Case {
            name: "sample n huge",
            args: &["sample", "--run", "RUN", "-n", "100000000000"],
            setup: none,
            expect: &["-n 100000000000", "at most"],
        },
        Case {
            name: "sample temperature negative",
            args: &["sample", "--run", "RUN", "--temperature", "-1"],
            setup: none,
            expect: &["--temperature -1"],
        },
        Case {
            name: "sample temperature nan",
            args: &["sample", "--run", "RUN", "--temperature", "nan"],
            setup: none,
            expect: &["--temperature NaN"],
        },
        Case {
            name: "sample temperature text",
            args: &["sample", "--run", "RUN", "--temperature", "hot"],
            setup: none,
            expect: &["--temperature", "hot"],
        },
        Case {
            name: "sample top-k 0",
            args: &["sample", "--run", "RUN", "--top-k", "0"],
            setup: none,
            expect: &["--top-k 0"],
        },
        Case {
            name: "cache no hooks",
            args: &["cache", "--run", "RUN", "--hooks", " , ", "--probe"],
            setup: none,
            expect: &["--hooks"],
        },
        Case {
            name: "cache unknown hook",
            args: &[
                "cache",
                "--run",
                "RUN",
                "--hooks",
                "blocks.9.attn.hook_z",
                "--probe",
            ],
            setup: none,
            expect: &["blocks.9.attn.hook_z", "matches no hook"],
        },
        Case {
            name: "cache sample with text",
            args: &[
                "cache", "--run", "RUN", "--hooks", "*", "--sample", "--text", "ab",
            ],
            setup: none,
            expect: &["--sample", "--text"],
        },
        Case {
            name: "cache out under a file",
            args: &[
                "cache",
                "--run",
                "RUN",
                "--hooks",
                "*",
                "--probe",
                "--out",
                "afile/c.safetensors",
            ],
            setup: none,
            expect: &["afile/c.safetensors"],
        },
        Case {
            name: "plot-loss out under a file",
            args: &["plot-loss", "--run", "RUN", "--out", "afile/loss.png"],
            setup: none,
            expect: &["afile/loss.png"],
        },
        Case {
            name: "data unknown task",
            args: &["data", "--task", "inductoin"],
            setup: none,
            expect: &["inductoin", "induction"],
        },
        Case {
            name: "data n 0",
            args: &["data", "--task", "induction", "--n", "0"],
            setup: none,
            expect: &["--n 0"],
        },
        Case {
            name: "data n huge",
            args: &["data", "--task", "induction", "--n", "100000000000000"],
            setup: none,
            expect: &["--n 100000000000000", "at most"],
        },
        Case {
            name: "data bad set",
            args: &[
                "data",
                "--task",
                "permutations",
                "--set",
                "task.n_symbols=9",
            ],
            setup: none,
            expect: &["n_symbols", "9"],
        },
        Case {
            name: "data unknown set key",
            args: &["data", "--task", "addition", "--set", "task.n_digit=3"],
            setup: none,
            expect: &["n_digit", "did you mean `n_digits`"],
        },
        Case {
            name: "data format",
            args: &["data", "--task", "induction", "--format", "xml"],
            setup: none,
            expect: &["xml"],
        },
        Case {
            name: "data out under a file",
            args: &[
                "data",
                "--task",
                "induction",
                "--n",
                "3",
                "--out",
                "afile/d.txt",
            ],
            setup: none,
            expect: &["afile"],
        },
        Case {
            name: "data out dir under a file",
            args: &[
                "data",
                "--task",
                "induction",
                "--n",
                "3",
                "--out",
                "new/afile/d.txt",
            ],
            setup: |d| {
                std::fs::create_dir(d.join("new")).unwrap();
                write(d, "new/afile", "x")
            },
            expect: &["new/afile"],
        },
        Case {
            name: "no subcommand arg",
            args: &["bogus"],
            setup: none,
            expect: &["bogus"],
        },
    ]);
}

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
