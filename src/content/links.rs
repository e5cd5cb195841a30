//! Where a link of a page leads: `other.md#anchor` is another page of the
//! site (and becomes `other.html#anchor` relative to the linking page, so
//! the site works from any base path and from `file://`), an asset, a file
//! elsewhere in the repository, or nothing. The renderer rewrites links
//! with this; the checker reports the broken ones and the missing anchors.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use crate::content::{Content, Page};

/// What links may lead to: the pages and assets of the site.
pub struct SiteLinks {
    /// Page path (relative to the content dir) → URL.
    pages: HashMap<String, String>,
    assets: HashSet<String>,
    /// The content directory on disk, for links that leave it.
    content_dir: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkTarget {
    /// External, absolute or otherwise not ours to rewrite.
    Unchanged,
    /// A page of the site (possibly the linking page itself).
    Page {
        href: String,
        target: String,
        anchor: Option<String>,
    },
    /// Leads nowhere; the message says why.
    Broken(String),
}

impl SiteLinks {
    pub fn new(content: &Content, content_dir: PathBuf) -> Self {
        SiteLinks {
            pages: content
                .pages
                .iter()
                .map(|p| (p.rel.clone(), p.url.clone()))
                .collect(),
            assets: content.assets.iter().cloned().collect(),
            content_dir,
        }
    }

    #[cfg(test)]
    pub fn for_test(pages: &[&str]) -> Self {
        SiteLinks {
            pages: pages
                .iter()
                .map(|p| (p.to_string(), crate::content::page_url(p)))
                .collect(),
            assets: HashSet::new(),
            content_dir: PathBuf::from("/nonexistent"),
        }
    }

    pub fn resolve(&self, page: &Page, dest: &str) -> LinkTarget {
        if dest.is_empty() || dest == "#" || dest.starts_with('/') || has_scheme(dest) {
            return LinkTarget::Unchanged;
        }
        if let Some(anchor) = dest.strip_prefix('#') {
            return LinkTarget::Page {
                href: dest.to_string(),
                target: page.rel.clone(),
                anchor: Some(anchor.to_string()),
            };
        }
        let (path, fragment) = match dest.split_once('#') {
            Some((p, f)) => (p, Some(f)),
            None => (dest, None),
        };
        let path = path.split('?').next().unwrap_or(path);
        let base = page.rel.rsplit_once('/').map_or("", |(d, _)| d);
        let resolved = normalize(base, path);
        if path.ends_with(".md") {
            let Some(target) = resolved.as_deref() else {
                return LinkTarget::Broken(format!(
                    "`{dest}` points outside the content directory"
                ));
            };
            return match self.pages.get(target) {
                Some(url) => {
                    let mut href = relative_url(&page.url, url);
                    if let Some(f) = fragment {
                        href.push('#');
                        href.push_str(f);
                    }
                    LinkTarget::Page {
                        href,
                        target: target.to_string(),
                        anchor: fragment.map(str::to_string),
                    }
                }
                None => LinkTarget::Broken(format!("link to a missing page `{target}`")),
            };
        }
        let exists = match resolved.as_deref() {
            Some(rel)
                if self.assets.contains(rel)
                    || self.pages.contains_key(&format!("{rel}/index.md")) =>
            {
                true
            }
            // Outside the content tree (e.g. `../manifests/x.yaml`): on disk?
            _ => self.content_dir.join(base).join(path).exists(),
        };
        if exists || path.is_empty() {
            LinkTarget::Unchanged
        } else {
            LinkTarget::Broken(format!("link to a missing file `{path}`"))
        }
    }
}

fn has_scheme(dest: &str) -> bool {
    dest.starts_with("//")
        || dest
            .split(['/', '?', '#'])
            .next()
            .is_some_and(|first| first.contains(':'))
}

/// Joins `base/path` and folds `.` and `..`; `None` if it leaves the root.
fn normalize(base: &str, path: &str) -> Option<String> {
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// The URL of `to` relative to the page at `from` (both site-relative).
pub fn relative_url(from: &str, to: &str) -> String {
    let from_dir: Vec<&str> = match from.rsplit_once('/') {
        Some((d, _)) => d.split('/').collect(),
        None => Vec::new(),
    };
    let to_parts: Vec<&str> = to.split('/').collect();
    let common = from_dir
        .iter()
        .zip(&to_parts)
        .take_while(|(a, b)| a == b)
        .count()
        .min(to_parts.len() - 1);
    let mut out = "../".repeat(from_dir.len() - common);
    out.push_str(&to_parts[common..].join("/"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_urls() {
        assert_eq!(relative_url("a.html", "b.html"), "b.html");
        assert_eq!(relative_url("guide/a.html", "b.html"), "../b.html");
        assert_eq!(relative_url("a.html", "guide/b.html"), "guide/b.html");
        assert_eq!(relative_url("guide/a.html", "guide/b.html"), "b.html");
        assert_eq!(relative_url("x/y/a.html", "x/z/b.html"), "../z/b.html");
    }

    #[test]
    fn normalize_folds_dots_and_refuses_to_escape() {
        assert_eq!(normalize("guide", "../a.md").as_deref(), Some("a.md"));
        assert_eq!(normalize("", "./x/./y.md").as_deref(), Some("x/y.md"));
        assert_eq!(normalize("", "../manifests/x.yaml"), None);
    }

    #[test]
    fn schemes_are_external() {
        assert!(has_scheme("https://x.org/a.md"));
        assert!(has_scheme("mailto:a@b.c"));
        assert!(has_scheme("//cdn/x"));
        assert!(!has_scheme("a.md#x:y"));
        assert!(!has_scheme("guide/a.md"));
    }
}
