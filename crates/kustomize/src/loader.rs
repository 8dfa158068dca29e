//! Finding and reading what a kustomization names: its own file, resource files, nested
//! kustomization directories, generator inputs, configuration files.
//!
//! It enforces kustomize's load restrictor: with `RootOnly` (kustomize's default) a file must lie
//! in or below the directory of the kustomization that names it, while other kustomization
//! directories may be anywhere in the file system's root; `None` (Flux's setting) allows any
//! file in the root. As in kustomize, both sides are compared after following symlinks: a
//! kustomization's directory is its real (canonical) directory, the one its relative entries
//! are resolved from, and a file is checked where its links lead — so `pw -> ../../.git/config`
//! is refused however it is spelled. Nothing outside the file system's root is ever reachable
//! (the file systems refuse it, whatever the restrictor). Remote targets (git URLs, http(s)
//! files) are not its business: the build hands them to a `remote::RemoteLoader`, since this
//! crate never touches the network.
//!
//! Every access goes through the `FileSystem`, so a `RecordingFs` sees the whole read set.

use crate::error::BuildError;
use crate::fs::{self, EntryKind, FileSystem, FsError};
use crate::kustomization::{self, Kustomization};
use crate::value::Value;
use crate::yaml;

/// kustomize's recognised kustomization file names, in its lookup order.
pub const KUSTOMIZATION_FILE_NAMES: [&str; 3] =
    ["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Where files named by a kustomization may live.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LoadRestrictor {
    /// Files must be in or below the kustomization's directory (kustomize's default).
    #[default]
    RootOnly,
    /// Any file in the file system's root.
    None,
}

/// What a kustomization entry names on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    File(String),
    Dir(String),
}

/// Reads on behalf of kustomizations, applying the restrictor.
#[derive(Clone, Copy, Debug)]
pub struct Loader<'a> {
    pub fs: &'a dyn FileSystem,
    pub restrictor: LoadRestrictor,
}

