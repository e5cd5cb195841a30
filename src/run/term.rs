//! What the operator sees: a line per step (`[6/13] create-recovery-cluster
//! … created (0.2 s)`), a spinner with elapsed time on waits, colour when
//! stderr is a terminal and `NO_COLOR` is unset, plain lines otherwise,
//! prompts only on a terminal — and, with `--output json`, one event per
//! line on stdout for automation. Everything shown is redacted first.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value as J;

use super::redact::Redactor;

pub struct Ui {
    color: bool,
    /// stderr is a terminal: spinners redraw in place.
    live: bool,
    /// stdin and stderr are terminals: prompts can be answered.
    pub interactive: bool,
    json: bool,
    redactor: Arc<Mutex<Redactor>>,
    /// The last progress line drawn in place (to clear it).
    spinning: Mutex<Option<Instant>>,
}

/// The operator's answer when a step failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Retry,
    Skip,
    Abort,
}

impl Ui {
    pub fn new(color: bool, json: bool, redactor: Arc<Mutex<Redactor>>) -> Ui {
        let live = std::io::stderr().is_terminal();
        Ui {
            color,
            live,
            interactive: live && std::io::stdin().is_terminal(),
            json,
            redactor,
            spinning: Mutex::new(None),
        }
    }

    pub fn redact(&self, text: &str) -> String {
        self.redactor.lock().expect("redactor").apply(text)
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }

    pub fn red(&self, text: &str) -> String {
        self.paint("1;31", text)
    }

    pub fn green(&self, text: &str) -> String {
        self.paint("32", text)
    }

    pub fn yellow(&self, text: &str) -> String {
        self.paint("33", text)
    }

    pub fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }

    fn clear_spinner(&self) {
        let mut s = self.spinning.lock().expect("spinner");
        if s.take().is_some() && self.live {
            eprint!("\r\x1b[2K");
        }
    }

    /// A line on stderr, redacted.
    pub fn line(&self, text: &str) {
        self.clear_spinner();
        let text = self.redact(text);
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{text}");
    }

    /// A progress line: redrawn in place on a terminal, printed as a
    /// plain line otherwise (the caller only calls when the state changed).
    pub fn progress(&self, prefix: &str, started: Instant, state: &str) {
        let elapsed = format_duration(started.elapsed());
        let text = self.redact(&format!("{prefix} {elapsed}, {state}"));
        if self.live {
            let width = terminal_width().saturating_sub(1).max(20);
            let shown: String = text.chars().take(width).collect();
            eprint!("\r\x1b[2K{shown}");
            let _ = std::io::stderr().flush();
            *self.spinning.lock().expect("spinner") = Some(Instant::now());
        } else {
            self.line(&format!("  … {state} ({elapsed})"));
        }
    }

    /// Whether the progress line should be redrawn (a tick on a terminal).
    pub fn live(&self) -> bool {
        self.live
    }

    /// One JSON event on stdout (with `--output json`).
    pub fn event(&self, mut event: J) {
        if !self.json {
            return;
        }
        if let Some(obj) = event.as_object_mut() {
            obj.insert("time".into(), J::String(super::journal::now()));
        }
        // Field by field, before serializing: in the serialized text a
        // secret with a quote, a backslash or a newline is escaped, and
        // would not be found.
        self.redactor
            .lock()
            .expect("redactor")
            .apply_json(&mut event);
        let text = event.to_string();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
        let _ = out.flush();
    }

    /// Reads one line from the terminal (blocking; call off the runtime).
    fn read_answer() -> Option<String> {
        let mut s = String::new();
        match std::io::stdin().lock().read_line(&mut s) {
            Ok(0) | Err(_) => None,
            Ok(_) => Some(s.trim().to_string()),
        }
    }

    fn ask(&self, question: &str) -> Option<String> {
        self.clear_spinner();
        eprint!("{} ", self.redact(question));
        let _ = std::io::stderr().flush();
        Ui::read_answer()
    }

    /// The first destructive step: the operator types the context name.
    pub fn confirm_context(&self, context: &str) -> bool {
        for _ in 0..3 {
            let q = format!(
                "This changes the cluster of context {}. Type the context name to continue:",
                self.bold(context)
            );
            match self.ask(&q) {
                Some(a) if a == context => return true,
                Some(a) if a.is_empty() => return false,
                Some(_) => self.line("That is not the context name."),
                None => return false,
            }
        }
        false
    }

    /// y/N.
    pub fn yes_no(&self, question: &str) -> bool {
        matches!(
            self.ask(&format!("{question} [y/N]")).as_deref(),
            Some("y" | "Y" | "yes" | "Yes")
        )
    }

    /// After a failure: retry, skip or abort.
    pub fn choose(&self) -> Choice {
        loop {
            match self
                .ask("[r]etry, [s]kip this step, or [a]bort?")
                .as_deref()
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                Some("r" | "retry") => return Choice::Retry,
                Some("s" | "skip") => return Choice::Skip,
                Some("a" | "abort") | None => return Choice::Abort,
                Some(_) => {}
            }
        }
    }
}

fn terminal_width() -> usize {
    // SAFETY: TIOCGWINSZ fills a plain struct; on failure we use 80.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        if libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut ws) == 0 && ws.ws_col > 0 {
            ws.ws_col as usize
        } else {
            80
        }
    }
}

/// `0.2 s`, `12 s`, `3 min 04 s`, `1 h 02 min`.
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 10.0 {
        format!("{s:.1} s")
    } else if s < 60.0 {
        format!("{} s", s as u64)
    } else if s < 3600.0 {
        format!("{} min {:02} s", s as u64 / 60, s as u64 % 60)
    } else {
        format!("{} h {:02} min", s as u64 / 3600, (s as u64 % 3600) / 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_like_a_person_says_them() {
        assert_eq!(format_duration(Duration::from_millis(230)), "0.2 s");
        assert_eq!(format_duration(Duration::from_secs(12)), "12 s");
        assert_eq!(format_duration(Duration::from_secs(184)), "3 min 04 s");
        assert_eq!(format_duration(Duration::from_secs(3720)), "1 h 02 min");
    }
}
