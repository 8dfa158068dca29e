//! Private temporary directories on disk for one helm run (values files, the chart copied out of
//! the build's file system, helm's config home), removed when dropped.
//!
//! Directories are created `0700`: the values files inside may hold secrets.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::fs::{EntryKind, FileSystem};

/// A directory that is removed (with its contents) when dropped.
#[derive(Debug)]
pub(crate) struct ScratchDir {
    path: PathBuf,
}

impl ScratchDir {
    /// A fresh directory under the system's temporary directory.
    pub(crate) fn new(prefix: &str) -> std::io::Result<ScratchDir> {
        Self::new_in(&std::env::temp_dir(), prefix)
    }

    /// A fresh directory under `parent` (which is created if missing).
    pub(crate) fn new_in(parent: &Path, prefix: &str) -> std::io::Result<ScratchDir> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        std::fs::create_dir_all(parent)?;
        loop {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let n = COUNTER.fetch_add(1, Ordering::Relaxed);
            let path = parent.join(format!("{prefix}{}-{n}-{nanos:08x}", std::process::id()));
            match private_dir_builder().create(&path) {
                Ok(()) => return Ok(ScratchDir { path }),
                Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(err) => return Err(err),
            }
        }
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Gives the directory up: it is no longer removed on drop.
    pub(crate) fn keep(self) -> PathBuf {
        let path = self.path.clone();
        std::mem::forget(self);
        path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

fn private_dir_builder() -> std::fs::DirBuilder {
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder
}

/// Writes `bytes` to `path`, readable by the owner only.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    std::io::Write::write_all(&mut options.open(path)?, bytes)
}

/// Why a directory could not be copied out of the build's file system.
#[derive(Debug)]
pub(crate) enum CopyError {
    Fs(crate::fs::FsError),
    Io(std::io::Error),
    TooLarge,
    TooDeep,
}

/// How deep a chart's directories may nest (a symlink to an ancestor would nest forever).
const MAX_DEPTH: usize = 32;

/// Copies the directory `dir` of `fs` to `target` on disk, reading every file through `fs` (so a
/// recording file system sees the chart in the read set). At most `max_bytes` are copied.
pub(crate) fn copy_out(
    fs: &dyn FileSystem,
    dir: &str,
    target: &Path,
    max_bytes: u64,
) -> Result<(), CopyError> {
    let mut copied = 0;
    copy_dir(fs, dir, target, max_bytes, &mut copied, 0)
}

fn copy_dir(
    fs: &dyn FileSystem,
    dir: &str,
    target: &Path,
    max_bytes: u64,
    copied: &mut u64,
    depth: usize,
) -> Result<(), CopyError> {
    if depth > MAX_DEPTH {
        return Err(CopyError::TooDeep);
    }
    private_dir_builder().recursive(true).create(target).map_err(CopyError::Io)?;
    for entry in fs.read_dir(dir).map_err(CopyError::Fs)? {
        let path = crate::fs::child(dir, &entry.name);
        let destination = target.join(&entry.name);
        match entry.kind {
            EntryKind::Dir => copy_dir(fs, &path, &destination, max_bytes, copied, depth + 1)?,
            EntryKind::File => {
                let bytes = fs.read_file(&path).map_err(CopyError::Fs)?;
                *copied += bytes.len() as u64;
                if *copied > max_bytes {
                    return Err(CopyError::TooLarge);
                }
                std::fs::write(&destination, bytes).map_err(CopyError::Io)?;
            }
        }
    }
    Ok(())
}

/// The total size of the files below `dir` on disk, stopping once it passes `max_bytes`.
pub(crate) fn disk_size(dir: &Path, max_bytes: u64) -> std::io::Result<u64> {
    let mut total = 0;
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                pending.push(entry.path());
            } else {
                total += entry.metadata()?.len();
                if total > max_bytes {
                    return Ok(total);
                }
            }
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::{MemoryFs, RecordingFs};

    #[test]
    fn copies_a_tree_through_the_file_system_and_cleans_up() {
        let fs = RecordingFs::new(
            MemoryFs::new()
                .with("charts/demo/Chart.yaml", "name: demo\n")
                .with("charts/demo/templates/a.yaml", "kind: A\n"),
        );
        let scratch = ScratchDir::new("kustomize-test-").unwrap();
        let kept = scratch.path().to_path_buf();
        copy_out(&fs, "charts/demo", &scratch.path().join("demo"), 1000).unwrap();
        assert_eq!(
            std::fs::read_to_string(scratch.path().join("demo/templates/a.yaml")).unwrap(),
            "kind: A\n"
        );
        assert!(fs.read_set().contains("charts/demo/templates/a.yaml"));
        assert_eq!(disk_size(scratch.path(), 1000).unwrap(), 19);
        assert!(matches!(
            copy_out(&fs, "charts/demo", &scratch.path().join("again"), 10),
            Err(CopyError::TooLarge)
        ));
        drop(scratch);
        assert!(!kept.exists());
    }
}
