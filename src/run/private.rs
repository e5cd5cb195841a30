//! The run's private directory (`$TMPDIR/docs-run-<pid>-XXXXXX`, mode
//! 0700): it holds the pinned kubeconfig of the shell steps, with the
//! user's bearer token or key in it. A normal end removes it; so does the
//! immediate exit of a second Ctrl-C. A `kill -9` cannot: every run first
//! sweeps the directories that runs of this user on this machine left
//! behind, once their process is gone — each records its owner (host,
//! pid, the process's start time, so a reused pid is not taken for it).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

const PREFIX: &str = "docs-run-";
const OWNER: &str = "owner";

/// Sweeps what dead runs left, then creates this run's directory.
pub fn create() -> std::io::Result<TempDir> {
    let base = std::env::temp_dir();
    sweep(&base);
    let pid = std::process::id();
    let dir = tempfile::Builder::new()
        .prefix(&format!("{PREFIX}{pid}-"))
        .tempdir_in(&base)?;
    let owner = identity(pid).unwrap_or_default();
    std::fs::write(dir.path().join(OWNER), owner)?;
    Ok(dir)
}

/// Removes the directories of `base` that a run of this user on this
/// machine left behind, its process gone. Returns what it removed.
pub fn sweep(base: &Path) -> Vec<PathBuf> {
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(base) else {
        return removed;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(pid) = entry.file_name().to_str().and_then(named_pid) else {
            continue;
        };
        let ours = path
            .symlink_metadata()
            .is_ok_and(|m| m.is_dir() && m.uid() == uid);
        // No owner file yet: a run is creating it right now.
        let Ok(owner) = std::fs::read_to_string(path.join(OWNER)) else {
            continue;
        };
        if !ours || !owner_gone(&owner, pid) {
            continue;
        }
        if std::fs::remove_dir_all(&path).is_ok() {
            removed.push(path);
        }
    }
    removed
}

/// The pid of a directory named `docs-run-<pid>-…`.
fn named_pid(name: &str) -> Option<u32> {
    let (pid, _) = name.strip_prefix(PREFIX)?.split_once('-')?;
    if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    pid.parse().ok()
}

/// `host pid start-time`: who owns a directory.
fn identity(pid: u32) -> Option<String> {
    Some(format!(
        "{} {pid} {}",
        super::preflight::hostname(),
        start_time(pid)?
    ))
}

/// Whether the process that wrote `owner` is gone: it was on this machine
/// (another container's pids mean nothing here) and the pid now names no
/// live process, or another one (a different start time).
fn owner_gone(owner: &str, pid: u32) -> bool {
    let mut words = owner.split_whitespace();
    let (Some(host), Some(p), Some(started)) = (words.next(), words.next(), words.next()) else {
        return false;
    };
    if host != super::preflight::hostname() || p != pid.to_string() {
        return false;
    }
    start_time(pid).is_none_or(|now| now != started)
}

/// A live process's start time (field 22 of `/proc/PID/stat`), `None`
/// when there is no such process or only its zombie.
fn start_time(pid: u32) -> Option<String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces: count after its `)`.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (the state).
    if matches!(fields.first(), Some(&"Z" | &"X")) {
        return None;
    }
    fields.get(19).map(|s| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sweeps_only_what_a_gone_run_of_this_machine_left() {
        let base = tempfile::tempdir().unwrap();
        let me = std::process::id();
        let host = super::super::preflight::hostname();
        let make = |name: &str, owner: Option<&str>| {
            let d = base.path().join(name);
            std::fs::create_dir(&d).unwrap();
            if let Some(o) = owner {
                std::fs::write(d.join(OWNER), o).unwrap();
            }
            d
        };
        // A pid no process has (above the kernel's maximum).
        let dead = 4_194_305u32;
        let gone = make(
            &format!("docs-run-{dead}-abc"),
            Some(&format!("{host} {dead} 12345")),
        );
        let live = make(&format!("docs-run-{me}-abc"), Some(&identity(me).unwrap()));
        let reused = make(
            &format!("docs-run-{me}-def"),
            Some(&format!("{host} {me} 1")),
        );
        let elsewhere = make(
            &format!("docs-run-{dead}-ghi"),
            Some(&format!("another-host {dead} 12345")),
        );
        let creating = make(&format!("docs-run-{dead}-jkl"), None);
        let foreign = make("docs-run-kube-xyz", Some(&format!("{host} {dead} 1")));
        let removed = sweep(base.path());
        assert_eq!(removed.len(), 2, "{removed:?}");
        assert!(!gone.exists() && !reused.exists());
        for kept in [live, elsewhere, creating, foreign] {
            assert!(kept.exists(), "{} was kept", kept.display());
        }
    }
}
