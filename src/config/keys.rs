//! The keys a config may hold and the type each key's value must have, checked on the TOML
//! table before serde reads it, so that every type error and unknown key is worded here:
//! the key, the value and what is expected, with "did you mean" for a misspelt key or
//! option. Ranges are checked after reading (`limits`).
//!
//! Keys are checked in the order the table holds them, which is the order serde reads them
//! in, so the first bad key is the one serde would have met first; `task.name` is checked
//! first within `[task]`.
use crate::error::{Error, Result};
use crate::model::config::{ActFn, Init, Normalization, Positional, Residual};
use crate::tasks::{Task, TaskConfig};
use crate::wording::{did_you_mean, WHOLE_NUMBER};
use serde::Deserialize;
use toml::{Table, Value};

use super::stop_when::StopWhen;
use super::train::{DecayOn, Schedule};

/// What a key's value must be.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// An integer >= 0 (`usize`, `u64`).
    Whole,
    /// An integer or a float (`f64`).
    Number,
    /// `true` or `false`.
    Flag,
    /// A `stop_when` condition: a string `StopWhen::parse` reads.
    Condition,
    /// One of these strings.
    Choice(&'static [&'static str]),
    /// An array of exactly two numbers.
    Pair,
    /// An array of strings.
    Strings,
    /// A table holding these keys.
    Section(&'static [(&'static str, Kind)]),
    /// The `[task]` table: `name`, then the named task's keys.
    Task,
}

use Kind::*;

const MODEL: &[(&str, Kind)] = &[
    ("n_layers", Whole),
    ("n_heads", Whole),
    ("d_model", Whole),
    ("d_head", Whole),
    ("n_ctx", Whole),
    ("d_vocab", Whole),
    ("d_vocab_out", Whole),
    ("attn_only", Flag),
    ("d_mlp", Whole),
    ("act_fn", Choice(ActFn::NAMES)),
    ("normalization", Choice(Normalization::NAMES)),
    ("positional", Choice(Positional::NAMES)),
    ("init", Choice(Init::NAMES)),
    ("residual", Choice(Residual::NAMES)),
    ("init_range", Number),
    ("unembed_bias", Flag),
];

const TRAIN: &[(&str, Kind)] = &[
    ("steps", Whole),
    ("batch_size", Whole),
    ("lr", Number),
    ("weight_decay", Number),
    ("decay_on", Choice(DecayOn::NAMES)),
    ("betas", Pair),
    ("eps", Number),
    ("warmup_steps", Whole),
    ("schedule", Choice(Schedule::NAMES)),
    ("grad_clip", Number),
    ("stop_when", Condition),
    ("eval_every", Whole),
    ("eval_size", Whole),
    ("checkpoint_every", Whole),
    ("log_every", Whole),
    ("num_data", Whole),
    ("threads", Whole),
    ("track_every", Whole),
    ("snapshot_every", Whole),
    ("ablate_heads", Strings),
];

const TOP: &[(&str, Kind)] = &[
    ("seed", Whole),
    ("task", Task),
    ("model", Section(MODEL)),
    ("train", Section(TRAIN)),
];

/// Check every key of a whole config table (`RunConfig`'s).
pub(super) fn check_config(table: &Table) -> Result<()> {
    check_table(table, "", TOP)?;
    if !table.contains_key("task") {
        return Err(Error::Config(
            "missing field `task`: a config needs a [task] section with the task's name".into(),
        ));
    }
    Ok(())
}

fn check_table(table: &Table, section: &str, keys: &[(&str, Kind)]) -> Result<()> {
    for (key, value) in table {
        let path = join(section, key);
        let Some((_, kind)) = keys.iter().find(|(k, _)| k == key) else {
            let names: Vec<&str> = keys.iter().map(|(k, _)| *k).collect();
            return Err(unknown_key(&path, key, "", &names));
        };
        check_value(&path, value, *kind)?;
    }
    Ok(())
}

fn join(section: &str, key: &str) -> String {
    if section.is_empty() {
        key.to_string()
    } else {
        format!("{section}.{key}")
    }
}

