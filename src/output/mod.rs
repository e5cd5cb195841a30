//! Writing to disk without ever leaving a half-written result: single files
//! go through a temporary file and a rename; the site is written into a
//! temporary directory beside the output, then swapped in.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

pub mod guard;
mod staging;
pub mod tree;
pub use tree::TreeWriter;

/// Writes `bytes` to `path` atomically (temp file in the same directory,
/// fsync, rename, fsync of the directory: after a power loss the file is
/// the old one or the new one, and the rename itself is on disk — the run
/// journal relies on that). `shown` is the path used in error messages.
pub fn write_file_atomic(path: &Path, bytes: &[u8], shown: &Path) -> Result<()> {
    let (dir, name) = parent_and_name(path);
    let tmp = dir.join(temp_name(&name, "tmp", std::process::id()));
    recover(dir, &name, path);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        sync_dir(dir)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(shown, "write", e)
    })
}

/// Flushes a directory's entries (a rename or a new file in it) to disk.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    std::fs::File::open(dir)?.sync_all()
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

/// Replaces the directory `out` with exactly `files` (what
/// [`replace_dir_with`] does for a tree held in memory).
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
/// tree, `out` is left as it was; killed at any moment, `out` is the
/// previous site or the new one, complete, and what the killed build left
/// beside it (a `.NAME.tmp-PID` directory) is removed by the next build.
pub fn replace_dir_with<P, D>(
    out: &Path,
    shown: &Path,
    fill: impl FnOnce(&TreeWriter) -> Result<Then<P, D>>,
) -> Result<Then<P, D>> {
    let (parent, name) = parent_and_name(out);
    std::fs::create_dir_all(parent)
        .map_err(|e| Error::io(shown, "create the output's parent", e))?;
    recover(parent, &name, out);
    let tmp = parent.join(temp_name(&name, "tmp", std::process::id()));
    let old = parent.join(temp_name(&name, "old", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let filled = staging::create(&tmp)
        .and_then(|root| Ok((TreeWriter::create(&root, out, shown)?, root)))
        .map_err(|e| Error::io(shown, "write the site", e))
        .and_then(|(w, root)| Ok((fill(&w)?, root)));
    let result = match filled {
        Ok((Then::Publish(value), root)) => {
            swap_in(&root, out, &old, shown).map(|()| Then::Publish(value))
        }
        Ok((discard, _)) => Ok(discard),
        Err(e) => Err(e),
    };
    // The new tree if it was not swapped in, the previous site if it was.
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

/// Puts the complete tree `new` in place of `out`: atomically where the
/// system can exchange two paths (`new` then holds the previous site),
/// else with two renames and the previous site under `old` in between,
/// removed once the new site is in place.
fn swap_in(new: &Path, out: &Path, old: &Path, shown: &Path) -> Result<()> {
    if std::fs::symlink_metadata(out).is_err() {
        return std::fs::rename(new, out)
            .map_err(|e| Error::io(shown, "move the new site into place", e));
    }
    match exchange(new, out) {
        Ok(true) => return Ok(()),
        Ok(false) => {}
        Err(e) => return Err(Error::io(shown, "swap the new site into place", e)),
    }
    // No atomic exchange here: two renames, with the previous site under
    // `old` in between (which `recover` puts back after a crash).
    std::fs::rename(out, old).map_err(|e| Error::io(shown, "move the previous site aside", e))?;
    if let Err(e) = std::fs::rename(new, out) {
        let _ = std::fs::rename(old, out);
        return Err(Error::io(shown, "move the new site into place", e));
    }
    let _ = std::fs::remove_dir_all(old);
    Ok(())
}

/// The directory of `path` (`.` for a bare name) and its file name.
fn parent_and_name(path: &Path) -> (&Path, String) {
    let parent = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
    (parent, name)
}

/// `.public.tmp-123`: the name of a temporary beside `public`.
fn temp_name(name: &str, what: &str, pid: u32) -> String {
    format!(".{name}.{what}-{pid}")
}

/// Exchanges two paths atomically (Linux `renameat2(RENAME_EXCHANGE)`).
/// `Ok(false)` when the system or file system cannot.
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<bool> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        CString::new(p.as_os_str().as_bytes())
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))
    };
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: both are valid NUL-terminated paths that outlive the call.
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if r == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::ENOSYS | libc::EINVAL | libc::ENOTSUP) => Ok(false),
        _ => Err(e),
    }
}

#[cfg(not(target_os = "linux"))]
fn exchange(_: &Path, _: &Path) -> std::io::Result<bool> {
    Ok(false)
}

/// Cleans up after a process that was killed while writing `out` (named
/// `name`, in `parent`): removes the temporaries it left, and puts a
/// previous site that was moved aside back in place if no site followed.
/// Temporaries of processes that still run are theirs.
fn recover(parent: &Path, name: &str, out: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some((what, pid)) = stale(&file.to_string_lossy(), name) else {
            continue;
        };
        if pid == std::process::id() || alive(pid) {
            continue;
        }
        let path = entry.path();
        if what == "old" && std::fs::symlink_metadata(out).is_err() {
            let _ = std::fs::rename(&path, out);
        } else if entry.file_type().is_ok_and(|t| t.is_dir()) {
            let _ = std::fs::remove_dir_all(&path);
        } else {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// `(what, pid)` of `.NAME.what-PID`, the temporaries [`replace_dir_with`] makes.
fn stale(file: &str, name: &str) -> Option<(&'static str, u32)> {
    let rest = file
        .strip_prefix('.')?
        .strip_prefix(name)?
        .strip_prefix('.')?;
    let (what, pid) = rest.split_once('-')?;
    let what = ["tmp", "old"].into_iter().find(|w| *w == what)?;
    Some((what, pid.parse().ok()?))
}

/// Whether a process `pid` runs (Linux: /proc; elsewhere assume it is
/// gone: at worst a concurrent build of the same site fails and says so).
fn alive(pid: u32) -> bool {
    Path::new("/proc/self").exists() && Path::new("/proc").join(pid.to_string()).exists()
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
