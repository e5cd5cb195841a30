//! `docs run` bounded in time: a drill against a cluster whose operator
//! is played by the test must not wait out a runbook's own timeouts (two
//! hours for the restore) when the player falls short. Past the limit the
//! run is killed and the test fails with what it printed so far.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::run::Ran;

/// Reads a pipe into a shared string until it closes.
fn drain(mut from: impl Read + Send + 'static) -> Arc<Mutex<String>> {
    let text = Arc::new(Mutex::new(String::new()));
    let t = text.clone();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            t.lock()
                .expect("output")
                .push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    });
    text
}

/// Runs `cmd` to its end, within `limit`.
pub fn run_bounded(mut cmd: Command, limit: Duration) -> Ran {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start docs");
    let stdout = drain(child.stdout.take().expect("stdout"));
    let stderr = drain(child.stderr.take().expect("stderr"));
    let end = Instant::now() + limit;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for docs") {
            break s;
        }
        if Instant::now() > end {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "docs run did not end within {limit:?}\nstdout:\n{}\nstderr:\n{}",
                stdout.lock().expect("output"),
                stderr.lock().expect("output")
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // The pipes close with the process (and the steps it started).
    let text = |t: &Arc<Mutex<String>>| {
        crate::run::eventually("the end of docs' output", Duration::from_secs(10), || {
            (Arc::strong_count(t) == 1).then(|| t.lock().expect("output").clone())
        })
    };
    Ran {
        code: status.code().unwrap_or(-1),
        stdout: text(&stdout),
        stderr: text(&stderr),
    }
}