/// `unknown key `path``, what the section holds (`what`: extra words after the key), and
/// the closest name.
fn unknown_key(path: &str, key: &str, what: &str, names: &[&str]) -> Error {
    Error::Config(format!(
        "unknown key `{path}`{what}: expected one of {}{}",
        quoted(names),
        did_you_mean(key, names)
    ))
}

/// `` `a`, `b`, `c` ``.
fn quoted(names: &[&str]) -> String {
    let list: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    list.join(", ")
}

fn check_value(path: &str, value: &Value, kind: Kind) -> Result<()> {
    let ok = match (kind, value) {
        (Whole, Value::Integer(i)) => *i >= 0,
        (Number, Value::Integer(_) | Value::Float(_)) | (Flag, Value::Boolean(_)) => true,
        (Choice(names), Value::String(s)) => {
            if names.contains(&s.as_str()) {
                return Ok(());
            }
            return Err(Error::Config(format!(
                "{path} = {value}: expected one of {}{}",
                quoted(names),
                did_you_mean(s, names)
            )));
        }
        (Condition, Value::String(s)) => {
            return StopWhen::parse(s)
                .map(|_| ())
                .map_err(|e| Error::Config(format!("{path} = {value}: {e}")))
        }
        (Pair, Value::Array(items)) => {
            items.len() == 2
                && items
                    .iter()
                    .all(|x| matches!(x, Value::Integer(_) | Value::Float(_)))
        }
        (Strings, Value::Array(items)) => items.iter().all(Value::is_str),
        (Section(keys), Value::Table(t)) => return check_table(t, path, keys),
        (Task, Value::Table(t)) => return check_task(t),
        _ => false,
    };
    if ok {
        return Ok(());
    }
    Err(Error::Config(format!(
        "{path} = {value}: expected {}",
        expected(path, kind)
    )))
}

/// What a key of `kind` expects, as a phrase.
fn expected(path: &str, kind: Kind) -> String {
    match kind {
        Whole => WHOLE_NUMBER.to_string(),
        Number => "a number".into(),
        Flag => "true or false".into(),
        Condition => "a condition string such as \"eval_det_acc >= 0.99\"".into(),
        Choice(names) => format!("one of {}", quoted(names)),
        Pair => "an array of length 2 (two numbers)".into(),
        Strings => "an array of strings, e.g. [\"0.0\", \"1.2\"]".into(),
        Section(_) | Task => format!("a table (a [{path}] section)"),
    }
}

/// `[task]`: `name` must name a task; the other keys are that task's, each of the type its
/// default value has.
fn check_task(table: &Table) -> Result<()> {
    let names = Task::ALL.map(Task::name);
    let name = match table.get("name") {
        Some(Value::String(s)) if names.contains(&s.as_str()) => s.as_str(),
        Some(v @ Value::String(s)) => {
            return Err(Error::Config(format!(
                "task.name = {v} is not a task: expected one of {}{}",
                quoted(&names),
                did_you_mean(s, &names)
            )))
        }
        Some(other) => {
            return Err(Error::Config(format!(
                "task.name = {other}: expected a task name, one of {}",
                quoted(&names)
            )))
        }
        None => {
            return Err(Error::Config(format!(
                "task.name is missing: expected a task name, one of {}",
                quoted(&names)
            )))
        }
    };
    let defaults = task_defaults(name)?;
    let keys: Vec<&str> = defaults.keys().map(String::as_str).collect();
    for (key, value) in table.iter().filter(|(k, _)| *k != "name") {
        let path = format!("task.{key}");
        let Some(default) = defaults.get(key) else {
            return Err(unknown_key(&path, key, &format!(" for task {name}"), &keys));
        };
        let kind = match default {
            Value::Integer(_) => Whole,
            Value::Float(_) => Number,
            Value::Boolean(_) => Flag,
            // No task has a key of another type; serde checks any that is added.
            _ => continue,
        };
        check_value(&path, value, kind)?;
    }
    Ok(())
}

