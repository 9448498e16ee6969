//! The embedded presets in `configs/`: `Preset`, the one list of preset names (`--task` of
//! `indu train` and `indu sweep`), each with its task and its TOML text. Every task has a
//! preset of its own name; `induction_makemore` is a second preset of the induction task
//! (seed 000's own model, makemore's transformer).
use crate::error::{Error, Result};
use crate::tasks::Task;
use std::fmt;
use std::str::FromStr;

/// A named preset: a config in `configs/`, embedded in the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// `configs/induction.toml`: the attention-only model of the TransformerLens fixture.
    Induction,
    /// `configs/induction_makemore.toml`: makemore's transformer (LN, MLP, torch init).
    InductionMakemore,
    Permutations,
    Addition,
    SkipTrigrams,
    Repeated,
    /// `configs/modular_addition.toml`: seed 003's grokking model and its full-batch training.
    ModularAddition,
}

impl Preset {
    /// Every preset, in the order `--task` help lists them.
    pub const ALL: [Preset; 7] = [
        Preset::Induction,
        Preset::InductionMakemore,
        Preset::Permutations,
        Preset::Addition,
        Preset::SkipTrigrams,
        Preset::Repeated,
        Preset::ModularAddition,
    ];

    /// The task the preset trains.
    pub fn task(self) -> Task {
        match self {
            Preset::Induction | Preset::InductionMakemore => Task::Induction,
            Preset::Permutations => Task::Permutations,
            Preset::Addition => Task::Addition,
            Preset::SkipTrigrams => Task::SkipTrigrams,
            Preset::Repeated => Task::Repeated,
            Preset::ModularAddition => Task::ModularAddition,
        }
    }

    /// The name `--task` takes: the task's own name, or the preset's where a task has two.
    pub fn name(self) -> &'static str {
        match self {
            Preset::InductionMakemore => "induction_makemore",
            Preset::Induction
            | Preset::Permutations
            | Preset::Addition
            | Preset::SkipTrigrams
            | Preset::Repeated
            | Preset::ModularAddition => self.task().name(),
        }
    }

    /// The TOML text (the file in `configs/`, embedded).
    pub fn text(self) -> &'static str {
        match self {
            Preset::Induction => include_str!("../../configs/induction.toml"),
            Preset::InductionMakemore => include_str!("../../configs/induction_makemore.toml"),
            Preset::Permutations => include_str!("../../configs/permutations.toml"),
            Preset::Addition => include_str!("../../configs/addition.toml"),
            Preset::SkipTrigrams => include_str!("../../configs/skip_trigrams.toml"),
            Preset::Repeated => include_str!("../../configs/repeated.toml"),
            Preset::ModularAddition => include_str!("../../configs/modular_addition.toml"),
        }
    }

    /// The preset named like `task` (its default preset).
    pub fn of_task(task: Task) -> Preset {
        match task {
            Task::Induction => Preset::Induction,
            Task::Permutations => Preset::Permutations,
            Task::Addition => Preset::Addition,
            Task::SkipTrigrams => Preset::SkipTrigrams,
            Task::Repeated => Preset::Repeated,
            Task::ModularAddition => Preset::ModularAddition,
        }
    }

    /// Every preset's name, in `ALL` order.
    pub fn names() -> Vec<&'static str> {
        Preset::ALL.iter().map(|p| p.name()).collect()
    }

    /// The names as a comma-separated list: "induction, induction_makemore, ...".
    pub fn list() -> String {
        Preset::names().join(", ")
    }
}

impl From<Task> for Preset {
    /// The task's own preset.
    fn from(task: Task) -> Preset {
        Preset::of_task(task)
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Preset {
    type Err = Error;
    /// A preset name (`-` reads as `_`); the error lists every preset, with a guess.
    fn from_str(s: &str) -> Result<Preset> {
        let norm = s.trim().replace('-', "_");
        Preset::ALL
            .into_iter()
            .find(|p| p.name() == norm)
            .ok_or_else(|| {
                let names = Preset::names();
                let hint = crate::wording::closest(&norm, &names)
                    .map(|c| format!(" (did you mean {c}?)"))
                    .unwrap_or_default();
                Error::Invalid(format!(
                    "unknown preset {s:?}: expected one of {}{hint}",
                    Preset::list()
                ))
            })
    }
}

/// The TOML text of a task's own preset (the one named like the task).
pub fn preset_text(task: Task) -> &'static str {
    Preset::of_task(task).text()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_back_and_every_task_has_its_own_preset() {
        for p in Preset::ALL {
            assert_eq!(p.name().parse::<Preset>().unwrap(), p);
            assert!(!p.text().is_empty());
        }
        for t in Task::ALL {
            let p = Preset::of_task(t);
            assert_eq!((p.task(), p.name()), (t, t.name()));
        }
        let mut names = Preset::names();
        names.dedup();
        assert_eq!(names.len(), Preset::ALL.len());
        assert_eq!(
            "induction-makemore".parse::<Preset>().unwrap(),
            Preset::InductionMakemore
        );
    }

    #[test]
    fn an_unknown_preset_lists_them_all() {
        let e = "induction_makemor"
            .parse::<Preset>()
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean induction_makemore?"), "{e}");
        for n in Preset::names() {
            assert!(e.contains(n), "{e}");
        }
    }
}
