//! Values pulled out of the manifests into prose and tables, so that a
//! serverName, a schedule or a retention quoted in the guide cannot drift.
//!
//! A page is a minijinja template with `{{ … }}` expressions and `{% … %}`
//! tags (comments are `{## … ##}`, since `{#id}` sets a heading's id).
//! Code blocks are literal: fenced and indented blocks are wrapped in
//! `{% raw %}` before rendering, so Argo CD or Helm `{{ .Values }}` in them
//! survives untouched — unless a fenced block carries the `template` flag.
//! Inline code is prose: `` `{{ name }}` `` shows a value in monospace; to
//! show literal braces inline, wrap them in `{% raw %}…{% endraw %}`.
//!
//! Functions and filters:
//! - `manifest(path, doc="Kind/name")`: a manifest document (path relative
//!   to the manifests directory), e.g.
//!   `{{ manifest("infrastructure/database/cnpg/immich/cluster.yaml").spec.backup.retentionPolicy }}`;
//! - `manifests(kind="Cluster")`: every document of a kind, in path order;
//! - `| next_lineage`: `immich-database-v1` → `immich-database-v2`;
//! - `| cron_words`: a CloudNativePG schedule in words;
//! - `| cnpg_recovery`: the Cluster to create for a disaster recovery,
//!   derived from a Cluster manifest (see [`crate::cnpg::recovery_cluster`]);
//!   `| cnpg_recovery(name=vars.new_name, target_time=vars.target_time)`
//!   for a point-in-time recovery beside the live Cluster;
//! - `| to_yaml`: a value as a YAML document;
//! - `| by_sync_wave`: Argo CD Applications that have a
//!   `argocd.argoproj.io/sync-wave` annotation, in wave order, then by name.
//!
//! Undefined values are errors: an expression that resolves to nothing is
//! reported at its file and line, never rendered as an empty string.

use std::collections::BTreeMap;
use std::sync::Arc;

use minijinja::value::{Kwargs, Serde, Value};
use minijinja::{Environment, ErrorKind, UndefinedBehavior};
use pulldown_cmark::{Event, Tag};

use crate::cnpg::next_lineage;
use crate::code::Code;
use crate::content::{fence, outline, Expanded, Page};
use crate::error::{Error, Result};
use crate::manifests::ManifestIndex;

const SYNC_WAVE: &str = "argocd.argoproj.io/sync-wave";

/// Most template instructions one page may run. A page of the kit runs a
/// few thousand; two nested `range(99999)` loops would run for hours and
/// hang `check`, `build` and `serve` on a typo. At about 10 ns each, this
/// is well under a second.
pub const MAX_TEMPLATE_STEPS: u64 = 20_000_000;

pub struct Values {
    env: Environment<'static>,
}

