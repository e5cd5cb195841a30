//! YAML front matter between `---` lines at the top of a page.

use std::path::Path;

use serde::Deserialize;

use crate::error::{Error, Location, Result};

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct FrontMatter {
    /// Page title; defaults to the first `# heading`, then the file name.
    pub title: Option<String>,
    /// Navigation order: lower first; ties are broken by title.
    pub weight: i64,
    /// One sentence for the home page listing, search results and `<meta>`.
    pub description: Option<String>,
    /// The page is a runbook that `docs run` can execute.
    pub runbook: bool,
}

/// Splits `text` into its front matter and body. Returns the front matter,
/// the body, and the 1-based line on which the body starts.
pub fn split<'a>(text: &'a str, path: &Path) -> Result<(FrontMatter, &'a str, usize)> {
    let Some(rest) = strip_fence_line(text) else {
        return Ok((FrontMatter::default(), text, 1));
    };
    // Find the closing `---` (or `...`) on a line of its own.
    let mut offset = 0;
    for (line, raw) in (2..).zip(rest.split_inclusive('\n')) {
        let trimmed = raw.trim_end_matches(['\n', '\r']);
        if trimmed == "---" || trimmed == "..." {
            let yaml = &rest[..offset];
            let body = &rest[offset + raw.len()..];
            let front = parse_yaml(yaml, path)?;
            return Ok((front, body, line + 1));
        }
        offset += raw.len();
    }
    Err(Error::at(
        Location::new(path, 1, 1),
        "front matter starts with `---` but has no closing `---` line",
    ))
}

fn strip_fence_line(text: &str) -> Option<&str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = text.strip_prefix("---")?;
    let rest = rest.trim_start_matches([' ', '\t']);
    rest.strip_prefix("\r\n")
        .or_else(|| rest.strip_prefix('\n'))
}

fn parse_yaml(yaml: &str, path: &Path) -> Result<FrontMatter> {
    if yaml.trim().is_empty() {
        return Ok(FrontMatter::default());
    }
    serde_yaml::from_str(yaml).map_err(|e| {
        // The YAML starts on line 2 of the file.
        let (line, col) = e.location().map_or((2, 1), |l| (l.line() + 1, l.column()));
        let msg = e.to_string();
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        Error::at(
            Location::new(path, line, col),
            format!("front matter: {msg}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("content/a.md")
    }

    #[test]
    fn parses_fields_and_reports_body_line() {
        let text = "---\ntitle: DR\nweight: 3\nrunbook: true\n---\n# Body\n";
        let (fm, body, line) = split(text, p()).unwrap();
        assert_eq!(fm.title.as_deref(), Some("DR"));
        assert_eq!(fm.weight, 3);
        assert!(fm.runbook);
        assert_eq!(body, "# Body\n");
        assert_eq!(line, 6);
    }

    #[test]
    fn no_front_matter_is_fine() {
        let (fm, body, line) = split("# Hi\n", p()).unwrap();
        assert_eq!(fm, FrontMatter::default());
        assert_eq!(body, "# Hi\n");
        assert_eq!(line, 1);
    }

    #[test]
    fn unterminated_front_matter_is_an_error_at_line_one() {
        let err = split("---\ntitle: x\n# Body\n", p()).unwrap_err();
        assert_eq!(err.location.as_ref().unwrap().line, 1);
        assert!(err.message.contains("no closing"), "{err}");
    }

    #[test]
    fn type_error_names_the_file_line() {
        let err = split("---\ntitle: x\nweight: heavy\n---\n", p()).unwrap_err();
        assert_eq!(err.location.as_ref().unwrap().line, 3, "{err}");
        assert!(err.message.contains("weight"), "{err}");
    }

    #[test]
    fn unknown_key_is_an_error() {
        let err = split("---\ntitel: x\n---\n", p()).unwrap_err();
        assert_eq!(err.location.as_ref().unwrap().line, 2, "{err}");
        assert!(err.message.contains("unknown field `titel`"), "{err}");
    }
}
