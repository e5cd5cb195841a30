//! Errors that carry the place in the user's files where they arose.
//!
//! Fatal input errors (a broken page, config or template) stop a command and
//! print on one line, `path:line:col: message`, so that editors and terminals
//! can jump to them. Findings that do not stop a command are
//! [`Diagnostic`](crate::diagnostic::Diagnostic)s.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::code::Code;

/// A position in a file, 1-based. `line == 0` means "the whole file".
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Location {
    pub file: PathBuf,
    pub line: usize,
    pub col: usize,
}

impl Location {
    pub fn new(file: impl Into<PathBuf>, line: usize, col: usize) -> Self {
        Location {
            file: file.into(),
            line,
            col,
        }
    }

    pub fn file(file: impl Into<PathBuf>) -> Self {
        Location::new(file, 0, 0)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}", self.line)?;
            if self.col > 0 {
                write!(f, ":{}", self.col)?;
            }
        }
        Ok(())
    }
}

#[derive(Debug)]
pub struct Error {
    pub location: Option<Location>,
    pub message: String,
    /// The check code when `docs check` reports this error as a diagnostic.
    pub code: Option<Code>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(message: impl Into<String>) -> Self {
        Error {
            location: None,
            message: message.into(),
            code: None,
        }
    }

    pub fn at(location: Location, message: impl Into<String>) -> Self {
        Error {
            location: Some(location),
            message: message.into(),
            code: None,
        }
    }

    pub fn with_code(mut self, code: Code) -> Self {
        self.code = Some(code);
        self
    }

    /// An I/O error on `path`, phrased for a person.
    pub fn io(path: &Path, what: &str, err: std::io::Error) -> Self {
        Error::at(Location::file(path), format!("cannot {what}: {err}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(loc) => write!(f, "{loc}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for Error {}

/// Converts a byte offset in `text` to a 1-based (line, column); the column
/// counts characters, as editors do.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    (line, col)
}

/// The byte offset in `line` of the 1-based *character* column `col`
/// (columns count characters everywhere, as diagnostics print them). A
/// column past the end is the end of the line; column 0 is the start.
pub fn byte_of_col(line: &str, col: usize) -> usize {
    line.char_indices()
        .nth(col.saturating_sub(1))
        .map_or(line.len(), |(i, _)| i)
}

thread_local! {
    /// Set while [`catch_quietly`] runs on this thread.
    static QUIET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, turning a panic into `Err(message)`: for a dependency that
/// panics on some inputs (pulldown-cmark does), so that the input gets an
/// error naming it instead of crashing the command. While it runs, the
/// binary's panic hook prints nothing ([`panicking_quietly`]).
pub fn catch_quietly<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    let was = QUIET.with(|q| q.replace(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    QUIET.with(|q| q.set(was));
    result.map_err(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".into())
    })
}

/// Whether a panic on this thread is one [`catch_quietly`] will report.
pub fn panicking_quietly() -> bool {
    QUIET.with(|q| q.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one_and_in_chars() {
        let text = "ab\ncé d\n";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 3), (2, 1));
        // 'é' is two bytes but one column.
        assert_eq!(line_col(text, 3 + "cé ".len()), (2, 4));
    }

    #[test]
    fn character_columns_become_byte_offsets() {
        let line = "€€: {a: 1}";
        assert_eq!(byte_of_col(line, 1), 0);
        assert_eq!(byte_of_col(line, 2), 3, "after one three-byte character");
        assert_eq!(byte_of_col(line, 3), 6);
        assert_eq!(byte_of_col(line, 99), line.len());
        assert_eq!(byte_of_col(line, 0), 0);
    }

    #[test]
    fn panics_become_errors_quietly() {
        assert!(!panicking_quietly());
        let r = catch_quietly(|| {
            assert!(panicking_quietly());
            panic!("boom {}", 1)
        });
        assert_eq!(r.unwrap_err(), "boom 1");
        assert!(!panicking_quietly(), "reset afterwards");
        assert_eq!(catch_quietly(|| 7), Ok(7));
    }

    #[test]
    fn error_display_names_file_line_col() {
        let e = Error::at(Location::new("content/a.md", 3, 7), "boom");
        assert_eq!(e.to_string(), "content/a.md:3:7: boom");
        let e = Error::at(Location::file("docs.toml"), "unreadable");
        assert_eq!(e.to_string(), "docs.toml: unreadable");
    }
}
