//! Bad input through the real binary, table-driven: every subcommand against malformed and
//! out-of-range configs, corrupt or mismatched run directories, unwritable outputs, text
//! outside the vocabulary and absurd numbers. Each case must exit 2 with exactly one line on
//! stderr that names the culprit, never panic, and leave the working directory (every file,
//! byte for byte) as it found it.
use crate::util::{changed, indu, snapshot, tiny_run};
use std::path::{Path, PathBuf};

mod analysis;
mod circuits;
mod config;
mod run_dir;
mod train;

/// One bad input: arguments (`RUN` is replaced by the run directory), a setup that breaks the
/// working directory, and substrings the error line must contain.
struct Case {
    name: &'static str,
    args: &'static [&'static str],
    setup: fn(&Path),
    expect: &'static [&'static str],
}

fn none(_: &Path) {}

/// A small trained run in `dir/base` (built once per test function, copied per case).
fn base_run(dir: &Path) -> PathBuf {
    tiny_run(
        dir,
        "induction",
        5,
        "base",
        &["--set", "train.eval_size=32"],
    )
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

/// Run every case in a fresh copy of the base run (`runs/r`, also `runs/latest`).
fn check_all(cases: &[Case]) {
    let base_dir = tempfile::tempdir().unwrap();
    let base = base_run(base_dir.path());
    let mut failures = Vec::new();
    for c in cases {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        copy_dir(&base, &d.join("runs/r"));
        #[cfg(unix)]
        std::os::unix::fs::symlink("r", d.join("runs/latest")).unwrap();
        std::fs::write(d.join("afile"), "not a directory").unwrap();
        (c.setup)(d);
        let before = snapshot(d);
        let args: Vec<&str> = c
            .args
            .iter()
            .map(|a| if *a == "RUN" { "runs/r" } else { a })
            .collect();
        let out = indu(d)
            .env("RUST_BACKTRACE", "1")
            .args(&args)
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        let mut why = Vec::new();
        if out.status.code() != Some(2) {
            why.push(format!("exit {:?}", out.status.code()));
        }
        if err.trim_end().lines().count() != 1 || !err.starts_with("error: ") {
            why.push("not exactly one `error:` line".into());
        }
        if err.contains("panicked") || err.contains("backtrace") {
            why.push("panic".into());
        }
        for e in c.expect {
            if !err.contains(e) {
                why.push(format!("lacks {e:?}"));
            }
        }
        let after = snapshot(d);
        if after != before {
            why.push(format!("changed files {:?}", changed(&before, &after)));
        }
        if !why.is_empty() {
            failures.push(format!(
                "{} {args:?}: {} -- stderr: {err}",
                c.name,
                why.join(", ")
            ));
        }
    }
    eprintln!("{} bad inputs tried", cases.len());
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

fn write(d: &Path, rel: &str, text: &str) {
    std::fs::write(d.join(rel), text).unwrap();
}

fn edit_config(d: &Path, from: &str, to: &str) {
    let p = d.join("runs/r/config.toml");
    let t = std::fs::read_to_string(&p).unwrap();
    assert!(t.contains(from), "{from}");
    std::fs::write(&p, t.replace(from, to)).unwrap();
}

/// A safetensors file with one f32 tensor of `shape` (zeros) at `rel`.
fn write_tensor(d: &Path, rel: &str, name: &str, dtype: safetensors::Dtype, shape: &[usize]) {
    let n: usize = shape.iter().product();
    let bytes = vec![0u8; n * dtype.bitsize() / 8];
    let view = safetensors::tensor::TensorView::new(dtype, shape.to_vec(), &bytes).unwrap();
    let data = safetensors::serialize(vec![(name, view)], None).unwrap();
    std::fs::write(d.join(rel), data).unwrap();
}

fn truncate(d: &Path, rel: &str, keep: usize) {
    let p = d.join(rel);
    let b = std::fs::read(&p).unwrap();
    std::fs::write(&p, &b[..keep.min(b.len())]).unwrap();
}

/// Rewrite the run's model with `value` as the first element of tensor `name` (everything
/// else byte for byte as trained).
fn poison(d: &Path, name: &str, value: f32) {
    let p = d.join(MODEL);
    let bytes = std::fs::read(&p).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut owned: Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)> = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, v.dtype(), v.shape().to_vec(), v.data().to_vec()))
        .collect();
    let t = owned
        .iter_mut()
        .find(|t| t.0 == name)
        .expect("tensor in model");
    t.3[..4].copy_from_slice(&value.to_le_bytes());
    let views: Vec<(String, safetensors::tensor::TensorView)> = owned
        .iter()
        .map(|(n, dt, s, b)| {
            let v = safetensors::tensor::TensorView::new(*dt, s.clone(), b).unwrap();
            (n.clone(), v)
        })
        .collect();
    std::fs::write(&p, safetensors::serialize(views, None).unwrap()).unwrap();
}

const MODEL: &str = "runs/r/model.safetensors";
const CKPT: &str = "runs/r/checkpoint.safetensors";

/// Hold the run's lock as another live process would: an `flock` from this test process,
/// kept for the rest of the test (the descriptor is deliberately leaked).
fn hold_lock(d: &Path) {
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::io::AsRawFd;
        let mut f = std::fs::File::create(d.join("runs/r/.lock")).unwrap();
        write!(f, "{}", std::process::id()).unwrap();
        // SAFETY: flock on a descriptor we own.
        assert_eq!(
            unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) },
            0
        );
        std::mem::forget(f);
    }
}

/// Make the run directory read-only. Root ignores permissions: then make the case fail the
/// same way through a path under a file instead, so the case still checks something.
fn read_only_run(d: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let r = d.join("runs/r");
        std::fs::set_permissions(&r, std::fs::Permissions::from_mode(0o555)).unwrap();
        let probe = r.join(".probe");
        if std::fs::write(&probe, "x").is_err() {
            return; // really read-only
        }
        let _ = std::fs::remove_file(&probe);
        std::fs::set_permissions(&r, std::fs::Permissions::from_mode(0o755)).unwrap();
        eprintln!("running as root: the read-only case uses `plots` as a file instead");
    }
    write(d, "runs/r/plots", "x");
}
