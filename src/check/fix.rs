//! `docs check --fix`: drifted blocks rewritten from their manifests. The
//! checker plans the new text of each page, every line keeping its own
//! line ending (a CRLF page stays CRLF); the command writes them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Location, Result};

/// A rewrite of lines of a page from its manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    /// Page, relative to the repository root.
    pub file: PathBuf,
    /// Lines to replace, 1-based, `end_line` exclusive.
    pub first_line: usize,
    pub end_line: usize,
    /// Indentation of the fence, applied to every new line.
    pub indent: usize,
    pub text: String,
    pub what: String,
}

/// The new text of a page, and what changed in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub file: PathBuf,
    pub text: String,
    pub done: Vec<String>,
}

/// Computes the new text of every page the fixes touch, reading them from
/// `root`. Nothing is written: a page that changed since it was checked
/// is an error before any file is touched.
pub fn plan(root: &Path, fixes: &[Fix]) -> Result<Vec<Planned>> {
    let mut by_file: BTreeMap<&PathBuf, Vec<&Fix>> = BTreeMap::new();
    for f in fixes {
        by_file.entry(&f.file).or_default().push(f);
    }
    let mut planned = Vec::new();
    for (file, list) in by_file {
        let text =
            std::fs::read_to_string(root.join(file)).map_err(|e| Error::io(file, "read", e))?;
        let (new, done) = apply(&text, file, list)?;
        planned.push(Planned {
            file: file.clone(),
            text: new,
            done,
        });
    }
    Ok(planned)
}

/// Applies the fixes of one page to its text.
pub(crate) fn apply(text: &str, file: &Path, mut list: Vec<&Fix>) -> Result<(String, Vec<String>)> {
    // Lines with their own endings ("\n", "\r\n" or none on the last).
    let mut lines: Vec<(String, &str)> = text
        .split_inclusive('\n')
        .map(|l| match l.strip_suffix("\r\n") {
            Some(body) => (body.to_string(), "\r\n"),
            None => match l.strip_suffix('\n') {
                Some(body) => (body.to_string(), "\n"),
                None => (l.to_string(), ""),
            },
        })
        .collect();
    list.sort_by_key(|f| std::cmp::Reverse(f.first_line));
    let mut done = Vec::new();
    for f in list {
        let (a, b) = (f.first_line - 1, f.end_line - 1);
        if b > lines.len() || a > b || f.first_line == 0 {
            return Err(Error::at(
                Location::new(file, f.first_line, 0),
                "the page changed while checking; run again",
            ));
        }
        // New lines end like the first line they replace (or the line
        // before them, for an insertion at the end).
        let ending = lines
            .get(a)
            .or_else(|| a.checked_sub(1).and_then(|i| lines.get(i)))
            .map_or("\n", |(_, e)| if e.is_empty() { "\n" } else { e });
        let pad = " ".repeat(f.indent);
        let new: Vec<(String, &str)> = f
            .text
            .lines()
            .map(|l| {
                let body = if l.is_empty() {
                    String::new()
                } else {
                    format!("{pad}{l}")
                };
                (body, ending)
            })
            .collect();
        lines.splice(a..b, new);
        done.push(format!("fixed {}: {}", file.display(), f.what));
    }
    // The last line keeps the file's own ending (or lack of one).
    if let Some(last) = lines.last_mut() {
        if !text.ends_with('\n') {
            last.1 = "";
        }
    }
    let out = lines.iter().map(|(l, e)| format!("{l}{e}")).collect();
    done.reverse();
    Ok((out, done))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(first: usize, end: usize, text: &str) -> Fix {
        Fix {
            file: "content/a.md".into(),
            first_line: first,
            end_line: end,
            indent: 0,
            text: text.into(),
            what: "block".into(),
        }
    }

    #[test]
    fn crlf_pages_stay_crlf_and_lf_pages_lf() {
        let f = fix(2, 4, "x: 1\ny: 2\n");
        let (out, _) = apply(
            "```yaml\r\nx: 0\r\ny: 0\r\n```\r\n",
            Path::new("a.md"),
            vec![&f],
        )
        .unwrap();
        assert_eq!(out, "```yaml\r\nx: 1\r\ny: 2\r\n```\r\n");
        let (out, _) = apply("```yaml\nx: 0\ny: 0\n```\n", Path::new("a.md"), vec![&f]).unwrap();
        assert_eq!(out, "```yaml\nx: 1\ny: 2\n```\n");
    }

    #[test]
    fn mixed_endings_are_kept_line_by_line() {
        let f = fix(3, 4, "b: 2\n");
        let (out, _) = apply("a\r\nkeep\nb: 1\r\nend", Path::new("a.md"), vec![&f]).unwrap();
        assert_eq!(out, "a\r\nkeep\nb: 2\r\nend");
    }

    #[test]
    fn a_stale_fix_is_an_error() {
        let f = fix(5, 9, "x\n");
        assert!(apply("one line\n", Path::new("a.md"), vec![&f]).is_err());
    }
}