impl Values {
    pub fn new(manifests: Arc<ManifestIndex>) -> Values {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_fuel(Some(MAX_TEMPLATE_STEPS));
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
                crate::cnpg::cron::describe(s)
                    .map_err(|e| minijinja::Error::new(ErrorKind::InvalidOperation, e))
            },
        );
        env.add_filter(
            "cnpg_recovery",
            |cluster: Value, kwargs: Kwargs| -> Result<Value, minijinja::Error> {
                let opts = crate::cnpg::RecoveryOptions {
                    name: kwargs.get("name")?,
                    target_time: kwargs.get("target_time")?,
                };
                kwargs.assert_all_used()?;
                let yaml: serde_yaml::Value = serde_yaml::to_value(&cluster).map_err(|e| {
                    minijinja::Error::new(ErrorKind::InvalidOperation, e.to_string())
                })?;
                crate::cnpg::recovery_cluster(&yaml, &opts)
                    .map(|v| Value::from(Serde(v)))
                    .map_err(|e| minijinja::Error::new(ErrorKind::InvalidOperation, e))
            },
        );
        env.add_filter("to_yaml", |v: Value| -> Result<String, minijinja::Error> {
            let text = serde_yaml::to_string(&v)
                .map_err(|e| minijinja::Error::new(ErrorKind::InvalidOperation, e.to_string()))?;
            Ok(text.trim_end().to_string())
        });
        env.add_filter("by_sync_wave", |apps: Vec<Value>| -> Vec<Value> {
            let mut waves: Vec<(i64, String, Value)> = apps
                .into_iter()
                .filter_map(|a| {
                    let meta = a.get_attr("metadata").ok()?;
                    let wave = meta
                        .get_attr("annotations")
                        .ok()?
                        .get_item(&Value::from(SYNC_WAVE))
                        .ok()
                        .filter(|v| !v.is_undefined())?;
                    let wave = wave
                        .as_str()
                        .and_then(|w| w.trim().parse().ok())
                        .or_else(|| i64::try_from(wave).ok())?;
                    let name = meta.get_attr("name").ok()?.to_string();
                    Some((wave, name, a))
                })
                .collect();
            waves.sort_by(|x, y| (x.0, &x.1).cmp(&(y.0, &y.1)));
            waves.into_iter().map(|(_, _, a)| a).collect()
        });
        Values { env }
    }

    /// Expands the expressions of a page body as the site shows it: runbook
    /// variables (`{{ vars.NAME }}`) are their defaults, or `<NAME>` when
    /// they have none. Returns the body unchanged (borrowed) when it has no
    /// expressions.
    pub fn expand<'a>(&self, page: &'a Page) -> Result<Expanded<'a>> {
        self.expand_with(page, &site_vars(page))
    }

    /// Expands a page body with these runbook variables (what `docs run`
    /// executes).
    pub fn expand_with<'a>(
        &self,
        page: &'a Page,
        vars: &BTreeMap<String, String>,
    ) -> Result<Expanded<'a>> {
        let body = page.body.as_str();
        if !body.contains("{{") && !body.contains("{%") {
            return Ok(Expanded::unexpanded(body));
        }
        let protected = protect_code(body).map_err(|e| {
            let line = e.line;
            e.into_error(page.body_location(line, 0))
        })?;
        let ctx = minijinja::context! { vars => vars };
        let text = self.env.render_str(&protected, ctx).map_err(|e| {
            let line = e.line().unwrap_or(1);
            Error::at(page.body_location(line, 0), describe_error(&e)).with_code(Code::Expression)
        })?;
        Ok(Expanded::new(body, text))
    }
}

/// The variables of a page as the site shows them.
pub fn site_vars(page: &Page) -> BTreeMap<String, String> {
    page.front
        .variables
        .0
        .iter()
        .map(|(name, v)| {
            let shown = match &v.default {
                Some(d) if !v.secret => d.clone(),
                _ => format!("<{name}>"),
            };
            (name.clone(), shown)
        })
        .collect()
}

