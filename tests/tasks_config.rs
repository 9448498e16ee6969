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
}

#[test]
fn overrides_change_shapes() {
    let c = RunConfig::preset(Task::Permutations, &["task.n_symbols=5".into()]).unwrap();
    assert_eq!(c.model.n_ctx(), 722);
    let c = RunConfig::preset(Task::Induction, &["task.length=10".into()]).unwrap();
    assert_eq!(c.model.n_ctx(), 11);
}
