//! The run lock that keeps two trainers out of one directory: an `flock` on `.lock` on
//! Unix (taken over when its holder died), a pid file elsewhere.
use super::RunDir;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

impl RunDir {
    /// Take the run's lock (fails if another live process holds it). On Unix this is an
    /// `flock` on `.lock`, so a lock file left by a killed process is simply taken over and
    /// two trainers started at the same instant cannot both win; the file holds the pid
    /// for the error message.
    #[cfg(unix)]
    pub fn lock_exclusive(&self) -> Result<RunLock> {
        use std::os::unix::io::AsRawFd;
        let path = self.lock();
        for _ in 0..16 {
            let mut file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(Error::io(&path))?;
            // SAFETY: flock on a file descriptor we own; no memory is passed.
            let got = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
            if !got {
                let pid = std::fs::read_to_string(&path).unwrap_or_default();
                return Err(self.in_use(pid.trim()));
            }
            // The previous holder may have removed the file between our open and flock:
            // then we locked an orphan and must try again on the new file.
            if same_file(&file, &path) {
                use std::io::Write;
                let pid = std::process::id().to_string();
                file.set_len(0)
                    .and_then(|()| file.write_all(pid.as_bytes()))
                    .map_err(Error::io(&path))?;
                return Ok(RunLock { path, _file: file });
            }
        }
        Err(self.in_use("unknown"))
    }

    /// Take the run's lock (fails if another live process holds it).
    #[cfg(not(unix))]
    pub fn lock_exclusive(&self) -> Result<RunLock> {
        let path = self.lock();
        if let Ok(text) = std::fs::read_to_string(&path) {
            let pid: u32 = text.trim().parse().unwrap_or(0);
            if pid != 0 && pid != std::process::id() {
                return Err(self.in_use(&pid.to_string()));
            }
        }
        let tmp = crate::report::temp_path(&path);
        std::fs::write(&tmp, std::process::id().to_string()).map_err(Error::io(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(Error::io(&path))?;
        Ok(RunLock { path })
    }

    fn in_use(&self, pid: &str) -> Error {
        Error::Invalid(format!(
            "{} is in use by another indu process (pid {pid}); wait for it to finish",
            self.path.display()
        ))
    }
}

/// A held run lock; removed on drop (and released by the OS if the process dies).
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
    #[cfg(unix)]
    _file: std::fs::File,
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Whether the open `file` is still the file at `path` (same device and inode).
#[cfg(unix)]
fn same_file(file: &std::fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}
