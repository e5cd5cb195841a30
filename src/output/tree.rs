//! The files of a new site, written into the temporary directory that
//! [`super::replace_dir_with`] swaps in: one at a time from any thread, so
//! that `docs build` writes each page as soon as it is rendered instead of
//! holding the whole site in memory.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rayon::prelude::*;

use crate::error::{Error, Result};

/// Writes files under `dir`. A file whose bytes equal those already in
/// `previous` is hard-linked from there instead of written: rebuilding after
/// a small edit then creates only the files that changed (the previous site
/// is never modified, so the swap stays atomic).
pub struct TreeWriter {
    dir: PathBuf,
    previous: PathBuf,
    /// The output as messages name it.
    shown: PathBuf,
    /// Directories made so far under `dir`.
    made: Mutex<HashSet<PathBuf>>,
}

impl TreeWriter {
    /// A writer into `dir`, which it creates.
    pub(super) fn create(dir: &Path, previous: &Path, shown: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(TreeWriter {
            dir: dir.to_path_buf(),
            previous: previous.to_path_buf(),
            shown: shown.to_path_buf(),
            made: Mutex::new(HashSet::new()),
        })
    }

    /// Writes the file at site-relative path `rel`, making its directory.
    /// Each path is written once. An error names the file in the output.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> Result<()> {
        self.write_io(rel, bytes)
            .map_err(|e| Error::io(&self.shown.join(rel), "write", e))
    }

    /// Writes every file of `files`, on all cores (file creation is mostly
    /// kernel time).
    pub fn write_all(&self, files: &BTreeMap<String, Vec<u8>>) -> Result<()> {
        files
            .par_iter()
            .try_for_each(|(rel, bytes)| self.write(rel, bytes))
    }

    fn write_io(&self, rel: &str, bytes: &[u8]) -> std::io::Result<()> {
        let target = self.dir.join(rel);
        if let Some(parent) = target.parent().filter(|p| *p != self.dir) {
            let mut made = self.made.lock().unwrap_or_else(|e| e.into_inner());
            if !made.contains(parent) {
                std::fs::create_dir_all(parent)?;
                made.insert(parent.to_path_buf());
            }
        }
        let old = self.previous.join(rel);
        if super::same_content(&old, bytes) && std::fs::hard_link(&old, &target).is_ok() {
            return Ok(());
        }
        std::fs::write(target, bytes)
    }
}
