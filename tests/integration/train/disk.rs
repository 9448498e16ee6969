//! Disk space: too little for the run's peak is refused up front, and a refused `--force`
//! keeps the old run (on a small tmpfs mount, where mounting is allowed).
use super::train;
use crate::util::{indu, snapshot, Entry};
use std::path::Path;

/// A file system too small for the checkpoint is refused before training. Needs a tmpfs
/// mount (root in a container); skipped where mounting is not allowed.
#[cfg(target_os = "linux")]
#[test]
fn too_little_disk_space_is_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mnt = d.join("small");
    std::fs::create_dir(&mnt).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=256k", "tmpfs"])
        .arg(&mnt)
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !mounted {
        eprintln!("cannot mount a tmpfs here: skipping");
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _guard = Unmount(mnt.clone());
    let out = train(d, "small/run", 5, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("disk space") && err.contains("small/run") && err.contains("MiB"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert_eq!(
        std::fs::read_dir(&mnt).unwrap().count(),
        0,
        "files left on the small disk"
    );
}

/// Mount a tmpfs of `size` at `mnt` (None where mounting is not allowed); unmounted on drop.
#[cfg(target_os = "linux")]
fn small_disk(mnt: &Path, size: &str) -> Option<impl Drop> {
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    std::fs::create_dir_all(mnt).unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(mnt)
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    mounted.then(|| Unmount(mnt.to_path_buf()))
}

/// The disk check counts the peak of atomic checkpoint writes (old + new checkpoint and the
/// model at once): a disk that holds one checkpoint and the model but not that peak is
/// refused up front instead of failing mid-run, and a refused `--force` keeps the old run.
#[cfg(target_os = "linux")]
#[test]
fn the_disk_check_counts_the_peak_and_a_refused_force_keeps_the_old_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let Some(_guard) = small_disk(&d.join("mnt"), "60m") else {
        eprintln!("cannot mount a tmpfs here: skipping");
        return;
    };
    // addition: a 38 MB checkpoint and a 13 MB model; 51 MB fit in 60 MB, the peak does not.
    let addition = |out: &str, extra: &[&str]| {
        indu(d)
            .args(["train", "--task", "addition", "--steps", "4", "--quiet"])
            .args(["--set", "train.checkpoint_every=1", "--set"])
            .args(["train.batch_size=4", "--set", "train.eval_every=2"])
            .args(["--set", "train.eval_size=16", "--out", out])
            .args(extra)
            .output()
            .unwrap()
    };
    let out = addition("mnt/run", &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("disk space") && err.contains("mnt/run"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let left = snapshot(&d.join("mnt"));
    assert!(left.values().all(|e| *e == Entry::Dir), "files left behind");
    assert!(!d.join("mnt/run").exists());
    // A small run fits; forcing the big one over it is refused and changes nothing.
    assert!(train(d, "mnt/old", 5, &[]).status.success());
    indu(d)
        .args(["eval", "--run", "mnt/old", "--n", "8"])
        .assert()
        .success();
    let before = snapshot(&d.join("mnt/old"));
    let out = addition("mnt/old", &["--force"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("disk space"), "{err}");
    assert_eq!(
        snapshot(&d.join("mnt/old")),
        before,
        "the old run was changed"
    );
}
