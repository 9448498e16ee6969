//! The `[task]` section through the real config path: presets resolve to the task's
//! shapes, out-of-range values are rejected with the key, value and range named.
use indu::config::{Preset, RunConfig};
use indu::tasks::Task;

#[test]
fn presets_resolve_task_shapes() {
    let want = [
        (Preset::Induction, 32, 27, 27),
        (Preset::InductionMakemore, 32, 27, 27),
        (Preset::Permutations, 122, 65, 65),
        (Preset::Addition, 18, 12, 10),
        (Preset::SkipTrigrams, 42, 22, 10),
        (Preset::Repeated, 85, 128, 128),
        (Preset::ModularAddition, 3, 114, 114),
    ];
    assert_eq!(want.len(), Preset::ALL.len());
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

/// The distinct training rows of steps `0..steps` (batch 16) for `set`.
fn rows_seen(set: &[&str], steps: usize) -> std::collections::BTreeSet<Vec<u32>> {
    let set: Vec<String> = set.iter().map(|s| s.to_string()).collect();
    let cfg = RunConfig::preset(Task::Addition, &set).unwrap();
    let spec = cfg.task.spec(cfg.seed).unwrap();
    let data = indu::train::data_source::DataSource::new(&cfg, &spec, None).unwrap();
    let mut seen = std::collections::BTreeSet::new();
    for step in 0..steps {
        let b = data.train_batch(step, 16);
        assert_eq!(b.len(), 16);
        assert_eq!(b.n_ctx, 18);
        for i in 0..b.len() {
            seen.insert(b.row(i).to_vec());
        }
    }
    seen
}

#[test]
fn num_data_trains_on_one_fixed_set() {
    // Finite mode: 40 steps of 16 rows all come from the same 40 rows (a fixed set, so
    // the same for every run with this seed and num_data)...
    let finite = rows_seen(&["train.num_data=40"], 40);
    assert!(finite.len() <= 40 && finite.len() >= 30, "{}", finite.len());
    assert_eq!(finite, rows_seen(&["train.num_data=40"], 40));
    // ...another seed has another set...
    let other = rows_seen(&["train.num_data=40", "seed=1"], 40);
    assert!(finite.intersection(&other).count() < 3);
    // ...while infinite mode draws fresh rows every step.
    let infinite = rows_seen(&[], 40);
    assert!(infinite.len() > 600, "{}", infinite.len());
    // The held-out rows are not training rows.
    let cfg = RunConfig::preset(Task::Addition, &["train.num_data=40".into()]).unwrap();
    let spec = cfg.task.spec(cfg.seed).unwrap();
    let data = indu::train::data_source::DataSource::new(&cfg, &spec, None).unwrap();
    let eval = data.eval_rows();
    let held: Vec<Vec<u32>> = (0..eval.len()).map(|i| eval.row(i).to_vec()).collect();
    assert!(held.iter().filter(|r| finite.contains(*r)).count() < 3);
}

#[test]
fn every_preset_field_has_a_comment() {
    for task in Preset::ALL {
        let text = task.text();
        for line in text.lines() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') || t.starts_with('[') {
                continue;
            }
            // A field line (`key = value`) or a continuation of one must carry a comment.
            let comment = t.split_once('#').map(|(_, c)| c.trim());
            assert!(
                comment.is_some_and(|c| !c.is_empty()),
                "configs/{task}.toml: `{t}` has no comment"
            );
        }
    }
}

/// Seed 000's own model: makemore's transformer, as the preset spells it out.
#[test]
fn the_makemore_preset_is_makemores_transformer() {
    use indu::model::config::{ActFn, Init, Normalization};
    let c = RunConfig::preset(Preset::InductionMakemore, &[]).unwrap();
    assert_eq!(c.task.task(), Task::Induction);
    let m = &c.model;
    assert_eq!((m.n_layers, m.n_heads, m.d_model, m.d_head), (2, 1, 64, 64));
    assert!(!m.attn_only && m.d_mlp == 4 * m.d_model);
    assert_eq!(
        (m.act_fn, m.normalization, m.init, m.unembed_bias),
        (ActFn::GeluNew, Normalization::LN, Init::Torch, false)
    );
    let t = &c.train;
    assert_eq!(
        (t.steps, t.batch_size, t.num_data, t.eval_size),
        (2000, 32, Some(31000), 1000)
    );
    assert_eq!(
        (t.lr, t.weight_decay, t.betas, t.eps),
        (5e-4, 0.01, [0.9, 0.99], 1e-8)
    );
    assert_eq!(t.decay_on, indu::config::DecayOn::All);
    // The written config names the new options and reads back the same.
    let text = c.to_toml().unwrap();
    for key in [
        "act_fn = \"gelu_new\"",
        "init = \"torch\"",
        "unembed_bias = false",
    ] {
        assert!(text.contains(key), "{key} not in\n{text}");
    }
    assert_eq!(RunConfig::from_toml(&text, &[]).unwrap(), c);
    // The attention-only preset is unchanged: no unembed_bias key in its config.toml.
    let plain = RunConfig::preset(Preset::Induction, &[]).unwrap();
    assert!(plain.model.unembed_bias && !plain.to_toml().unwrap().contains("unembed_bias"));
}
