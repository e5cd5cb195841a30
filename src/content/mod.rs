//! The content model every command shares: the pages of `content/`, their
//! front matter, and the files that are copied as they are (images, SVGs).

pub mod expanded;
pub mod fence;
pub mod frontmatter;
pub mod links;
pub mod outline;
pub mod walk;

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::error::{line_col, Error, Location, Result};
pub use expanded::Expanded;
pub use frontmatter::FrontMatter;
pub use walk::{is_ignored_name, list_files, read_inside, Inside};

#[derive(Debug, Clone)]
pub struct Page {
    /// Path relative to the content directory, with `/` separators.
    pub rel: String,
    /// The page's file as messages name it: relative to the repository
    /// root (`content/guide/dr.md`).
    pub file: PathBuf,
    /// URL of the built page relative to the site root (`guide/dr.html`).
    pub url: String,
    pub front: FrontMatter,
    pub title: String,
    /// Markdown after the front matter.
    pub body: String,
    /// 1-based line of the file on which `body` starts.
    pub body_line: usize,
}

impl Page {
    /// Whether this is the home page (`index.md` at the content root).
    pub fn is_home(&self) -> bool {
        self.rel == "index.md"
    }

    /// Location of a 1-based line of `body` in the page's file.
    pub fn body_location(&self, body_line: usize, col: usize) -> Location {
        Location::new(&self.file, self.body_line + body_line - 1, col)
    }
}

#[derive(Debug, Clone, Default)]
pub struct Content {
    /// Pages in navigation order: weight, then title, then path.
    pub pages: Vec<Page>,
    /// Other files under the content directory, relative, copied as they are.
    pub assets: Vec<String>,
}

impl Content {
    pub fn page(&self, rel: &str) -> Option<&Page> {
        self.pages.iter().find(|p| p.rel == rel)
    }
}

/// Loads every page under `root/content_dir`.
pub fn load(root: &Path, content_dir: &Path) -> Result<Content> {
    let dir = root.join(content_dir);
    match std::fs::metadata(&dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(Error::at(
                Location::file(content_dir),
                "the content directory is a file, not a directory",
            ))
        }
        Err(_) => {
            return Err(Error::at(
                Location::file(content_dir),
                "content directory not found (set `content_dir` in docs.toml)",
            ))
        }
    }
    let (pages, assets): (Vec<String>, Vec<String>) = list_files(&dir, content_dir, true)?
        .into_iter()
        .partition(|rel| rel.ends_with(".md"));
    // Reading and parsing pages is most of a large site's start-up, which
    // is otherwise spent on one core. Errors are reported in file order.
    let inside = Inside::new(&dir, content_dir)?;
    let loaded: Vec<Result<Page>> = pages
        .par_iter()
        .map(|rel| parse_page(inside.read(rel)?, rel, content_dir.join(rel)))
        .collect();
    let mut content = Content {
        pages: loaded.into_iter().collect::<Result<_>>()?,
        assets,
    };
    if content.pages.is_empty() {
        return Err(Error::at(
            Location::file(content_dir),
            "no pages: the content directory has no `.md` files",
        ));
    }
    sort_pages(&mut content.pages);
    Ok(content)
}

pub fn sort_pages(pages: &mut [Page]) {
    pages.sort_by(|a, b| {
        (a.front.weight, a.title.to_lowercase(), &a.rel).cmp(&(
            b.front.weight,
            b.title.to_lowercase(),
            &b.rel,
        ))
    });
}

/// Reads and parses one page; `rel` is relative to the content directory.
pub fn load_page(content_root: &Path, rel: &str, content_dir: &Path) -> Result<Page> {
    let bytes = read_inside(content_root, rel, content_dir)?;
    parse_page(bytes, rel, content_dir.join(rel))
}

pub fn parse_page(bytes: Vec<u8>, rel: &str, file: PathBuf) -> Result<Page> {
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = e.utf8_error().valid_up_to();
        let prefix = std::str::from_utf8(&e.as_bytes()[..valid]).unwrap_or_default();
        let (line, col) = line_col(prefix, valid);
        Error::at(
            Location::new(&file, line, col),
            "the page is not valid UTF-8",
        )
    })?;
    let (front, body, body_line) = frontmatter::split(&text, &file)?;
    let title = front
        .title
        .clone()
        .or_else(|| first_heading(body))
        .unwrap_or_else(|| title_from_path(rel));
    Ok(Page {
        url: page_url(rel),
        rel: rel.to_string(),
        file,
        title,
        body: body.to_string(),
        body_line,
        front,
    })
}

/// `guide/dr.md` → `guide/dr.html`.
pub fn page_url(rel: &str) -> String {
    format!("{}.html", rel.strip_suffix(".md").unwrap_or(rel))
}

fn first_heading(body: &str) -> Option<String> {
    body.lines()
        .find_map(|l| l.strip_prefix("# "))
        .map(|t| t.split(" {#").next().unwrap_or(t).trim().to_string())
        .filter(|t| !t.is_empty())
}

fn title_from_path(rel: &str) -> String {
    let stem = rel.rsplit('/').next().unwrap_or(rel);
    let stem = stem.strip_suffix(".md").unwrap_or(stem);
    let words: String = stem
        .trim_start_matches(|c: char| c.is_ascii_digit() || c == '-' || c == '_')
        .replace(['-', '_'], " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => stem.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(bytes: &[u8]) -> Result<Page> {
        parse_page(
            bytes.to_vec(),
            "03-backup-demo.md",
            "content/03-backup-demo.md".into(),
        )
    }

    #[test]
    fn title_falls_back_to_heading_then_file_name() {
        assert_eq!(page(b"# Backups {#b}\ntext").unwrap().title, "Backups");
        assert_eq!(page(b"text only").unwrap().title, "Backup demo");
    }

    #[test]
    fn invalid_utf8_names_line_and_column() {
        let err = page(b"---\ntitle: x\n---\nok\nab\xff\n").unwrap_err();
        let loc = err.location.unwrap();
        assert_eq!((loc.line, loc.col), (5, 3));
        assert!(err.message.contains("UTF-8"));
    }

    #[test]
    fn urls_mirror_paths() {
        assert_eq!(page_url("guide/dr.md"), "guide/dr.html");
        assert_eq!(page_url("index.md"), "index.html");
    }

    #[test]
    fn editor_droppings_are_ignored() {
        for n in [
            ".page.md.swp",
            "page.md~",
            ".#page.md",
            "#page.md#",
            ".DS_Store",
        ] {
            assert!(is_ignored_name(n), "{n}");
        }
        assert!(!is_ignored_name("page.md"));
    }
}
