//! Shell steps: `bash -euo pipefail` in the repository root, in a process
//! group of their own (so that Ctrl-C, a timeout or an abort stops the
//! whole pipeline, not just bash), with `KUBECONFIG` pointing at the
//! run's pinned kubeconfig (so `kubectl` talks to the run's cluster and
//! context, whatever the user's current context says). Output is streamed
//! line by line, as it comes, and captured.
//!
//! The script reaches bash through a pipe (`bash -euo pipefail /dev/fd/3`),
//! never on its command line: a rendered secret variable would be readable
//! by every user of the machine in `ps` and `/proc/PID/cmdline`. Its stdin
//! stays free for the script's own use (`kubectl exec -i … <<EOF`).
//!
//! The step's group never outlives `docs`: bash dies with it
//! (`PR_SET_PDEATHSIG`), and a guard process — outside the group, holding
//! the read end of a pipe only `docs` writes to — kills the whole group
//! when that pipe closes without a "done" (a `kill -9`, a crash, or the
//! immediate exit of a second Ctrl-C, which also kills it itself).

use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::process::Stdio;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio::sync::{mpsc, watch};

/// How a shell step ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    Exited(i32),
    /// Killed by a signal (not ours).
    Signalled(i32),
    /// Stopped by us: Ctrl-C or an abort.
    Interrupted,
    TimedOut,
}

/// Time between SIGTERM and SIGKILL when stopping a step.
const GRACE: Duration = Duration::from_secs(2);

/// The descriptor bash reads the script from.
const SCRIPT_FD: i32 = 3;

/// The process group of the running shell step (0: none), for the exit of
/// a second Ctrl-C, which cannot wait for [`run`] to stop it.
static RUNNING_GROUP: AtomicI32 = AtomicI32::new(0);

/// Kills the running shell step's whole group at once (SIGKILL).
pub fn kill_running() {
    let pgid = RUNNING_GROUP.load(Ordering::SeqCst);
    if pgid > 0 {
        // SAFETY: a plain syscall on a process group we created.
        unsafe {
            libc::killpg(pgid, libc::SIGKILL);
        }
    }
}

/// The guard: reads one line; anything but "done" (end of file when
/// `docs` is gone) kills the step's group. It needs nothing but `sh`,
/// and runs in a group of its own, so that the terminal's Ctrl-C (meant
/// for `docs`) does not reach it.
const GUARD: &str =
    "read -r line; [ \"$line\" = done ] || kill -s KILL -- \"-$1\" 2>/dev/null; exit 0";

pub async fn run(
    script: &str,
    cwd: &Path,
    kubeconfig: &Path,
    timeout: Option<Duration>,
    mut stop: watch::Receiver<bool>,
    on_line: &mut (dyn FnMut(&str) + Send),
) -> std::io::Result<Ended> {
    let (script_r, script_w) = pipe()?;
    // Above the standard descriptors, whatever this process has closed.
    let script_r = above_stdio(script_r)?;
    let read_fd = script_r.as_raw_fd();
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    let mut cmd = Command::new("bash");
    cmd.args(["-euo", "pipefail"])
        .arg(format!("/dev/fd/{SCRIPT_FD}"))
        .current_dir(cwd)
        .env("KUBECONFIG", kubeconfig)
        .env("DOCS_RUN", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // `docs` died before the line above: die now, not never.
            if libc::getppid() != parent {
                libc::_exit(137);
            }
            if libc::dup2(read_fd, SCRIPT_FD) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    drop(script_r);
    let pid = child.id().map(|p| p as i32);
    let guard = pid.map(guard).transpose()?;
    if let Some(pid) = pid {
        RUNNING_GROUP.store(pid, Ordering::SeqCst);
    }
    // Bash closes its inherited copy first thing (it reads the script
    // through a descriptor of its own), so that the step's commands do
    // not inherit the pipe. On the same line: line numbers stay right.
    let text = format!("exec {SCRIPT_FD}<&- ; {script}");
    std::thread::spawn(move || {
        let mut w = std::fs::File::from(script_w);
        // A script bash stopped reading (it exited) is no error of ours.
        let _ = w.write_all(text.as_bytes());
    });
    let ended = stream(&mut child, pid, timeout, &mut stop, on_line).await;
    RUNNING_GROUP.store(0, Ordering::SeqCst);
    if let Some((mut guard, mut tell)) = guard {
        let _ = tell.write_all(b"done\n");
        drop(tell);
        let _ = guard.wait().await;
    }
    ended
}

/// A close-on-exec copy of `fd` numbered 10 or above: the child's
/// standard descriptors and [`SCRIPT_FD`] are set up over low numbers.
fn above_stdio(fd: OwnedFd) -> std::io::Result<OwnedFd> {
    use std::os::fd::FromRawFd;
    // SAFETY: F_DUPFD_CLOEXEC returns a new descriptor we then own.
    let n = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 10) };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(unsafe { OwnedFd::from_raw_fd(n) })
}

