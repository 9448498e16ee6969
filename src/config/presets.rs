//! The embedded presets in `configs/`, one per task.
use crate::tasks::Task;

const PRESETS: [(Task, &str); 6] = [
    (
        Task::Induction,
        include_str!("../../configs/induction.toml"),
    ),
    (
        Task::Permutations,
        include_str!("../../configs/permutations.toml"),
    ),
    (Task::Addition, include_str!("../../configs/addition.toml")),
    (
        Task::SkipTrigrams,
        include_str!("../../configs/skip_trigrams.toml"),
    ),
    (Task::Repeated, include_str!("../../configs/repeated.toml")),
    (
        Task::ModularAddition,
        include_str!("../../configs/modular_addition.toml"),
    ),
];

/// The TOML text of a task's embedded preset.
pub fn preset_text(task: Task) -> &'static str {
    PRESETS
        .iter()
        .find(|(t, _)| *t == task)
        .map(|(_, s)| *s)
        .unwrap_or("") // every Task has a row in PRESETS (checked by a test)
}
