//! Writing to disk without ever leaving a half-written result: single files
//! go through a temporary file and a rename; the site is written into a
//! temporary directory beside the output, then swapped in.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

pub mod tree;
pub use tree::TreeWriter;

/// Writes `bytes` to `path` atomically (temp file in the same directory,
/// fsync, rename). `shown` is the path used in error messages.
pub fn write_file_atomic(path: &Path, bytes: &[u8], shown: &Path) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(shown, "write", e)
    })
}

/// Writes `text` to `path` (atomically) unless the file already holds it.
/// Returns whether it wrote.
pub fn write_if_changed(path: &Path, text: &str, shown: &Path) -> Result<bool> {
    if std::fs::read(path).is_ok_and(|old| old == text.as_bytes()) {
        return Ok(false);
    }
    write_file_atomic(path, text.as_bytes(), shown)?;
    Ok(true)
}

/// Replaces the directory `out` with exactly `files`. On failure `out` is
/// left as it was. (`docs build` streams its pages through
/// [`replace_dir_with`] instead; this is for a tree held in memory.)
#[cfg_attr(not(test), allow(dead_code))]
pub fn replace_dir(out: &Path, files: &BTreeMap<String, Vec<u8>>, shown: &Path) -> Result<()> {
    replace_dir_with(out, shown, |w| {
        w.write_all(files)?;
        Ok(Then::<(), ()>::Publish(()))
    })
    .map(|_| ())
}

/// What the `fill` of [`replace_dir_with`] decided, with what it returns.
pub enum Then<P, D> {
    /// Swap the new tree in.
    Publish(P),
    /// Leave `out` as it was; the new tree is removed.
    Discard(D),
}

/// Replaces the directory `out` with what `fill` writes into the
/// [`TreeWriter`] it is given (a temporary directory beside `out`), if
/// `fill` says to publish it. On failure, or if `fill` discards the new
/// tree, `out` is left as it was.
pub fn replace_dir_with<P, D>(
    out: &Path,
    shown: &Path,
    fill: impl FnOnce(&TreeWriter) -> Result<Then<P, D>>,
) -> Result<Then<P, D>> {
    let parent = out
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "public".into());
    std::fs::create_dir_all(parent)
        .map_err(|e| Error::io(shown, "create the output's parent", e))?;
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let old = parent.join(format!(".{name}.old-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let filled = TreeWriter::create(&tmp, out, shown)
        .map_err(|e| Error::io(shown, "write the site", e))
        .and_then(|w| fill(&w));
    let value = match filled {
        Ok(Then::Publish(value)) => value,
        other => {
            let _ = std::fs::remove_dir_all(&tmp);
            return other;
        }
    };
    let had_old = out.exists();
    if had_old {
        if let Err(e) = std::fs::rename(out, &old) {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(Error::io(shown, "move the previous site aside", e));
        }
    }
    if let Err(e) = std::fs::rename(&tmp, out) {
        // Put the previous site back.
        if had_old {
            let _ = std::fs::rename(&old, out);
        }
        let _ = std::fs::remove_dir_all(&tmp);
        return Err(Error::io(shown, "move the new site into place", e));
    }
    if had_old {
        let _ = std::fs::remove_dir_all(&old);
    }
    Ok(Then::Publish(value))
}

fn same_content(path: &Path, bytes: &[u8]) -> bool {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_file() && m.len() == bytes.len() as u64 => {
            std::fs::read(path).is_ok_and(|old| old == bytes)
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_dir_swaps_and_leaves_no_temporaries() {
        let t = tempdir("swap");
        let t = t.path();
        let out = t.join("public");
        let mut files = BTreeMap::new();
        files.insert("a/b.html".to_string(), b"one".to_vec());
        replace_dir(&out, &files, Path::new("public")).unwrap();
        files.clear();
        files.insert("c.html".to_string(), b"two".to_vec());
        replace_dir(&out, &files, Path::new("public")).unwrap();
        assert!(!out.join("a/b.html").exists(), "stale files are gone");
        assert_eq!(std::fs::read(out.join("c.html")).unwrap(), b"two");
        let names: Vec<_> = std::fs::read_dir(t)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("public")]);
    }

    #[test]
    fn unchanged_files_are_linked_changed_files_rewritten() {
        use std::os::unix::fs::MetadataExt;
        let t = tempdir("link");
        let t = t.path();
        let out = t.join("public");
        let mut files = BTreeMap::new();
        files.insert("same.html".to_string(), b"same".to_vec());
        files.insert("edit.html".to_string(), b"v1".to_vec());
        replace_dir(&out, &files, Path::new("public")).unwrap();
        let same_ino = std::fs::metadata(out.join("same.html")).unwrap().ino();
        files.insert("edit.html".to_string(), b"v2".to_vec());
        replace_dir(&out, &files, Path::new("public")).unwrap();
        assert_eq!(
            std::fs::metadata(out.join("same.html")).unwrap().ino(),
            same_ino
        );
        assert_eq!(std::fs::read(out.join("edit.html")).unwrap(), b"v2");
        assert_eq!(std::fs::read(out.join("same.html")).unwrap(), b"same");
    }

    #[test]
    fn atomic_file_write_replaces_content() {
        let t = tempdir("file");
        let t = t.path();
        let p = t.join("CLAUDE.md");
        write_file_atomic(&p, b"a", Path::new("CLAUDE.md")).unwrap();
        write_file_atomic(&p, b"b", Path::new("CLAUDE.md")).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"b");
        assert_eq!(std::fs::read_dir(t).unwrap().count(), 1);
        assert!(!write_if_changed(&p, "b", Path::new("CLAUDE.md")).unwrap());
        assert!(write_if_changed(&p, "c", Path::new("CLAUDE.md")).unwrap());
    }

    fn tempdir(_: &str) -> tempfile::TempDir {
        tempfile::tempdir().unwrap()
    }
}
