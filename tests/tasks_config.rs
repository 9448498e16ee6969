//! The `[task]` section through the real config path: presets resolve to the task's
//! shapes, out-of-range values are rejected with the key, value and range named.
use indu::config::RunConfig;
use indu::tasks::Task;

#[test]
fn presets_resolve_task_shapes() {
    let want = [
        (Task::Induction, 32, 27, 27),
        (Task::Permutations, 122, 65, 65),
        (Task::Addition, 18, 12, 10),
        (Task::SkipTrigrams, 42, 22, 10),
        (Task::Repeated, 85, 128, 128),
    ];
    for (task, n_ctx, d_vocab, d_out) in want {
        let c = RunConfig::preset(task, &[]).unwrap();
        let m = &c.model;
        assert_eq!(
            (m.n_ctx(), m.d_vocab(), m.d_vocab_out()),
            (n_ctx, d_vocab, d_out),
            "{task}"
        );
        let back = RunConfig::from_toml(&c.to_toml().unwrap(), &[]).unwrap();
        assert_eq!(back, c);
    }
}

fn err(task: Task, set: &str) -> String {
    RunConfig::preset(task, &[set.to_string()])
        .unwrap_err()
        .to_string()
}

#[test]
fn bad_task_values_name_the_key() {
    let e = err(Task::Permutations, "task.n_symbols=9");
    assert!(
        e.contains("task.n_symbols = 9") && e.contains("3628802"),
        "{e}"
    );
    let e = err(Task::Permutations, "task.test_fraction=0");
    assert!(e.contains("task.test_fraction = 0"), "{e}");
    let e = err(Task::Induction, "task.length=0");
    assert!(e.contains("task.length = 0") && e.contains("1..="), "{e}");
    let e = err(Task::Addition, "task.n_digits=0");
    assert!(e.contains("task.n_digits = 0"), "{e}");
    let e = err(Task::SkipTrigrams, "task.seq_len=0");
    assert!(e.contains("task.seq_len = 0"), "{e}");
    let e = err(Task::Repeated, "task.subseq_len=40");
    assert!(
        e.contains("task.subseq_len = 40") && e.contains("28"),
        "{e}"
    );
    let e = err(Task::Induction, "task.lenght=3");
    assert!(e.contains("lenght") && e.contains("length"), "{e}");
    // Values of the wrong type or sign name the task key, the value and the expectation.
    let e = err(Task::Induction, "task.length=-3");
    assert!(
        e.contains("task.length") && e.contains("-3") && e.contains("whole number >= 0"),
        "{e}"
    );
    let e = err(Task::Repeated, "task.d_vocab=\"big\"");
    assert!(e.contains("task.d_vocab") && e.contains("big"), "{e}");
}

#[test]
fn seeds_beyond_toml_integers_are_refused_by_name() {
    for set in ["seed=18446744073709551615", "seed=9223372036854775808"] {
        let e = err(Task::Induction, set);
        assert!(
            e.contains("seed = ") && e.contains("at most 9223372036854775807"),
            "{e}"
        );
    }
    let e = err(Task::Induction, "seed=-1");
    assert!(e.contains("seed") && e.contains("-1"), "{e}");
    let e = RunConfig::from_toml(
        "seed = 18446744073709551615\n[task]\nname = \"induction\"\n",
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("at most 9223372036854775807"), "{e}");
    let c = RunConfig::preset(Task::Induction, &["seed=9223372036854775807".into()]).unwrap();
    assert_eq!(c.seed, i64::MAX as u64);
}

#[test]
fn the_default_config_is_valid_and_round_trips() {
    let c = RunConfig::default();
    c.validate().unwrap();
    assert_eq!(c.task.task(), Task::Induction);
    assert_eq!(c.model.n_ctx(), 32);
    assert_eq!(c.model.d_vocab(), 27);
    let back = RunConfig::from_toml(&c.to_toml().unwrap(), &[]).unwrap();
    assert_eq!(back, c);
}

#[test]
fn data_configs_skip_training_only_limits() {
    let set = ["task.length=2000".to_string()];
    let text = indu::config::preset_text(Task::Induction);
    // Training refuses it (activation memory of a step), generating data does not.
    let e = RunConfig::from_toml(text, &set).unwrap_err().to_string();
    assert!(e.contains("train.batch_size"), "{e}");
    let c = RunConfig::from_toml_for_data(text, &set).unwrap();
    assert_eq!(c.model.n_ctx(), 2001);
    // Every other value is still checked.
    let bad = ["model.n_heads=0".to_string()];
    assert!(RunConfig::from_toml_for_data(text, &bad).is_err());
}

#[test]
fn overrides_change_shapes() {
    let c = RunConfig::preset(Task::Permutations, &["task.n_symbols=5".into()]).unwrap();
    assert_eq!(c.model.n_ctx(), 722);
    let c = RunConfig::preset(Task::Induction, &["task.length=10".into()]).unwrap();
    assert_eq!(c.model.n_ctx(), 11);
}
