//! Shell steps: `bash -euo pipefail` in the repository root, in a process
//! group of their own (so that Ctrl-C, a timeout or an abort stops the
//! whole pipeline, not just bash), with `KUBECONFIG` pointing at the
//! run's pinned kubeconfig (so `kubectl` talks to the run's cluster and
//! context, whatever the user's current context says). Output is streamed
//! line by line, as it comes, and captured.

use std::path::Path;
use std::process::Stdio;
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

pub async fn run(
    script: &str,
    cwd: &Path,
    kubeconfig: &Path,
    timeout: Option<Duration>,
    mut stop: watch::Receiver<bool>,
    on_line: &mut (dyn FnMut(&str) + Send),
) -> std::io::Result<Ended> {
    let mut child = Command::new("bash")
        .args(["-euo", "pipefail", "-c", script])
        .current_dir(cwd)
        .env("KUBECONFIG", kubeconfig)
        .env("DOCS_RUN", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()?;
    let pid = child.id().map(|p| p as i32);
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
                    kill_group(pid, &mut child).await;
                    break Ended::Interrupted;
                }
            }
            _ = &mut deadline => {
                kill_group(pid, &mut child).await;
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
}
