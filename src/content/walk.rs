//! Walking a directory of the repository the same way for content, theme
//! files and manifests: sorted, `/`-separated relative paths, without the
//! files editors and the OS leave behind, and never following a symlink
//! out of a directory whose files are published.

use std::path::{Path, PathBuf};

use crate::error::{Error, Location, Result};

/// Whether a file name is one that editors and the OS leave behind
/// (swap files, backups, `.DS_Store`); such files are never content.
pub fn is_ignored_name(name: &str) -> bool {
    name.starts_with('.')
        || name.starts_with('#')
        || name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.ends_with(".tmp")
}

/// Every file under `dir`, as sorted `/`-separated relative paths, without
/// the names editors and the OS leave behind. Symlinks are followed; with
/// `contain`, only while they stay inside `dir` (the site never publishes
/// a file from elsewhere on the disk). `shown` is `dir` as messages name it.
pub fn list_files(dir: &Path, shown: &Path, contain: bool) -> Result<Vec<String>> {
    let root = if contain {
        Some(std::fs::canonicalize(dir).map_err(|e| Error::io(shown, "resolve", e))?)
    } else {
        None
    };
    let mut files = Vec::new();
    walk(dir, "", &mut files, shown, root.as_deref())?;
    Ok(files)
}

fn walk(
    dir: &Path,
    prefix: &str,
    out: &mut Vec<String>,
    shown: &Path,
    root: Option<&Path>,
) -> Result<()> {
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::io(&shown.join(prefix), "read the directory", e))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(&shown.join(prefix), "read the directory", e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_ignored_name(&name) {
            continue;
        }
        let kind = entry
            .file_type()
            .map_err(|e| Error::io(&shown.join(prefix).join(&name), "stat", e))?;
        let is_dir = if let (true, Some(root)) = (kind.is_symlink(), root) {
            let target = std::fs::canonicalize(entry.path())
                .map_err(|e| Error::io(&shown.join(prefix).join(&name), "follow the symlink", e))?;
            if !target.starts_with(root) {
                return Err(Error::at(
                    Location::file(shown.join(prefix).join(&name)),
                    format!(
                        "a symlink to a file outside {} ({}); copy the file in instead",
                        shown.display(),
                        target.display()
                    ),
                ));
            }
            target.is_dir()
        } else if kind.is_symlink() {
            entry.path().is_dir()
        } else {
            kind.is_dir()
        };
        names.push((name, is_dir));
    }
    names.sort();
    for (name, is_dir) in names {
        let rel = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        if is_dir {
            walk(&dir.join(&name), &rel, out, shown, root)?;
        } else {
            out.push(rel);
        }
    }
    Ok(())
}

/// Reads a file of the content directory, refusing a symlink that leads
/// outside it: the site never publishes a file from elsewhere on the disk.
pub fn read_inside(content_root: &Path, rel: &str, content_dir: &Path) -> Result<Vec<u8>> {
    Inside::new(content_root, content_dir)?.read(rel)
}

/// The content directory resolved once, to read many files of it as
/// [`read_inside`] does (resolving it again per file was a fifth of
/// loading a 5000-page site).
pub struct Inside<'a> {
    dir: &'a Path,
    /// `dir` with symlinks resolved.
    root: PathBuf,
    /// `dir` as messages name it.
    shown: &'a Path,
}

impl<'a> Inside<'a> {
    pub fn new(content_root: &'a Path, content_dir: &'a Path) -> Result<Self> {
        let root = std::fs::canonicalize(content_root)
            .map_err(|e| Error::io(content_dir, "resolve", e))?;
        Ok(Inside {
            dir: content_root,
            root,
            shown: content_dir,
        })
    }

    /// The bytes of `rel`, if it resolves to a file inside the directory.
    pub fn read(&self, rel: &str) -> Result<Vec<u8>> {
        let shown = self.shown.join(rel);
        let target =
            std::fs::canonicalize(self.dir.join(rel)).map_err(|e| Error::io(&shown, "read", e))?;
        if !target.starts_with(&self.root) {
            return Err(Error::at(
                Location::file(&shown),
                format!(
                    "a symlink to a file outside {} ({}); copy the file in instead",
                    self.shown.display(),
                    target.display()
                ),
            ));
        }
        std::fs::read(&target).map_err(|e| Error::io(&shown, "read", e))
    }
}