/// The keys of task `name` with their default values (every task key has a default).
fn task_defaults(name: &str) -> Result<Table> {
    let only_name = Table::from_iter([("name".to_string(), Value::String(name.into()))]);
    let cfg = TaskConfig::deserialize(Value::Table(only_name))
        .map_err(|e| Error::Config(format!("task {name}: {e}")))?;
    let mut table = Table::try_from(&cfg)
        .map_err(|e| Error::Config(format!("task {name}: cannot list its keys: {e}")))?;
    table.remove("name");
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TrainConfig;
    use crate::model::config::ModelConfig;

    fn names(keys: &[(&str, Kind)]) -> Vec<String> {
        let mut v: Vec<String> = keys.iter().map(|(k, _)| k.to_string()).collect();
        v.sort();
        v
    }

    /// The key lists name exactly the fields of the structs (all set, so none is skipped).
    #[test]
    fn key_lists_match_the_structs() {
        let model = ModelConfig {
            n_ctx: Some(1),
            d_vocab: Some(1),
            d_vocab_out: Some(1),
            init_range: Some(0.1),
            unembed_bias: false,
            ..ModelConfig::default()
        };
        let train = TrainConfig {
            num_data: Some(1),
            stop_when: Some(StopWhen::parse("eval_acc >= 1").unwrap()),
            track_every: Some(1),
            ablate_heads: vec!["0.0".into()],
            ..TrainConfig::default()
        };
        let keys = |t: Table| {
            let mut v: Vec<String> = t.keys().cloned().collect();
            v.sort();
            v
        };
        assert_eq!(keys(Table::try_from(&model).unwrap()), names(MODEL));
        assert_eq!(keys(Table::try_from(&train).unwrap()), names(TRAIN));
    }

    /// Every value a key list accepts, serde reads.
    #[test]
    fn option_names_are_what_serde_reads_and_writes() {
        fn check<
            T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
        >(
            all: &[T],
            names: &[&str],
        ) {
            assert_eq!(all.len(), names.len());
            for (v, n) in all.iter().zip(names) {
                assert_eq!(Value::try_from(v).unwrap(), Value::String(n.to_string()));
                assert_eq!(&T::deserialize(Value::String(n.to_string())).unwrap(), v);
            }
        }
        check(ActFn::ALL, ActFn::NAMES);
        check(Normalization::ALL, Normalization::NAMES);
        check(Positional::ALL, Positional::NAMES);
        check(Residual::ALL, Residual::NAMES);
        check(Init::ALL, Init::NAMES);
        check(DecayOn::ALL, DecayOn::NAMES);
        check(Schedule::ALL, Schedule::NAMES);
    }

    fn err(text: &str) -> String {
        let table: Table = text.parse().unwrap();
        check_config(&table).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_the_key_the_value_and_the_expectation() {
        let task = "[task]\nname = \"induction\"\n";
        assert_eq!(
            err(&format!("{task}[model]\nn_heads = \"two\"")),
            "model.n_heads = \"two\": expected a whole number >= 0"
        );
        assert!(err(&format!("{task}[model]\nn_head = 2")).ends_with("(did you mean `n_heads`?)"));
        assert!(err(&format!("seed = -1\n{task}")).starts_with("seed = -1: expected a whole"));
        assert!(err(&format!("{task}[train]\nbetas = [0.9]")).contains("length 2"));
        assert!(err(&format!("{task}[model]\nnormalization = \"ln\"")).contains("`LN`?"));
        assert!(err(&format!("{task}lenght = 3")).contains("did you mean `length`"));
        assert!(err("[task]\nname = \"inductoin\"").contains("did you mean `induction`"));
        assert!(err("model = 3\n[task]\nname = \"induction\"").contains("[model] section"));
        assert!(err("seed = 1").starts_with("missing field `task`"));
        let ok: Table = format!("seed = 1\n{task}length = 3\n[train]\nlr = 1\nbetas = [1, 0.5]")
            .parse()
            .unwrap();
        check_config(&ok).unwrap();
    }
}
