//! Printing that a closed pipe cannot turn into a panic.
//!
//! `println!` and `eprintln!` panic when the reader has gone (`docs check
//! 2>&1 | head`): Rust ignores SIGPIPE, so the write fails with EPIPE and
//! the macros panic on it. The commands print with [`outln!`] and
//! [`errln!`] instead, which drop the line and report that they did, and
//! `main` installs [`quit_on_closed_pipe`] for any print that slips
//! through: the process then ends as a C tool does on SIGPIPE, silently.
//! The same hook stays silent for panics that `error::catch_quietly`
//! turns into errors.

use std::fmt::Arguments;
use std::io::Write;

/// Writes a line to stdout; `false` if it could not (a closed pipe).
pub fn out(args: Arguments) -> bool {
    writeln!(std::io::stdout().lock(), "{args}").is_ok()
}

/// Writes a line to stderr; `false` if it could not (a closed pipe).
pub fn err(args: Arguments) -> bool {
    writeln!(std::io::stderr().lock(), "{args}").is_ok()
}

/// `println!` that never panics; evaluates to whether the line was written.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cmd::print::out(format_args!($($arg)*))
    };
}

/// `eprintln!` that never panics; evaluates to whether the line was written.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::cmd::print::err(format_args!($($arg)*))
    };
}

pub(crate) use {errln, outln};

/// The message of the standard library's print macros when the write
/// fails, as in "failed printing to stdout: Broken pipe (os error 32)".
fn is_closed_pipe_panic(message: &str) -> bool {
    message.starts_with("failed printing to std")
        && (message.contains("Broken pipe") || message.contains("os error 32"))
}

/// Makes a `println!`/`eprintln!` on a closed pipe end the process the way
/// SIGPIPE ends a C tool — silently, status 141 in a shell — instead of
/// with a panic message (on a stderr that may be the closed pipe). Every
/// other panic goes to the previous hook.
pub fn quit_on_closed_pipe() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied());
        if message.is_some_and(is_closed_pipe_panic) {
            die_of_sigpipe();
        }
        // Caught and reported as an error of the input (see there).
        if crate::error::panicking_quietly() {
            return;
        }
        previous(info);
    }));
}

#[cfg(target_os = "linux")]
fn die_of_sigpipe() -> ! {
    // SAFETY: restoring the default action of a signal and raising it; no
    // memory is shared with a handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::raise(libc::SIGPIPE);
    }
    std::process::exit(141)
}

#[cfg(not(target_os = "linux"))]
fn die_of_sigpipe() -> ! {
    std::process::exit(141)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_print_failures_on_a_closed_pipe_are_quiet() {
        assert!(is_closed_pipe_panic(
            "failed printing to stdout: Broken pipe (os error 32)"
        ));
        assert!(is_closed_pipe_panic(
            "failed printing to stderr: Broken pipe (os error 32)"
        ));
        assert!(!is_closed_pipe_panic(
            "failed printing to stdout: No space left on device (os error 28)"
        ));
        assert!(!is_closed_pipe_panic("index out of bounds"));
    }
}
