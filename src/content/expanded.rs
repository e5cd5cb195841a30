//! A page's Markdown after its `{{ … }}` expressions are expanded, and the
//! way back from a line of the expanded text to the line of the page it
//! came from: every diagnostic names a line of the file the author edits,
//! even inside a generated table or block.

use std::borrow::Cow;

/// The expanded Markdown of a page, and a way back to source lines.
#[derive(Debug)]
pub struct Expanded<'a> {
    pub text: Cow<'a, str>,
    /// For each line of `text` (0-based), the source line it came from;
    /// `None` when both have the same lines.
    map: Option<Vec<usize>>,
}

impl<'a> Expanded<'a> {
    /// The text as it is, for pages without expressions.
    pub fn unexpanded(text: &'a str) -> Self {
        Expanded {
            text: Cow::Borrowed(text),
            map: None,
        }
    }

    pub fn new(source: &str, text: String) -> Self {
        let src: Vec<&str> = source.lines().collect();
        let out: Vec<&str> = text.lines().collect();
        // Expressions only: every line stays where it was.
        let map = (src.len() != out.len()).then(|| align(&src, &out));
        Expanded {
            text: Cow::Owned(text),
            map,
        }
    }

    /// Maps a 1-based line of the expanded text to a line of the source
    /// body. Generated lines (a loop's output, a multi-line value) map to
    /// the source line that produced them.
    pub fn source_line(&self, line: usize) -> usize {
        match &self.map {
            None => line,
            Some(map) => map.get(line.saturating_sub(1)).map_or(line, |l| l + 1),
        }
    }
}

/// Aligns output lines with source lines (a diff with [`same_line`] as
/// equality). An unmatched output line was generated: it maps to the
/// previous matched line if that one holds template code (a loop body, a
/// multi-line value), else to the source line after it.
fn align(src: &[&str], out: &[&str]) -> Vec<usize> {
    let (n, m) = (src.len(), out.len());
    let pairs = crate::diff::matches(n, m, |i, j| same_line(src[i], out[j]));
    let mut map = Vec::with_capacity(m);
    let mut generated_from = 0;
    let mut pairs = pairs.into_iter().peekable();
    for j in 0..m {
        match pairs.peek() {
            Some(&(i, pj)) if pj == j => {
                map.push(i);
                let templated = src[i].contains("{{") || src[i].contains("{%");
                generated_from = if templated { i } else { i + 1 };
                pairs.next();
            }
            _ => map.push(generated_from.min(n.saturating_sub(1))),
        }
    }
    map
}

/// Whether an expanded line can come from a source line: equal, or equal
/// around its `{{ … }}` expressions.
fn same_line(src: &str, out: &str) -> bool {
    if src == out {
        return true;
    }
    match (src.find("{{"), src.rfind("}}")) {
        (Some(a), Some(b)) if a < b => {
            let (pre, post) = (&src[..a], &src[b + 2..]);
            !src.contains("{%")
                && out.len() >= pre.len() + post.len()
                && out.starts_with(pre)
                && out.ends_with(post)
        }
        _ => false,
    }
}
