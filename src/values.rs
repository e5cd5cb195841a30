//! Values pulled out of the manifests into prose and tables, so that a
//! serverName, a schedule or a retention quoted in the guide cannot drift.
//!
//! A page is a minijinja template with `{{ … }}` expressions and `{% … %}`
//! tags (comments are `{## … ##}`, since `{#id}` sets a heading's id).
//! Code is literal: fenced blocks and inline code spans are wrapped in
//! `{% raw %}` before rendering, so Argo CD or Helm `{{ .Values }}` survives
//! untouched — unless a fenced block carries the `template` flag.
//!
//! Functions and filters:
//! - `manifest(path, doc="Kind/name")`: a manifest document (path relative
//!   to the manifests directory), e.g.
//!   `{{ manifest("infrastructure/database/cnpg/immich/cluster.yaml").spec.backup.retentionPolicy }}`;
//! - `manifests(kind="Cluster")`: every document of a kind, in path order;
//! - `| next_lineage`: `immich-database-v1` → `immich-database-v2`;
//! - `| cron_words`: a CloudNativePG schedule in words.
//!
//! Undefined values are errors: an expression that resolves to nothing is
//! reported at its file and line, never rendered as an empty string.

use std::borrow::Cow;
use std::sync::Arc;

use minijinja::value::{Kwargs, Serde, Value};
use minijinja::{Environment, ErrorKind, UndefinedBehavior};
use pulldown_cmark::{Event, Parser, Tag};

use crate::content::{fence, Page};
use crate::error::{Error, Result};
use crate::manifests::ManifestIndex;

pub struct Values {
    env: Environment<'static>,
}

impl Values {
    pub fn new(manifests: Arc<ManifestIndex>) -> Values {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder()
                .comment_delimiters("{##", "##}")
                .trim_blocks(true)
                .lstrip_blocks(true)
                .keep_trailing_newline(true)
                .build()
                .expect("static syntax is valid"),
        );
        let idx = manifests.clone();
        env.add_function(
            "manifest",
            move |path: &str, kwargs: Kwargs| -> Result<Value, minijinja::Error> {
                let doc: Option<&str> = kwargs.get("doc")?;
                kwargs.assert_all_used()?;
                let m = idx
                    .find(path, doc)
                    .map_err(|e| minijinja::Error::new(ErrorKind::InvalidOperation, e))?;
                Ok(Value::from(Serde(&m.value)))
            },
        );
        let idx = manifests;
        env.add_function(
            "manifests",
            move |kwargs: Kwargs| -> Result<Value, minijinja::Error> {
                let kind: Option<&str> = kwargs.get("kind")?;
                kwargs.assert_all_used()?;
                let docs: Vec<Value> = idx
                    .docs
                    .iter()
                    .filter(|m| kind.is_none() || m.kind() == kind)
                    .map(|m| Value::from(Serde(&m.value)))
                    .collect();
                Ok(Value::from(docs))
            },
        );
        env.add_filter(
            "next_lineage",
            |name: &str| -> Result<String, minijinja::Error> {
                next_lineage(name).ok_or_else(|| {
                    minijinja::Error::new(
                        ErrorKind::InvalidOperation,
                        format!("`{name}` does not end in a `-vN` lineage suffix"),
                    )
                })
            },
        );
        env.add_filter(
            "cron_words",
            |s: &str| -> Result<String, minijinja::Error> {
                crate::cron::describe(s)
                    .map_err(|e| minijinja::Error::new(ErrorKind::InvalidOperation, e))
            },
        );
        Values { env }
    }

    /// Expands the expressions of a page body. Returns the body unchanged
    /// (borrowed) when it has none.
    pub fn expand<'a>(&self, page: &'a Page) -> Result<Expanded<'a>> {
        let body = page.body.as_str();
        if !body.contains("{{") && !body.contains("{%") {
            return Ok(Expanded::unexpanded(body));
        }
        let protected = protect_code(body);
        let text = self.env.render_str(&protected, ()).map_err(|e| {
            let line = e.line().unwrap_or(1);
            Error::at(page.body_location(line, 0), describe_error(&e))
        })?;
        Ok(Expanded::new(body, text))
    }
}

/// The expanded Markdown of a page, and a way back to source lines.
#[derive(Debug)]
pub struct Expanded<'a> {
    pub text: Cow<'a, str>,
    prefix: usize,
    suffix: usize,
    delta: isize,
}

