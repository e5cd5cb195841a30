//! The theme: minijinja templates (`layout.html`, `page.html`, `index.html`,
//! `404.html`) and static files (`style.css`, `docs.js`, ...).
//!
//! The default theme is built into the binary. A theme directory (the
//! `theme` key of docs.toml, `themes/default` unless set) overrides any of
//! its files by name: `templates/page.html` replaces the built-in page
//! template, `static/style.css` the stylesheet; new files are added.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use minijinja::Environment;

use crate::config::Config;
use crate::error::{Error, Location, Result};

macro_rules! builtin {
    ($($kind:literal / $name:literal),* $(,)?) => {
        &[$(($kind, $name, include_bytes!(concat!("../../themes/default/", $kind, "/", $name)))),*]
    };
}

/// The default theme, as shipped in `themes/default/`.
const BUILTIN: &[(&str, &str, &[u8])] = builtin![
    "templates" / "layout.html",
    "templates" / "page.html",
    "templates" / "index.html",
    "templates" / "404.html",
    "static" / "style.css",
    "static" / "docs.js",
];

pub struct Theme {
    env: Environment<'static>,
    /// Static files by path relative to the site root.
    pub assets: BTreeMap<String, Vec<u8>>,
    /// Where each template came from, for error messages.
    origins: HashMap<String, PathBuf>,
}

impl Theme {
    pub fn load(root: &Path, config: &Config) -> Result<Theme> {
        let mut templates: BTreeMap<String, (String, PathBuf)> = BTreeMap::new();
        let mut assets = BTreeMap::new();
        for (kind, name, bytes) in BUILTIN {
            let origin = Path::new("<built-in theme>").join(kind).join(name);
            if *kind == "templates" {
                let text = String::from_utf8(bytes.to_vec()).expect("built-in templates are UTF-8");
                templates.insert(name.to_string(), (text, origin));
            } else {
                assets.insert(name.to_string(), bytes.to_vec());
            }
        }
        let dir = root.join(&config.theme);
        if dir.is_dir() {
            overlay(&dir, &config.theme, &mut templates, &mut assets)?;
        } else if !config.theme_is_default() {
            return Err(Error::at(
                Location::file(&config.theme),
                "theme directory not found (check `theme` in docs.toml)",
            ));
        }
        let mut env = Environment::new();
        env.set_formatter(html_formatter);
        let mut origins = HashMap::new();
        for (name, (text, origin)) in templates {
            env.add_template_owned(name.clone(), text)
                .map_err(|e| template_error(&e, &origin))?;
            origins.insert(name, origin);
        }
        Ok(Theme {
            env,
            assets,
            origins,
        })
    }

    pub fn render(&self, name: &str, ctx: minijinja::Value) -> Result<String> {
        let template = self
            .env
            .get_template(name)
            .map_err(|e| Error::new(format!("theme has no template `{name}`: {e}")))?;
        template.render(ctx).map_err(|e| {
            let at = e.name().unwrap_or(name);
            let origin = self
                .origins
                .get(at)
                .cloned()
                .unwrap_or_else(|| PathBuf::from(at));
            template_error(&e, &origin)
        })
    }
}

fn overlay(
    dir: &Path,
    shown: &Path,
    templates: &mut BTreeMap<String, (String, PathBuf)>,
    assets: &mut BTreeMap<String, Vec<u8>>,
) -> Result<()> {
    let tdir = dir.join("templates");
    if tdir.is_dir() {
        for name in list(&tdir, &shown.join("templates"))? {
            let shown_path = shown.join("templates").join(&name);
            let bytes = std::fs::read(tdir.join(&name))
                .map_err(|e| Error::io(&shown_path, "read the template", e))?;
            let text = String::from_utf8(bytes).map_err(|_| {
                Error::at(
                    Location::file(&shown_path),
                    "the template is not valid UTF-8",
                )
            })?;
            templates.insert(name, (text, shown_path));
        }
    }
    let sdir = dir.join("static");
    if sdir.is_dir() {
        for rel in crate::content::list_files(&sdir, &shown.join("static"), false)? {
            let shown_path = shown.join("static").join(&rel);
            let bytes = std::fs::read(sdir.join(&rel))
                .map_err(|e| Error::io(&shown_path, "read the theme file", e))?;
            assets.insert(rel, bytes);
        }
    }
    Ok(())
}

fn list(dir: &Path, shown: &Path) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| Error::io(shown, "read the theme", e))? {
        let entry = entry.map_err(|e| Error::io(shown, "read the theme", e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !crate::content::is_ignored_name(&name) && name.ends_with(".html") {
            out.push(name);
        }
    }
    out.sort();
    Ok(out)
}

/// Like minijinja's default, but without escaping `/` as `&#x2f;`, which
/// HTML does not require: URLs in the output stay readable and short.
fn html_formatter(
    out: &mut minijinja::Output,
    state: &mut minijinja::State,
    value: &minijinja::Value,
) -> Result<(), minijinja::Error> {
    let escape = !matches!(state.auto_escape(), minijinja::AutoEscape::None);
    match value.as_str() {
        Some(text) if escape && !value.is_safe() => out
            .write_str(&super::escape_html(text))
            .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, e.to_string())),
        _ => minijinja::escape_formatter(out, state, value),
    }
}

fn template_error(e: &minijinja::Error, origin: &Path) -> Error {
    let line = e.line().unwrap_or(0);
    let detail = e.detail().map(|d| format!(": {d}")).unwrap_or_default();
    Error::at(
        Location::new(origin, line, 0),
        format!("template error ({}){detail}", e.kind()),
    )
}
