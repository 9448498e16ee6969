//! `indu eval` and `indu sample` on a few-step run of every preset: the metric keys of
//! docs/tasks.md exist and are finite (eval.json and the per-step `eval_*` fields of
//! metrics.jsonl), induction sample validity, and greedy completion of a user `--prompt`.
use crate::util::{fails, run_ok, tiny_run};
use serde_json::Value;
use std::path::Path;

/// Train `task` for 4 steps (eval at 2 and 4 on `eval_size` rows) into `runs/<task>`.
fn train(dir: &Path, task: &str, eval_size: usize) -> String {
    let out = format!("runs/{task}");
    let es = format!("train.eval_size={eval_size}");
    let sets = [
        "--set",
        "train.eval_every=2",
        "--set",
        &es,
        "--set",
        "train.batch_size=4",
    ];
    tiny_run(dir, task, 4, &out, &sets);
    out
}

/// The docs/tasks.md metrics of each task (without the `eval_` prefix).
fn keys(task: &str) -> Vec<String> {
    let mut k: Vec<String> = vec!["loss".into(), "acc".into()];
    match task {
        "induction" => k.extend(["det_loss", "det_acc", "nondet_acc"].map(String::from)),
        "permutations" => k.push("seq_acc".into()),
        "addition" => {
            k.push("exact_acc".into());
            k.extend((0..6).map(|i| format!("digit_loss_{i}")));
        }
        "skip_trigrams" => k.extend((0..10).map(|m| format!("loss_m{m}"))),
        "repeated" => k.extend(["loss_copy1", "loss_copy2"].map(String::from)),
        other => panic!("unknown task {other}"),
    }
    k
}

fn finite(v: &Value, key: &str, what: &str) -> f64 {
    let x = v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{what}: no number {key} in {v}"));
    assert!(x.is_finite(), "{what}: {key} = {x}");
    x
}

#[test]
fn eval_and_per_step_metrics_on_every_preset() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for task in [
        "induction",
        "permutations",
        "addition",
        "skip_trigrams",
        "repeated",
    ] {
        // Every skip-trigram class m must occur in the eval set: 400 rows of 10 classes.
        let run = train(d, task, if task == "skip_trigrams" { 400 } else { 24 });
        // Per-step eval fields at the eval cadence (steps 2 and 4).
        let text = std::fs::read_to_string(d.join(&run).join("metrics.jsonl")).unwrap();
        let evals: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str::<Value>(l).unwrap())
            .filter(|v| v.get("eval_loss").is_some())
            .collect();
        assert!(evals.len() >= 2, "{task}: {text}");
        for v in &evals {
            for k in keys(task) {
                finite(v, &format!("eval_{k}"), &format!("{task} metrics.jsonl"));
            }
        }
        // indu eval: eval.json and the stdout summary name every metric.
        let stdout = run_ok(d, &["eval", "--run", &run, "--n", "400", "--samples", "5"]);
        let e: Value =
            serde_json::from_str(&std::fs::read_to_string(d.join(&run).join("eval.json")).unwrap())
                .unwrap();
        assert_eq!(e["task"], task);
        for k in keys(task) {
            finite(&e["metrics"], &k, &format!("{task} eval.json"));
            assert!(stdout.contains(&k), "{task}: {k} not in\n{stdout}");
        }
        let validity = e["metrics"].get("sample_validity");
        if task == "induction" {
            let share = finite(&e["metrics"], "sample_validity", "induction eval.json");
            assert!((0.0..=1.0).contains(&share));
            // A share of 5 samples is a multiple of 1/5.
            assert!(
                ((share * 5.0) - (share * 5.0).round()).abs() < 1e-9,
                "{share}"
            );
            assert_eq!(e["metrics"]["samples"].as_f64(), Some(5.0));
            assert!(stdout.contains("sample_validity"), "{stdout}");
        } else {
            assert!(validity.is_none(), "{task} has no samples to check");
        }
    }
}

#[test]
fn sample_validity_and_prompts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ind = train(d, "induction", 16);
    // Sampling: one line per sample marked ok/BAD, and a summary "k of n valid" that
    // counts the ok lines.
    let s = run_ok(d, &["sample", "--run", &ind, "-n", "7", "--seed", "3"]);
    let lines: Vec<&str> = s.lines().collect();
    let good = lines.iter().filter(|l| l.starts_with("ok ")).count();
    let bad = lines.iter().filter(|l| l.starts_with("BAD")).count();
    assert_eq!(good + bad, 7, "{s}");
    assert!(
        s.contains(&format!("{good} of 7 valid")),
        "summary does not match the lines: {s}"
    );
    let j: Value = serde_json::from_str(&run_ok(
        d,
        &["sample", "--run", &ind, "-n", "7", "--seed", "3", "--json"],
    ))
    .unwrap();
    assert!((j["share_ok"].as_f64().unwrap() - good as f64 / 7.0).abs() < 1e-12);

    // Addition: 12345+67890= gets exactly the 6 answer digits, checked against the sum.
    let add = train(d, "addition", 16);
    let j: Value = serde_json::from_str(&run_ok(
        d,
        &[
            "sample",
            "--run",
            &add,
            "--prompt",
            "12345+67890=",
            "--json",
        ],
    ))
    .unwrap();
    let digits = j["completion"].as_str().unwrap();
    assert_eq!(digits.len(), 6, "{j}");
    assert!(digits.chars().all(|c| c.is_ascii_digit()), "{j}");
    assert_eq!(j["correct"].as_bool(), Some(digits == "080235"), "{j}");
    let s = run_ok(d, &["sample", "--run", &add, "--prompt", "12345+67890="]);
    assert!(
        s.starts_with("12345+67890= | ") && s.contains(digits),
        "{s}"
    );

    // Permutations: "> abcd" is completed to the full row (n_ctx 122).
    let perm = train(d, "permutations", 16);
    let j: Value = serde_json::from_str(&run_ok(
        d,
        &["sample", "--run", &perm, "--prompt", "> abcd", "--json"],
    ))
    .unwrap();
    assert_eq!(j["prompt"], "> abcd");
    assert_eq!(j["completion"].as_str().unwrap().chars().count(), 122 - 6);
    assert!(j["correct"].is_boolean());

    // Bad prompts and sampling options on greedy completion: exit 2, one line.
    let e = fails(d, &["sample", "--run", &add, "--prompt", "12x45+"]);
    assert!(e.contains("'x'") && e.contains("column 2"), "{e}");
    let e = fails(
        d,
        &["sample", "--run", &add, "--prompt", "1234512345123451234"],
    );
    assert!(e.contains("n_ctx = 18"), "{e}");
    let e = fails(d, &["sample", "--run", &add, "--temperature", "0.5"]);
    assert!(e.contains("--temperature") && e.contains("greedily"), "{e}");
    let e = fails(
        d,
        &["sample", "--run", &ind, "--prompt", "ab", "--top-k", "3"],
    );
    assert!(e.contains("--top-k") && e.contains("--prompt"), "{e}");
}
