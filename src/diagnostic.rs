//! Findings about the docs (a broken link, a drifted block), printed like
//! compiler diagnostics:
//!
//! ```text
//! error[broken-anchor]: `recovery.md` has no heading `#step-9`
//!   --> content/backup-demo.md:41:3
//! ```

use std::fmt::Write as _;

use serde::Serialize;

use crate::code::Code;
use crate::error::Location;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// The rule that found it.
    pub code: Code,
    pub message: String,
    pub location: Location,
    /// Other places involved (the manifest side of a drift), with a label.
    pub related: Vec<(Location, String)>,
    pub notes: Vec<String>,
    /// A unified diff of the differing part (`-` manifest, `+` docs).
    pub diff: Option<String>,
}

impl Diagnostic {
    pub fn new(
        severity: Severity,
        code: Code,
        location: Location,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity,
            code,
            message: message.into(),
            location,
            related: Vec::new(),
            notes: Vec::new(),
            diff: None,
        }
    }

    pub fn error(code: Code, location: Location, message: impl Into<String>) -> Self {
        Diagnostic::new(Severity::Error, code, location, message)
    }

    pub fn warning(code: Code, location: Location, message: impl Into<String>) -> Self {
        Diagnostic::new(Severity::Warning, code, location, message)
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn with_related(mut self, location: Location, label: impl Into<String>) -> Self {
        self.related.push((location, label.into()));
        self
    }

    pub fn with_diff(mut self, diff: String) -> Self {
        self.diff = Some(diff);
        self
    }

    /// The human form, rustc style; `color` adds ANSI colours.
    pub fn render(&self, color: bool) -> String {
        let (on, bold, off) = if color {
            let c = match self.severity {
                Severity::Error => "\x1b[1;31m",
                Severity::Warning => "\x1b[1;33m",
                Severity::Note => "\x1b[1;36m",
            };
            (c, "\x1b[1m", "\x1b[0m")
        } else {
            ("", "", "")
        };
        let mut s = format!(
            "{on}{}[{}]{off}{bold}: {}{off}\n  --> {}\n",
            self.severity.as_str(),
            self.code,
            self.message,
            self.location
        );
        for (loc, label) in &self.related {
            let _ = writeln!(s, "  --> {loc} ({label})");
        }
        if let Some(diff) = &self.diff {
            for line in diff.lines() {
                let (c, e) = match line.as_bytes().first() {
                    _ if !color || line.starts_with("---") || line.starts_with("+++") => ("", ""),
                    Some(b'-') => ("\x1b[31m", "\x1b[0m"),
                    Some(b'+') => ("\x1b[32m", "\x1b[0m"),
                    _ => ("", ""),
                };
                let _ = writeln!(s, "   | {c}{line}{e}");
            }
        }
        for note in &self.notes {
            for (i, line) in note.lines().enumerate() {
                let lead = if i == 0 { "   = note: " } else { "           " };
                let _ = writeln!(s, "{lead}{line}");
            }
        }
        s
    }
}

pub fn count(diags: &[Diagnostic], severity: Severity) -> usize {
    diags.iter().filter(|d| d.severity == severity).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_rustc() {
        let d = Diagnostic::error(
            Code::BrokenLink,
            Location::new("content/a.md", 4, 2),
            "no page `b.md`",
        )
        .with_related(Location::new("manifests/x.yaml", 9, 7), "manifest")
        .with_note("pages are looked up relative to the linking page");
        assert_eq!(
            d.render(false),
            "error[broken-link]: no page `b.md`\n  --> content/a.md:4:2\n  --> manifests/x.yaml:9:7 (manifest)\n   = note: pages are looked up relative to the linking page\n"
        );
        assert!(d.render(true).contains("\x1b[1;31merror"));
    }
}
