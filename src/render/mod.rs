//! Rendering: Markdown → HTML pages through the theme's templates, plus the
//! site-wide files (search index, navigation, sitemap, 404).

pub mod highlight;
pub mod links;
pub mod markdown;
pub mod search;
pub mod site;
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

/// GitHub-compatible heading slug: lower case, letters, digits, `-` and `_`
/// kept, spaces become `-`, everything else dropped.
pub fn slugify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.trim().chars() {
        if c.is_alphanumeric() || c == '_' || c == '-' {
            out.extend(c.to_lowercase());
        } else if c == ' ' {
            out.push('-');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_match_github() {
        assert_eq!(slugify("Step-by-step recovery"), "step-by-step-recovery");
        assert_eq!(slugify("Why can't ArgoCD do it?"), "why-cant-argocd-do-it");
        assert_eq!(
            slugify("`serverName` lineage (v1 → v2)"),
            "servername-lineage-v1--v2"
        );
        assert_eq!(slugify("Ünïcode Überschrift"), "ünïcode-überschrift");
    }

    #[test]
    fn escaping() {
        assert_eq!(
            escape_html("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
