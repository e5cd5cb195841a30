//! Running the real binary under conditions a shell makes: a memory
//! ceiling and its peak memory (`wait4` rusage), a pipe whose reader has
//! gone, a kill at a chosen moment.

use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Code(i32),
    Signal(i32),
}

/// The end of a process and its peak resident memory.
#[derive(Debug)]
pub struct Measured {
    pub end: End,
    pub peak_rss_mib: f64,
}

/// `docs` with `args`, colourless, in no particular directory.
pub fn docs(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_docs"));
    c.args(["--color", "never"])
        .args(args)
        .env_remove("NO_COLOR");
    c
}

/// Caps the address space of the process to be spawned, so that a
/// regression into unbounded memory fails fast instead of eating the
/// machine.
pub fn limit_memory(cmd: &mut Command, bytes: u64) {
    // SAFETY: setrlimit is async-signal-safe; nothing else runs in the hook.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: bytes,
                rlim_max: bytes,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Waits for `child` (killing it after `bound`, a safety net rather than
/// an assertion) and returns how it ended with its peak memory.
pub fn wait_measured(child: Child, bound: Duration) -> Measured {
    let pid = child.id() as libc::pid_t;
    let deadline = Instant::now() + bound;
    loop {
        let mut status = 0;
        // SAFETY: a zeroed rusage is a valid value for wait4 to fill.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: pid is our child; status and usage are valid pointers.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            let end = if libc::WIFEXITED(status) {
                End::Code(libc::WEXITSTATUS(status))
            } else {
                End::Signal(libc::WTERMSIG(status))
            };
            return Measured {
                end,
                peak_rss_mib: usage.ru_maxrss as f64 / 1024.0,
            };
        }
        assert!(r == 0, "wait4: {}", std::io::Error::last_os_error());
        if Instant::now() > deadline {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The write end of a pipe whose read end is already closed: every write
/// to it fails with EPIPE, whenever it happens.
pub fn closed_pipe() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid array of two ints.
    let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(r, 0, "pipe2: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just created and are owned here.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read);
    Stdio::from(write)
}

/// Sends SIGKILL to `child` and reaps it.
pub fn kill(child: &mut Child) {
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGKILL) };
    let _ = child.wait();
}

/// A xorshift PRNG with a fixed seed: the kill moments are the same on
/// every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x % n.max(1)
    }
}
