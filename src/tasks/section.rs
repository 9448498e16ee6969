//! Reading the `[task]` section: `name` first, then the named task's own keys, so that a bad
//! value is reported as `task.<key>` with the value and what is expected (serde's internally
//! tagged enums only say "in `task`").
use super::{
    addition, induction, modular_addition, permutations, repeated, skip_trigrams, Task, TaskConfig,
};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

/// The task names as `[task] name` accepts them (the order of `Task::ALL`).
fn names() -> [&'static str; 6] {
    Task::ALL.map(Task::name)
}

impl<'de> Deserialize<'de> for TaskConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut table = toml::Table::deserialize(d)?;
        let name = match table.remove("name") {
            Some(toml::Value::String(s)) => s,
            Some(other) => {
                return Err(D::Error::custom(format!(
                    "task.name = {other}: expected a task name, one of {}",
                    names().join(", ")
                )))
            }
            None => return Err(D::Error::missing_field("name")),
        };
        let task = Task::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| {
                let names: Vec<String> = names().iter().map(|n| format!("`{n}`")).collect();
                D::Error::custom(format!(
                    "task.name: unknown variant `{name}`, expected one of {}",
                    names.join(", ")
                ))
            })?;
        let rest = toml::Value::Table(table);
        let bad = |e: toml::de::Error| D::Error::custom(field_error(&e));
        Ok(match task {
            Task::Induction => {
                TaskConfig::Induction(induction::InductionConfig::deserialize(rest).map_err(bad)?)
            }
            Task::Permutations => TaskConfig::Permutations(
                permutations::PermutationsConfig::deserialize(rest).map_err(bad)?,
            ),
            Task::Addition => {
                TaskConfig::Addition(addition::AdditionConfig::deserialize(rest).map_err(bad)?)
            }
            Task::SkipTrigrams => TaskConfig::SkipTrigrams(
                skip_trigrams::SkipTrigramsConfig::deserialize(rest).map_err(bad)?,
            ),
            Task::Repeated => {
                TaskConfig::Repeated(repeated::RepeatedConfig::deserialize(rest).map_err(bad)?)
            }
            Task::ModularAddition => TaskConfig::ModularAddition(
                modular_addition::ModularAdditionConfig::deserialize(rest).map_err(bad)?,
            ),
        })
    }
}

/// `task.<key>: <what serde says>` for an error inside the task's keys. toml renders the
/// key as a trailing "in `key`" line; errors without a key (unknown fields, which name the
/// key themselves) pass through.
fn field_error(e: &toml::de::Error) -> String {
    let text = e.to_string();
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let key = lines
        .last()
        .and_then(|l| l.strip_prefix("in `"))
        .and_then(|l| l.strip_suffix('`'));
    let msg = match key {
        Some(_) => lines[..lines.len() - 1].join(" "),
        None => lines.join(" "),
    };
    let msg = crate::wording::plain_number_words(&msg);
    match key {
        Some(k) => format!("task.{k}: {msg}"),
        None => msg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<TaskConfig, String> {
        let table: toml::Table = text.parse().map_err(|e| format!("{e}"))?;
        TaskConfig::deserialize(toml::Value::Table(table)).map_err(|e| e.to_string())
    }

    #[test]
    fn every_task_round_trips_and_names_stay_in_step() {
        for (t, n) in Task::ALL.iter().zip(names()) {
            let c = parse(&format!("name = \"{n}\"")).unwrap();
            assert_eq!(c.task(), *t);
            let back = toml::to_string(&c).unwrap();
            assert_eq!(parse(&back).unwrap(), c);
        }
    }

    #[test]
    fn a_bad_value_names_the_key_and_the_value() {
        let e = parse("name = \"induction\"\nlength = -3").unwrap_err();
        assert!(e.starts_with("task.length: "), "{e}");
        assert!(e.contains("-3") && e.contains("whole number"), "{e}");
        let e = parse("name = \"addition\"\nn_digits = \"five\"").unwrap_err();
        assert!(
            e.starts_with("task.n_digits: ") && e.contains("five"),
            "{e}"
        );
        let e = parse("name = \"inductoin\"").unwrap_err();
        assert!(
            e.starts_with("task.name: ") && e.contains("`inductoin`"),
            "{e}"
        );
        assert!(e.contains("`induction`, `permutations`"), "{e}");
        let e = parse("length = 3").unwrap_err();
        assert!(e.contains("name"), "{e}");
        let e = parse("name = 3").unwrap_err();
        assert!(e.contains("task.name = 3"), "{e}");
    }
}
