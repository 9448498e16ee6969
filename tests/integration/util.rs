//! Helpers shared by the integration modules: running the `indu` binary, tiny training runs,
//! the TransformerLens fixtures, directory snapshots, tensor differences and proptest settings.
use assert_cmd::Command;
use candle_core::Tensor;
use proptest::test_runner::{Config as ProptestConfig, FileFailurePersistence};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

/// The `indu` binary with `dir` as its working directory.
pub fn indu(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("indu").expect("binary built by cargo");
    c.current_dir(dir);
    c
}

/// `tests/fixtures/tl/<name>`: the TransformerLens reference files.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tl")
        .join(name)
}

/// Asserts that the process succeeded, showing its stdout and stderr if not.
pub fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `indu ARGS` in `dir`, which must succeed; returns its stdout.
pub fn run_ok(dir: &Path, args: &[&str]) -> String {
    let out = indu(dir).args(args).output().expect("runs");
    assert!(
        out.status.success(),
        "{args:?}\nstdout: {}\nstderr: {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `indu ARGS` in `dir`, which must exit 2 with a single `error: ` line on stderr and no
/// panic; returns that line.
pub fn fails(dir: &Path, args: &[&str]) -> String {
    let out = indu(dir).args(args).output().expect("runs");
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?}: expected exit 2, stderr: {err}"
    );
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    assert!(!err.contains("RUST_BACKTRACE"), "{args:?}: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{args:?}: expected exactly one stderr line: {err}"
    );
    assert!(err.starts_with("error: "), "{args:?}: {err}");
    err
}

/// `indu train --task TASK --steps STEPS --quiet --out OUT EXTRA...` in `dir`, which must
/// succeed; returns `dir/OUT`.
pub fn tiny_run(dir: &Path, task: &str, steps: usize, out: &str, extra: &[&str]) -> PathBuf {
    let steps = steps.to_string();
    let args = [
        "train", "--task", task, "--steps", &steps, "--quiet", "--out", out,
    ];
    let o = indu(dir).args(args).args(extra).output().expect("runs");
    assert!(
        o.status.success(),
        "train {task}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    dir.join(out)
}

/// One entry of a [`snapshot`].
#[derive(Debug, PartialEq, Eq)]
pub enum Entry {
    Dir,
    File(Vec<u8>),
    /// A symbolic link: its target, and the bytes it leads to when that is a readable file.
    Link(PathBuf, Option<Vec<u8>>),
}

/// Every file, directory and symbolic link under `dir` (relative paths) with its contents;
/// links are recorded, not followed. Missing `dir`: empty.
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Entry> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Entry>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(root).unwrap().to_path_buf();
            if p.is_symlink() {
                let target = std::fs::read_link(&p).unwrap_or_default();
                out.insert(rel, Entry::Link(target, std::fs::read(&p).ok()));
            } else if p.is_dir() {
                out.insert(rel, Entry::Dir);
                walk(root, &p, out);
            } else {
                out.insert(rel, Entry::File(std::fs::read(&p).unwrap_or_default()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// The paths whose entries differ between two snapshots.
pub fn changed<'a>(
    before: &'a BTreeMap<PathBuf, Entry>,
    after: &'a BTreeMap<PathBuf, Entry>,
) -> Vec<&'a PathBuf> {
    let mut keys: Vec<&PathBuf> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.retain(|k| before.get(*k) != after.get(*k));
    keys
}

/// Largest |a - b| of two f32 tensors of the same shape.
pub fn max_diff(a: &Tensor, b: &Tensor) -> candle_core::Result<f32> {
    (a - b)?.abs()?.max_all()?.to_scalar::<f32>()
}

/// Proptest settings for `cases` cases whose failures are saved to and replayed from
/// `<source file>.proptest-regressions` beside the test module.
pub fn proptest_cases(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}