fn describe_error(e: &minijinja::Error) -> String {
    let what = match e.kind() {
        ErrorKind::UndefinedError => "expression resolves to nothing".to_string(),
        ErrorKind::SyntaxError => "template syntax error".to_string(),
        ErrorKind::UnknownFunction => "unknown function".to_string(),
        ErrorKind::UnknownFilter => "unknown filter".to_string(),
        ErrorKind::OutOfFuel => {
            return format!(
            "the page's expressions run more than {MAX_TEMPLATE_STEPS} steps (a loop too large?)"
        )
        }
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

/// Wraps code blocks (fenced and indented) in `{% raw %}` so that template
/// syntax inside them is left alone. Fenced blocks with the `template` flag
/// are expanded like prose.
fn protect_code(body: &str) -> Result<String, outline::ParserPanic> {
    let mut ranges = Vec::new();
    for (event, range) in outline::events(body)? {
        if let Event::Start(Tag::CodeBlock(kind)) = event {
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
    Ok(out)
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
        let body = "Use `{% raw %}{{ .Values.x }}{% endraw %}` and `{{ 1 + 2 }}`.\n\n```yaml\nname: '{{path.basename}}'\n{% if x %}\n```\n\n    {{ indented }}\n\nAnd {{ 1 + 1 }}.\n";
        let out = expand_body(body).unwrap();
        assert_eq!(
            out,
            "Use `{{ .Values.x }}` and `3`.\n\n```yaml\nname: '{{path.basename}}'\n{% if x %}\n```\n\n    {{ indented }}\n\nAnd 2.\n"
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
    fn a_runaway_loop_is_an_error_not_a_hang() {
        // 10^10 iterations: without the bound `docs check` hung on it.
        let p = page("ok\n\n{% for a in range(99999) %}{% for b in range(99999) %}{% endfor %}{% endfor %}\n");
        let err = values().expand(&p).unwrap_err();
        assert_eq!(err.location.as_ref().unwrap().line, 6, "{err}");
        assert!(err.message.contains("more than 20000000 steps"), "{err}");
        // A loop of a real page's size is fine.
        let out = expand_body("{% for a in range(1000) %}{{ a }} {% endfor %}\n").unwrap();
        assert!(out.trim_end().ends_with("998 999"), "{out}");
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
        assert_eq!(
            out.source_line(5),
            6,
            "generated rows map to the row template"
        );
        assert_eq!(out.source_line(3), 3);
    }

    #[test]
    fn alignment_survives_sets_and_multi_line_values() {
        let body = "{% set c = manifest(\"db/cluster.yaml\") %}\n# T\n\n```yaml {template}\n{{ c | cnpg_recovery | to_yaml }}\n```\n\nline {{ 2 }}\n\nlast\n";
        let p = page(body);
        let v = values();
        let out = v.expand(&p).unwrap();
        assert!(
            out.text.contains("serverName: immich-database-v2"),
            "{}",
            out.text
        );
        let lines: Vec<&str> = out.text.lines().collect();
        let last = lines.iter().position(|l| *l == "last").unwrap() + 1;
        let line2 = lines.iter().position(|l| *l == "line 2").unwrap() + 1;
        assert_eq!(out.source_line(last), 10);
        assert_eq!(out.source_line(line2), 8);
        assert_eq!(out.source_line(1), 2, "the set line produced nothing");
        let yaml_line = lines
            .iter()
            .position(|l| l.contains("immich-database-v2"))
            .unwrap()
            + 1;
        assert_eq!(
            out.source_line(yaml_line),
            5,
            "generated YAML maps to its expression"
        );
        assert_eq!(out.source_line(2), 3, "the blank line after the heading");
    }

    #[test]
    fn cnpg_recovery_takes_runbook_variables() {
        let body = "---\ntitle: T\nrunbook: true\nvariables:\n  new_name:\n    description: d\n    default: db-pitr\n  target_time:\n    description: t\n---\n```yaml {template}\n{{ manifest(\"db/cluster.yaml\") | cnpg_recovery(name=vars.new_name, target_time=vars.target_time) | to_yaml }}\n```\n";
        let p = crate::content::parse_page(body.as_bytes().to_vec(), "p.md", "content/p.md".into())
            .unwrap();
        let v = values();
        // The site shows the default name and the unset time as `<target_time>`.
        let shown = v.expand(&p).unwrap().text.into_owned();
        assert!(shown.contains("name: db-pitr"), "{shown}");
        assert!(shown.contains("targetTime: <target_time>"), "{shown}");
        assert!(
            !shown.contains("backup:"),
            "a side cluster has no backup: {shown}"
        );
        // `docs run --var` values are checked.
        let mut vars = BTreeMap::new();
        vars.insert("new_name".to_string(), "db-pitr".to_string());
        vars.insert("target_time".to_string(), "2026-11-24 03:00".to_string());
        let err = v.expand_with(&p, &vars).unwrap_err();
        assert!(err.message.contains("not a timestamp"), "{err}");
        vars.insert(
            "target_time".to_string(),
            "2026-11-24T03:00:00Z".to_string(),
        );
        let run = v.expand_with(&p, &vars).unwrap().text.into_owned();
        assert!(
            run.contains("targetTime: 2026-11-24T03:00:00Z")
                || run.contains("targetTime: '2026-11-24T03:00:00Z'"),
            "{run}"
        );
        // An unknown keyword is an error, not ignored.
        let bad = body.replace("target_time=vars", "target=vars");
        let p =
            crate::content::parse_page(bad.into_bytes(), "p.md", "content/p.md".into()).unwrap();
        assert!(v.expand(&p).is_err());
    }

    #[test]
    fn applications_sort_by_numeric_wave() {
        let mut idx = ManifestIndex::default();
        let app = |name: &str, wave: &str| {
            format!("apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: {name}\n  annotations:\n    argocd.argoproj.io/sync-wave: \"{wave}\"\n")
        };
        idx.add_file("a.yaml", "manifests/a.yaml".into(), &app("db", "10"))
            .unwrap();
        idx.add_file("b.yaml", "manifests/b.yaml".into(), &app("cni", "-1"))
            .unwrap();
        idx.add_file("c.yaml", "manifests/c.yaml".into(), &app("apps", "2"))
            .unwrap();
        idx.add_file(
            "d.yaml",
            "manifests/d.yaml".into(),
            "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: root\n",
        )
        .unwrap();
        let v = Values::new(Arc::new(idx));
        let p = page("{% for a in manifests(kind=\"Application\") | by_sync_wave %}{{ a.metadata.name }} {% endfor %}\n");
        let out = v.expand(&p).unwrap();
        assert_eq!(out.text, "cni apps db ");
    }
}
