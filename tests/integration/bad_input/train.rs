//! Bad `indu train` invocations: flags and numbers, `--bench`, `--jobs` and `--seeds`, data
//! files, output paths, and `--resume` of missing, corrupt, foreign or locked runs.
use super::{check_all, hold_lock, none, truncate, write, Case, CKPT, MODEL};

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
            name: "resume with another task",
            args: &["train", "--resume", "--task", "addition", "--steps", "9"],
            setup: none,
            expect: &["--task addition", "induction run"],
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