impl<'a> Expanded<'a> {
    /// The text as it is, for pages without expressions.
    pub fn unexpanded(text: &'a str) -> Self {
        Expanded {
            text: Cow::Borrowed(text),
            prefix: usize::MAX,
            suffix: 0,
            delta: 0,
        }
    }

    fn new(source: &str, text: String) -> Self {
        let src: Vec<&str> = source.lines().collect();
        let out: Vec<&str> = text.lines().collect();
        if src.len() == out.len() {
            // Expressions only: every line stays where it was.
            return Expanded {
                text: Cow::Owned(text),
                prefix: usize::MAX,
                suffix: 0,
                delta: 0,
            };
        }
        // A block tag (a loop) changed the line count: lines before the
        // first and after the last changed line still map one to one.
        let prefix = src
            .iter()
            .zip(&out)
            .take_while(|(a, b)| same_line(a, b))
            .count();
        let max_suffix = src.len().min(out.len()) - prefix;
        let suffix = src
            .iter()
            .rev()
            .zip(out.iter().rev())
            .take(max_suffix)
            .take_while(|(a, b)| same_line(a, b))
            .count();
        let delta = src.len() as isize - out.len() as isize;
        let first_suffix_line = out.len() - suffix;
        Expanded {
            text: Cow::Owned(text),
            prefix,
            suffix: first_suffix_line,
            delta,
        }
    }