impl<'a> Loader<'a> {
    pub fn new(fs: &'a dyn FileSystem, restrictor: LoadRestrictor) -> Loader<'a> {
        Loader { fs, restrictor }
    }

    /// The real directory of the kustomization directory `dir` (symlinks followed), which its
    /// entries are resolved from and its files must lie in; `dir` itself when nothing is there
    /// (loading it then fails, naming `dir`).
    pub fn real_dir(&self, dir: &str) -> Result<String, BuildError> {
        Ok(self
            .fs
            .real_path(dir)
            .map_err(|e| BuildError::fs(dir, e))?
            .unwrap_or_else(|| dir.to_owned()))
    }

    /// Finds and parses the kustomization file of the real directory `dir`.
    ///
    /// Under `RootOnly`, a kustomization file that is a symlink leading out of `dir` counts as
    /// absent, as in kustomize (which loads it through the restrictor).
    pub fn load_kustomization(&self, dir: &str) -> Result<Kustomization, BuildError> {
        let mut found = Vec::new();
        for name in KUSTOMIZATION_FILE_NAMES {
            let path = fs::join(dir, name).map_err(|e| BuildError::fs(dir, e))?;
            let kind = match self.fs.kind(&path) {
                Err(FsError::OutsideRoot { .. }) if self.restrictor == LoadRestrictor::RootOnly => {
                    None
                }
                other => other.map_err(|e| BuildError::fs(&path, e))?,
            };
            if kind == Some(EntryKind::File)
                && self.restriction_allows(dir, &path).map_err(|e| BuildError::fs(&path, e))?
            {
                found.push(path);
            }
        }
        let file = match found.len() {
            0 => return Err(BuildError::MissingKustomization { dir: display_dir(dir) }),
            1 => found.remove(0),
            _ => return Err(BuildError::MultipleKustomizations { dir: display_dir(dir) }),
        };
        let bytes = self.fs.read_file(&file).map_err(|e| BuildError::fs(&file, e))?;
        let text = std::str::from_utf8(&bytes).map_err(|_| BuildError::not_utf8(&file))?;
        let value = yaml::parse_document_last_key_wins(text, &file)
            .map_err(|e| BuildError::yaml(&file, &e))?;
        kustomization::parse(&value, &file)
    }

    /// Resolves an entry of `field` in the kustomization at the real directory `dir`: a file
    /// (restricted; its path as written, joined onto `dir`) or a directory (its real path:
    /// anywhere in the root, but never the kustomization's own directory or one above it).
    pub fn resolve(
        &self,
        dir: &str,
        file: &str,
        field: &str,
        entry: &str,
    ) -> Result<Target, BuildError> {
        let joined = fs::join(dir, entry);
        let kind = match &joined {
            Ok(path) => match self.fs.kind(path) {
                // A link out of the repository (or into `.git`) surely leaves `dir` too.
                Err(FsError::OutsideRoot { .. }) if self.restrictor == LoadRestrictor::RootOnly => {
                    return Err(self.restricted(dir, file, path));
                }
                other => other.map_err(|e| BuildError::fs(file, e))?,
            },
            Err(_) => None,
        };
        match (kind, joined) {
            (Some(EntryKind::File), Ok(path)) => {
                self.check_restriction(dir, file, &path)?;
                Ok(Target::File(path))
            }
            (Some(EntryKind::Dir), Ok(path)) => {
                let path = self.real_dir(&path)?;
                if fs::is_within(dir, &path) {
                    return Err(BuildError::Cycle {
                        file: file.to_owned(),
                        dir: display_dir(dir),
                        target: display_dir(&path),
                    });
                }
                Ok(Target::Dir(path))
            }
            _ if crate::remote::is_remote(entry) => Err(unsupported_remote(file, field, entry)),
            (_, Err(source)) => Err(BuildError::fs(file, source)),
            (_, Ok(path)) => Err(BuildError::fs(file, FsError::NotFound { path })),
        }
    }

    /// Reads a file named by the kustomization at the real directory `dir` (generator inputs,
    /// configurations, patches).
    pub fn read_restricted(
        &self,
        dir: &str,
        file: &str,
        entry: &str,
    ) -> Result<(String, Vec<u8>), BuildError> {
        let path = fs::join(dir, entry).map_err(|e| BuildError::fs(file, e))?;
        self.check_restriction(dir, file, &path)?;
        let bytes = self.fs.read_file(&path).map_err(|e| BuildError::fs(file, e))?;
        Ok((path, bytes))
    }

    /// kustomize's `RestrictionRootOnly`: the file, symlinks followed, must lie in or below the
    /// real directory `dir` (the error names the path as written, as kustomize does).
    pub(crate) fn check_restriction(
        &self,
        dir: &str,
        file: &str,
        path: &str,
    ) -> Result<(), BuildError> {
        if self.restriction_allows(dir, path).map_err(|e| BuildError::fs(file, e))? {
            return Ok(());
        }
        Err(self.restricted(dir, file, path))
    }

    fn restricted(&self, dir: &str, file: &str, path: &str) -> BuildError {
        BuildError::Restricted {
            file: file.to_owned(),
            path: path.to_owned(),
            root: display_dir(dir),
        }
    }

    /// Whether the restrictor lets the kustomization at the real directory `dir` read `path`
    /// (a path that names nothing is allowed here and fails when read).
    fn restriction_allows(&self, dir: &str, path: &str) -> Result<bool, FsError> {
        if self.restrictor == LoadRestrictor::None {
            return Ok(true);
        }
        Ok(match self.fs.real_path(path) {
            Ok(Some(real)) => fs::is_within(&real, dir),
            Ok(None) => fs::is_within(path, dir),
            // A link out of the repository (or into `.git`) surely leaves `dir` too.
            Err(FsError::OutsideRoot { .. }) => false,
            Err(err) => return Err(err),
        })
    }
}

/// Parses a file that must hold one YAML document (a kustomization, a configuration).
pub fn parse_single(bytes: &[u8], file: &str) -> Result<Value, BuildError> {
    let text = std::str::from_utf8(bytes).map_err(|_| BuildError::not_utf8(file))?;
    yaml::parse_document(text, file).map_err(|e| BuildError::yaml(file, &e))
}

/// Parses a file of one or more YAML documents.
pub fn parse_many(bytes: &[u8], file: &str) -> Result<Vec<Value>, BuildError> {
    let text = std::str::from_utf8(bytes).map_err(|_| BuildError::not_utf8(file))?;
    yaml::parse_documents(text, file).map_err(|e| BuildError::yaml(file, &e))
}

/// The refusal of a remote target when the build has no `RemoteLoader`.
pub fn unsupported_remote(file: &str, field: &str, entry: &str) -> BuildError {
    BuildError::Unsupported {
        file: file.to_owned(),
        field: field.to_owned(),
        what: format!(
            "remote target '{entry}' (no remote loader is configured: only local files and \
             directories are built)"
        ),
    }
}

pub(crate) fn display_dir(dir: &str) -> String {
    if dir.is_empty() { ".".to_owned() } else { dir.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fs::MemoryFs;

    const K: &str = "resources:\n- a.yaml\n";

    #[test]
    fn two_kustomization_files_are_an_error() {
        let fs = MemoryFs::new().with("app/kustomization.yaml", K).with("app/Kustomization", K);
        let loader = Loader::new(&fs, LoadRestrictor::RootOnly);
        assert!(matches!(
            loader.load_kustomization("app"),
            Err(BuildError::MultipleKustomizations { .. })
        ));
        assert!(matches!(
            loader.load_kustomization("other"),
            Err(BuildError::MissingKustomization { .. })
        ));
    }

    #[test]
    fn root_only_refuses_files_outside_the_kustomization() {
        let fs = MemoryFs::new()
            .with("app/kustomization.yaml", K)
            .with("shared/cm.yaml", "x: 1")
            .with("base/kustomization.yaml", K);
        let strict = Loader::new(&fs, LoadRestrictor::RootOnly);
        let file = "app/kustomization.yaml";
        assert!(matches!(
            strict.resolve("app", file, "resources", "../shared/cm.yaml"),
            Err(BuildError::Restricted { .. })
        ));
        assert_eq!(
            strict.resolve("app", file, "resources", "../base").unwrap(),
            Target::Dir("base".into())
        );
        let loose = Loader::new(&fs, LoadRestrictor::None);
        assert_eq!(
            loose.resolve("app", file, "resources", "../shared/cm.yaml").unwrap(),
            Target::File("shared/cm.yaml".into())
        );
    }

    #[test]
    fn remote_targets_and_cycles_are_refused() {
        let fs = MemoryFs::new().with("app/kustomization.yaml", K);
        let loader = Loader::new(&fs, LoadRestrictor::RootOnly);
        let file = "app/kustomization.yaml";
        assert!(matches!(
            loader.resolve("app", file, "resources", "https://github.com/x/y//z?ref=v1"),
            Err(BuildError::Unsupported { .. })
        ));
        assert!(matches!(
            loader.resolve("app", file, "resources", "."),
            Err(BuildError::Cycle { .. })
        ));
        assert!(matches!(
            loader.resolve("app", file, "resources", "missing.yaml"),
            Err(BuildError::Fs { .. })
        ));
    }
}
