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
    /// Variables of a runbook, in declaration order: `{{ vars.NAME }}` in
    /// the page, set with `docs run --var NAME=VALUE`.
    pub variables: Variables,
}

/// A runbook variable as declared in front matter.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Variable {
    /// What the value means, for `docs run --list` and the site.
    pub description: String,
    /// The value unless `--var` sets one; without a default the variable
    /// must be set on the command line.
    pub default: Option<String>,
    /// The value is redacted from the terminal, the journal and the
    /// transcript.
    pub secret: bool,
}

/// Variables by name, in the order the front matter declares them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Variables(pub Vec<(String, Variable)>);

impl<'de> Deserialize<'de> for Variables {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Variables;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mapping of variable names to {description, default, secret}")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Variables, A::Error> {
                let mut out: Vec<(String, Variable)> = Vec::new();
                while let Some((name, var)) = m.next_entry::<String, Variable>()? {
                    let ok = !name.is_empty()
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                        && !name.starts_with(|c: char| c.is_ascii_digit());
                    if !ok {
                        return Err(serde::de::Error::custom(format!(
                            "variable name `{name}`: use letters, digits and `_`"
                        )));
                    }
                    if out.iter().any(|(n, _)| *n == name) {
                        return Err(serde::de::Error::custom(format!(
                            "variable `{name}` is declared twice"
                        )));
                    }
                    out.push((name, var));
                }
                Ok(Variables(out))
            }
        }
        d.deserialize_map(Visit)
    }
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
    fn runbook_variables_keep_their_order() {
        let text = "---\nrunbook: true\nvariables:\n  target_time:\n    description: when\n    default: \"2026-11-24 03:00:00+00\"\n  name:\n    description: new name\n  token:\n    description: t\n    secret: true\n---\n";
        let (fm, _, _) = split(text, p()).unwrap();
        let names: Vec<&str> = fm.variables.0.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["target_time", "name", "token"]);
        assert_eq!(
            fm.variables.0[0].1.default.as_deref(),
            Some("2026-11-24 03:00:00+00")
        );
        assert!(fm.variables.0[2].1.secret);
        let err = split(
            "---\nvariables:\n  bad-name:\n    description: x\n---\n",
            p(),
        )
        .unwrap_err();
        assert!(err.message.contains("bad-name"), "{err}");
        let err = split("---\nvariables:\n  a:\n    descripton: x\n---\n", p()).unwrap_err();
        assert!(err.message.contains("descripton"), "{err}");
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