    /// Maps a 1-based line of the expanded text to a line of the source
    /// body; lines inside an expanded region map to its first line.
    pub fn source_line(&self, line: usize) -> usize {
        if line <= self.prefix {
            line
        } else if line > self.suffix {
            (line as isize + self.delta).max(1) as usize
        } else {
            self.prefix + 1
        }
    }
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

fn describe_error(e: &minijinja::Error) -> String {
    let what = match e.kind() {
        ErrorKind::UndefinedError => "expression resolves to nothing".to_string(),
        ErrorKind::SyntaxError => "template syntax error".to_string(),
        ErrorKind::UnknownFunction => "unknown function".to_string(),
        ErrorKind::UnknownFilter => "unknown filter".to_string(),
        _ => "template error".to_string(),
    };
    let expr = e
        .range()
        .zip(e.template_source())
        .and_then(|(r, src)| src.get(r))
        .map(|s| format!(" in `{}`", s.trim()))
        .unwrap_or_default();
    match e.detail() {
        Some(d) => format!("{what}{expr}: {d}"),
        None => format!("{what}{expr}"),
    }
}

/// `name-v3` → `name-v4`; `None` when there is no `-vN` suffix.
pub fn next_lineage(name: &str) -> Option<String> {
    let (base, n) = split_lineage(name)?;
    Some(format!("{base}-v{}", n + 1))
}

/// `name-v3` → (`name`, 3).
pub fn split_lineage(name: &str) -> Option<(&str, u64)> {
    let (base, v) = name.rsplit_once("-v")?;
    let n = v.parse().ok().filter(|_| !v.starts_with('+'))?;
    (!base.is_empty()).then_some((base, n))
}

/// Wraps code (fenced and indented blocks, inline spans) in `{% raw %}` so
/// that template syntax inside it is left alone. Fenced blocks with the
/// `template` flag are expanded like prose.
fn protect_code(body: &str) -> String {
    let mut ranges = Vec::new();
    let iter = Parser::new_ext(body, crate::render::markdown::options()).into_offset_iter();
    for (event, range) in iter {
        match event {
            Event::Code(_) => ranges.push(range),
            Event::Start(Tag::CodeBlock(kind)) => {
                let templated = match &kind {
                    pulldown_cmark::CodeBlockKind::Fenced(info) => {
                        fence::parse(info).is_ok_and(|f| f.flag("template"))
                    }
                    pulldown_cmark::CodeBlockKind::Indented => false,
                };
                if !templated {
                    ranges.push(range);
                }
            }
            _ => {}
        }
    }
    ranges.sort_by_key(|r| r.start);
    let mut out = String::with_capacity(body.len() + ranges.len() * 32);
    let mut at = 0;
    for r in ranges {
        if r.start < at {
            continue; // nested inside a range already protected
        }
        out.push_str(&body[at..r.start]);
        // `+` keeps the whitespace around the tags exactly as it was.
        out.push_str("{%+ raw +%}");
        // A trailing newline stays outside, so the tag ends on the same line.
        let code = &body[r.clone()];
        let (code, nl) = match code.strip_suffix('\n') {
            Some(c) => (c, "\n"),
            None => (code, ""),
        };
        out.push_str(code);
        out.push_str("{%+ endraw +%}");
        out.push_str(nl);
        at = r.end;
    }
    out.push_str(&body[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> Values {
        let mut idx = ManifestIndex::default();
        idx.add_file(
            "db/cluster.yaml",
            "manifests/db/cluster.yaml".into(),
            "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata:\n  name: immich-database\nspec:\n  backup:\n    retentionPolicy: \"14d\"\n    barmanObjectStore:\n      serverName: immich-database-v1\n",
        )
        .unwrap();
        Values::new(Arc::new(idx))
    }

    fn expand_body(body: &str) -> Result<String> {
        values().expand(&page(body)).map(|e| e.text.into_owned())
    }

    fn page(body: &str) -> Page {
        crate::content::parse_page(
            format!("---\ntitle: T\n---\n{body}").into_bytes(),
            "p.md",
            "content/p.md".into(),
        )
        .unwrap()
    }

    #[test]
    fn prose_expressions_pull_manifest_values() {
        let p = page("Retention is {{ manifest(\"db/cluster.yaml\").spec.backup.retentionPolicy }}; next {{ manifest(\"db/cluster.yaml\").spec.backup.barmanObjectStore.serverName | next_lineage }}.\n");
        let out = values().expand(&p).unwrap();
        assert_eq!(out.text, "Retention is 14d; next immich-database-v2.\n");
    }

    #[test]
    fn code_keeps_go_templates_literally() {
        let body = "Use `{{ .Values.x }}` here.\n\n```yaml\nname: '{{path.basename}}'\n{% if x %}\n```\n\nAnd {{ 1 + 1 }}.\n";
        let out = expand_body(body).unwrap();
        assert_eq!(
            out,
            "Use `{{ .Values.x }}` here.\n\n```yaml\nname: '{{path.basename}}'\n{% if x %}\n```\n\nAnd 2.\n"
        );
    }

    #[test]
    fn template_flag_expands_a_block() {
        let body =
            "```bash {template}\necho {{ manifest(\"db/cluster.yaml\").metadata.name }}\n```\n";
        let out = expand_body(body).unwrap();
        assert!(out.contains("echo immich-database\n"), "{}", out);
    }

    #[test]
    fn heading_ids_are_not_comments() {
        let out = expand_body("## Steps {#steps}\n\n{{ 1 }}\n").unwrap();
        assert_eq!(out, "## Steps {#steps}\n\n1\n");
    }

    #[test]
    fn undefined_value_is_an_error_at_its_line() {
        let p = page("ok\n\nSee {{ manifest(\"db/cluster.yaml\").spec.backup.nope }}.\n");
        let err = values().expand(&p).unwrap_err();
        let loc = err.location.clone().unwrap();
        assert_eq!(
            (loc.file.to_str().unwrap(), loc.line),
            ("content/p.md", 6),
            "{err}"
        );
        assert!(err.message.contains("resolves to nothing"), "{err}");
    }

    #[test]
    fn missing_manifest_and_syntax_errors_are_reported() {
        let err = expand_body("{{ manifest(\"nope.yaml\").x }}\n").unwrap_err();
        assert!(err.message.contains("no manifest `nope.yaml`"), "{err}");
        let err = expand_body("a\n{{ 1 + }}\n").unwrap_err();
        assert_eq!(err.location.unwrap().line, 5);
        assert!(err.message.contains("syntax"));
    }

    #[test]
    fn loops_generate_tables_and_lines_map_back() {
        let body = "# T\n\n| name | server |\n|---|---|\n{% for c in manifests(kind=\"Cluster\") %}\n| {{ c.metadata.name }} | {{ c.spec.backup.barmanObjectStore.serverName }} |\n{% endfor %}\n\nend {{ 1 }}\n";
        let p = page(body);
        let v = values();
        let out = v.expand(&p).unwrap();
        assert!(
            out.text
                .contains("| immich-database | immich-database-v1 |\n\nend 1\n"),
            "{}",
            out.text
        );
        // "end" is on body line 9 of the source and line 7 of the output.
        assert_eq!(out.source_line(7), 9);
        assert_eq!(out.source_line(5), 5, "generated rows map to the loop");
        assert_eq!(out.source_line(2), 2);
    }

    #[test]
    fn lineage_helpers() {
        assert_eq!(
            next_lineage("immich-database-v1").unwrap(),
            "immich-database-v2"
        );
        assert_eq!(next_lineage("db-v19").unwrap(), "db-v20");
        assert!(next_lineage("immich-database").is_none());
        assert_eq!(split_lineage("a-b-v3"), Some(("a-b", 3)));
    }
}