/// Starts the guard of group `pgid`; returns it and the pipe it watches.
fn guard(pgid: i32) -> std::io::Result<(tokio::process::Child, std::fs::File)> {
    let (r, w) = pipe()?;
    let child = Command::new("sh")
        .args(["-c", GUARD, "docs-run-guard", &pgid.to_string()])
        .stdin(Stdio::from(r))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()?;
    Ok((child, std::fs::File::from(w)))
}

/// A pipe, both ends close-on-exec: (read, write).
fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    use std::os::fd::FromRawFd;
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills two new descriptors, which we then own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Streams the output of a started step until it ends, is stopped or
/// times out.
async fn stream(
    child: &mut tokio::process::Child,
    pid: Option<i32>,
    timeout: Option<Duration>,
    stop: &mut watch::Receiver<bool>,
    on_line: &mut (dyn FnMut(&str) + Send),
) -> std::io::Result<Ended> {
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    for reader in [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn tokio::io::AsyncRead + Unpin + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let tx = tx.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(reader).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);
    let deadline = async {
        match timeout {
            Some(t) => tokio::time::sleep(t).await,
            None => std::future::pending().await,
        }
    };
    tokio::pin!(deadline);
    let mut open = true;
    let ended = loop {
        tokio::select! {
            line = rx.recv(), if open => match line {
                Some(l) => on_line(&l),
                None => open = false,
            },
            status = child.wait() => {
                // Drain what the pipes still hold.
                while let Some(l) = rx.recv().await {
                    on_line(&l);
                }
                let status = status?;
                break match (status.code(), std::os::unix::process::ExitStatusExt::signal(&status)) {
                    (Some(c), _) => Ended::Exited(c),
                    (None, Some(s)) => Ended::Signalled(s),
                    (None, None) => Ended::Exited(-1),
                };
            }
            _ = stop.changed() => {
                if *stop.borrow() {
                    kill_group(pid, child).await;
                    break Ended::Interrupted;
                }
            }
            _ = &mut deadline => {
                kill_group(pid, child).await;
                break Ended::TimedOut;
            }
        }
    };
    Ok(ended)
}

/// SIGTERM to the whole group, then SIGKILL after a grace period.
async fn kill_group(pid: Option<i32>, child: &mut tokio::process::Child) {
    if let Some(pid) = pid {
        // SAFETY: plain syscalls on a process group we created.
        unsafe {
            libc::killpg(pid, libc::SIGTERM);
        }
        if tokio::time::timeout(GRACE, child.wait()).await.is_err() {
            unsafe {
                libc::killpg(pid, libc::SIGKILL);
            }
        }
        // Children of the group that outlive bash get the KILL too.
        unsafe {
            libc::killpg(pid, libc::SIGKILL);
        }
    }
    let _ = child.wait().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn sh(script: &str, timeout: Option<Duration>) -> (Ended, Vec<String>) {
        let (_tx, rx) = watch::channel(false);
        let mut lines = Vec::new();
        let ended = run(
            script,
            Path::new("."),
            Path::new("/nonexistent"),
            timeout,
            rx,
            &mut |l| lines.push(l.to_string()),
        )
        .await
        .unwrap();
        (ended, lines)
    }

    #[tokio::test]
    async fn streams_output_and_exit_codes_with_strict_bash() {
        let (e, lines) = sh("echo one; echo two >&2; echo $KUBECONFIG", None).await;
        assert_eq!(e, Ended::Exited(0));
        assert!(lines.contains(&"one".to_string()) && lines.contains(&"two".to_string()));
        assert!(lines.contains(&"/nonexistent".to_string()), "{lines:?}");
        let (e, _) = sh("false | true; echo unreachable-with-pipefail", None).await;
        assert_eq!(e, Ended::Exited(1), "pipefail");
        let (e, _) = sh("echo $UNSET_VARIABLE_X", None).await;
        assert_ne!(e, Ended::Exited(0), "nounset");
    }

    #[tokio::test]
    async fn a_timeout_stops_the_whole_group() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("survived");
        let script = format!("(sleep 1; touch {}) & sleep 30", marker.display());
        let (e, _) = sh(&script, Some(Duration::from_millis(200))).await;
        assert_eq!(e, Ended::TimedOut);
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(
            !marker.exists(),
            "the background child was killed with the group"
        );
    }

    #[tokio::test]
    async fn stop_interrupts() {
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(async move {
            run(
                "sleep 30",
                Path::new("."),
                Path::new("/x"),
                None,
                rx,
                &mut |_| {},
            )
            .await
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        tx.send(true).unwrap();
        assert_eq!(task.await.unwrap().unwrap(), Ended::Interrupted);
    }

    #[tokio::test]
    async fn a_script_larger_than_a_pipe_runs_whole_with_stdin_free() {
        // 200 KiB of script: more than a pipe holds at once.
        let script = format!(
            "{}\necho \"stdin: $(cat | wc -c)\"\nls /proc/$$/fd | grep -qx 3 || echo no-script-fd\necho end",
            ": padding-line-of-forty-bytes-xxxxxxxx\n".repeat(5000)
        );
        let (e, lines) = sh(&script, None).await;
        assert_eq!(e, Ended::Exited(0), "{lines:?}");
        assert_eq!(lines, ["stdin: 0", "no-script-fd", "end"]);
    }
}
