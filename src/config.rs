//! `docs.toml`: where things are and how the site is published.
//!
//! Every key has a default, so a repository without the file still builds.
//! An unknown key or a value of the wrong type is an error naming the line.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::code::Code;
use crate::error::{line_col, Error, Location, Result};

pub const FILE_NAME: &str = "docs.toml";

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Site title, shown in the header and the browser tab.
    pub title: String,
    /// One sentence about the site, used on the home page and in `<meta>`.
    pub description: String,
    /// Path (or full URL) under which the site is hosted: `/` for a domain
    /// root, `/my-repo/` for a GitHub Pages project site.
    pub base_url: String,
    /// Directory of the Markdown pages, relative to the repository root.
    pub content_dir: PathBuf,
    /// Directory of the Kubernetes manifests the docs are checked against.
    pub manifests_dir: PathBuf,
    /// Theme directory; its templates and assets override the built-in ones
    /// by name. It may be absent when it is the default.
    pub theme: PathBuf,
    /// Where `docs build` writes the site.
    pub output_dir: PathBuf,
    /// The page (relative to `content_dir`) that `CLAUDE.md` is generated
    /// from; no `CLAUDE.md` is generated when unset.
    pub claude_md: Option<PathBuf>,
    /// The page (relative to `content_dir`) listing every Secret the kit
    /// needs; `docs check` verifies it against the manifests.
    pub secrets_inventory: Option<PathBuf>,
    /// Directories (or files) of CustomResourceDefinitions to validate
    /// manifests against, like `docs check --crds`.
    pub crds: Vec<PathBuf>,
    /// Check codes to silence, e.g. a warning the project has accepted.
    pub allow: Vec<Code>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            title: "Documentation".into(),
            description: String::new(),
            base_url: "/".into(),
            content_dir: "content".into(),
            manifests_dir: "manifests".into(),
            theme: DEFAULT_THEME.into(),
            output_dir: "public".into(),
            claude_md: None,
            secrets_inventory: None,
            crds: Vec::new(),
            allow: Vec::new(),
        }
    }
}

pub const DEFAULT_THEME: &str = "themes/default";

impl Config {
    /// Reads `docs.toml` from `root`, or returns the defaults if there is none.
    pub fn load(root: &Path) -> Result<Config> {
        let path = root.join(FILE_NAME);
        match std::fs::read_to_string(&path) {
            Ok(text) => Config::parse(&text, Path::new(FILE_NAME)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Config::default()),
            Err(e) => Err(Error::io(Path::new(FILE_NAME), "read the config", e)),
        }
    }

    pub fn parse(text: &str, display_path: &Path) -> Result<Config> {
        let mut config: Config = toml::from_str(text).map_err(|e| {
            let (line, col) = e.span().map_or((1, 1), |s| line_col(text, s.start));
            Error::at(
                Location::new(display_path, line, col),
                e.message().trim().replace('\n', "; "),
            )
        })?;
        config.base_url = normalize_base_url(&config.base_url);
        Ok(config)
    }

    /// Directories that hold no manifests even when the manifests directory
    /// contains them (`manifests_dir = "."`): the content, the output, the
    /// theme and the CRDs.
    pub fn not_manifests(&self) -> Vec<&Path> {
        let mut out = vec![
            self.content_dir.as_path(),
            self.output_dir.as_path(),
            self.theme.as_path(),
            Path::new("target"),
            Path::new("node_modules"),
        ];
        out.extend(self.crds.iter().map(PathBuf::as_path));
        out
    }

    /// Whether the theme is the default one (which may be absent on disk).
    pub fn theme_is_default(&self) -> bool {
        self.theme == Path::new(DEFAULT_THEME)
    }
}

/// `docs` → `/docs/`, `https://x.io/docs` → `https://x.io/docs/`, `` → `/`.
pub fn normalize_base_url(url: &str) -> String {
    let url = url.trim();
    let mut out = if url.contains("://") || url.starts_with('/') {
        url.to_string()
    } else {
        format!("/{url}")
    };
    if !out.ends_with('/') {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_apply_to_missing_keys() {
        let c = Config::parse("title = \"Kit\"\n", Path::new(FILE_NAME)).unwrap();
        assert_eq!(c.title, "Kit");
        assert_eq!(c.content_dir, PathBuf::from("content"));
        assert_eq!(c.output_dir, PathBuf::from("public"));
        assert_eq!(c.base_url, "/");
        assert!(c.claude_md.is_none());
    }

    #[test]
    fn unknown_key_names_its_line() {
        let err = Config::parse(
            "title = \"Kit\"\n\ntitel = \"typo\"\n",
            Path::new(FILE_NAME),
        )
        .unwrap_err();
        let loc = err.location.clone().unwrap();
        assert_eq!((loc.line, loc.col), (3, 1), "{err}");
        assert!(err.message.contains("unknown field `titel`"), "{err}");
    }

    #[test]
    fn wrong_type_names_its_line() {
        let err =
            Config::parse("title = \"Kit\"\nbase_url = 3\n", Path::new(FILE_NAME)).unwrap_err();
        assert_eq!(err.location.unwrap().line, 2);
        assert!(err.message.contains("expected a string"), "{}", err.message);
    }

    #[test]
    fn allow_takes_known_codes_only() {
        let c = Config::parse(
            "allow = [\"cnpg-barman-deprecated\"]\n",
            Path::new(FILE_NAME),
        )
        .unwrap();
        assert_eq!(c.allow, [Code::CnpgBarmanDeprecated]);
        let err = Config::parse(
            "title = \"x\"\nallow = [\"cnpg-barman\"]\n",
            Path::new(FILE_NAME),
        )
        .unwrap_err();
        assert_eq!(err.location.as_ref().unwrap().line, 2, "{err}");
        assert!(
            err.message
                .contains("did you mean `cnpg-barman-deprecated`?"),
            "{err}"
        );
    }

    #[test]
    fn base_url_is_normalized() {
        assert_eq!(normalize_base_url("kit"), "/kit/");
        assert_eq!(normalize_base_url("/kit"), "/kit/");
        assert_eq!(normalize_base_url(""), "/");
        assert_eq!(
            normalize_base_url("https://example.org/kit"),
            "https://example.org/kit/"
        );
    }
}
