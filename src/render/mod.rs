//! Rendering: Markdown → HTML pages through the theme's templates, plus the
//! site-wide files (search index, navigation, sitemap, 404); and Markdown →
//! Markdown for `CLAUDE.md`.

pub mod claude_md;
pub mod highlight;
pub mod markdown;
pub mod search;
pub mod site;
pub mod syntaxes;
pub mod theme;

/// Escapes text for HTML element content.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes text for a double-quoted HTML attribute.
pub fn escape_attr(s: &str) -> String {
    escape_html(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            escape_html("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
