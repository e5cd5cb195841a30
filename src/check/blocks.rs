//! YAML blocks in the docs, against the manifests:
//! - `source="PATH"` (+ `doc="Kind/name"`, `select="spec.backup"`): equal to
//!   the selected manifest node, or a subset of it with `excerpt`;
//! - `example`: only has to parse;
//! - `run`: a runbook step; it must parse and name its object;
//! - no attribute: a Kubernetes object is matched by identity (kind,
//!   namespace, name) and checked as an excerpt; anything else is an error,
//!   so that nothing drifts silently.

use crate::content::Page;
use crate::diagnostic::Diagnostic;
use crate::error::Location;
use crate::manifests::{Manifest, ManifestIndex};
use crate::render::markdown::CodeBlock;
use crate::yaml::{self, Node};

use super::compare::{self, Mode};
use super::schema::Schemas;
use super::select;
use super::Fix;

/// Attributes a code block may carry.
pub const KNOWN_ATTRIBUTES: &[&str] = &[
    "source",
    "doc",
    "select",
    "excerpt",
    "example",
    "run",
    "name",
    "action",
    "destructive",
    "template",
    "wait",
    "timeout",
];

/// Runbook actions that take a complete object.
const OBJECT_ACTIONS: &[&str] = &["create", "apply"];
const ACTIONS: &[&str] = &["create", "apply", "delete", "patch", "assert", "wait"];

pub struct Ctx<'a> {
    pub page: &'a Page,
    pub manifests: &'a ManifestIndex,
    pub schemas: Option<&'a Schemas>,
    pub out: &'a mut Vec<Diagnostic>,
    pub fixes: &'a mut Vec<Fix>,
    /// Recovery Clusters found in runbook steps, for the lineage lint.
    pub step_objects: &'a mut Vec<(Node, Location)>,
}

impl Ctx<'_> {
    fn block_loc(&self, block: &CodeBlock, node: &Node) -> Location {
        if block.info.flag("template") {
            // Generated text: only the fence line is meaningful.
            return Location::new(&self.page.display, block.line, block.indent + 1);
        }
        Location::new(
            &self.page.display,
            block.line + node.line,
            block.indent + node.col,
        )
    }

    fn fence_loc(&self, block: &CodeBlock) -> Location {
        Location::new(&self.page.display, block.line, block.indent + 1)
    }
}

pub fn check(cx: &mut Ctx, block: &CodeBlock) {
    check_attributes(cx, block);
    let lang = block.info.lang.to_ascii_lowercase();
    if lang != "yaml" && lang != "yml" {
        if block.info.get("source").is_some() {
            cx.out.push(Diagnostic::error(
                "attribute",
                cx.fence_loc(block),
                format!(
                    "`source=` is only checked on yaml blocks, not `{}`",
                    block.info.lang
                ),
            ));
        }
        return;
    }
    let docs = match yaml::parse(&block.code) {
        Ok(d) => d,
        Err(e) => {
            let at = if block.info.flag("template") {
                cx.fence_loc(block)
            } else {
                // An error at the end of input is on the block's last line.
                let line = e.line.clamp(1, block.code.lines().count().max(1));
                Location::new(&cx.page.display, block.line + line, block.indent + e.col)
            };
            cx.out.push(Diagnostic::error(
                "yaml-invalid",
                at,
                format!("the YAML block does not parse: {}", e.message),
            ));
            return;
        }
    };
    let info = &block.info;
    if info.flag("example") {
        return;
    }
    if info.flag("run") {
        check_step(cx, block, &docs);
        return;
    }
    if let Some(source) = info.get("source") {
        check_source(cx, block, source, &docs);
        return;
    }
    if docs.is_empty() {
        return;
    }
    for doc in &docs {
        check_identity(cx, block, &doc.root);
    }
}

fn check_attributes(cx: &mut Ctx, block: &CodeBlock) {
    for (key, _) in &block.info.attrs {
        if !KNOWN_ATTRIBUTES.contains(&key.as_str()) {
            let hint = crate::suggest::closest(key, KNOWN_ATTRIBUTES.iter().copied())
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            cx.out.push(
                Diagnostic::error(
                    "attribute",
                    cx.fence_loc(block),
                    format!("unknown code block attribute `{key}`{hint}"),
                )
                .with_note(format!("known attributes: {}", KNOWN_ATTRIBUTES.join(", "))),
            );
        }
    }
    if block.info.flag("excerpt") && block.info.get("source").is_none() {
        cx.out.push(Diagnostic::error(
            "attribute",
            cx.fence_loc(block),
            "`excerpt` needs `source=`",
        ));
    }
}

fn check_step(cx: &mut Ctx, block: &CodeBlock, docs: &[yaml::Document]) {
    let action = block.info.get("action");
    let Some(action) = action else { return };
    if !ACTIONS.contains(&action) {
        cx.out.push(Diagnostic::error(
            "runbook-step",
            cx.fence_loc(block),
            format!(
                "unknown runbook action `{action}` (one of: {})",
                ACTIONS.join(", ")
            ),
        ));
        return;
    }
    if docs.len() != 1 {
        cx.out.push(Diagnostic::error(
            "runbook-step",
            cx.fence_loc(block),
            format!(
                "a `{action}` step takes exactly one object, found {}",
                docs.len()
            ),
        ));
        return;
    }
    let obj = &docs[0].root;
    for field in [&["apiVersion"][..], &["kind"], &["metadata", "name"]] {
        if obj.str_at(field).is_none() {
            cx.out.push(Diagnostic::error(
                "runbook-step",
                cx.fence_loc(block),
                format!(
                    "a `{action}` step must name its object: `{}` is missing",
                    field.join(".")
                ),
            ));
            return;
        }
    }
    let loc = cx.fence_loc(block);
    if OBJECT_ACTIONS.contains(&action) {
        if let Some(schemas) = cx.schemas {
            let page = cx.page.display.clone();
            let (line, indent, templated) = (block.line, block.indent, block.info.flag("template"));
            let locate = move |n: &Node| {
                if templated {
                    Location::new(&page, line, indent + 1)
                } else {
                    Location::new(&page, line + n.line, indent + n.col)
                }
            };
            schemas.validate(obj, &locate, cx.out);
        }
    }
    cx.step_objects.push((obj.clone(), loc));
}

fn check_source(cx: &mut Ctx, block: &CodeBlock, source: &str, docs: &[yaml::Document]) {
    let path = source.strip_prefix("manifests/").unwrap_or(source);
    let manifest = match cx.manifests.find(path, block.info.get("doc")) {
        Ok(m) => m,
        Err(e) => {
            cx.out.push(Diagnostic::error(
                "block-no-manifest",
                cx.fence_loc(block),
                e,
            ));
            return;
        }
    };
    let steps = match select::parse(block.info.get("select").unwrap_or("")) {
        Ok(s) => s,
        Err(e) => {
            cx.out.push(Diagnostic::error(
                "attribute",
                cx.fence_loc(block),
                format!("bad `select`: {e}"),
            ));
            return;
        }
    };
    let target = match select::select(&manifest.node, &steps) {
        Ok(t) => t,
        Err(e) => {
            cx.out.push(
                Diagnostic::error(
                    "select-nothing",
                    cx.fence_loc(block),
                    format!(
                        "`select` selects nothing in {}: {e}",
                        manifest.display.display()
                    ),
                )
                .with_related(manifest.location(&manifest.node), "the manifest"),
            );
            return;
        }
    };
    let [doc] = docs else {
        cx.out.push(Diagnostic::error(
            "yaml-invalid",
            cx.fence_loc(block),
            format!(
                "a `source=` block holds one YAML document, found {}",
                docs.len()
            ),
        ));
        return;
    };
    let mode = if block.info.flag("excerpt") {
        Mode::Excerpt
    } else {
        Mode::Equal
    };
    report_drift(cx, block, &doc.root, manifest, target, mode, true);
}

fn check_identity(cx: &mut Ctx, block: &CodeBlock, obj: &Node) {
    let (Some(kind), Some(name)) = (obj.str_at(&["kind"]), obj.str_at(&["metadata", "name"]))
    else {
        cx.out.push(
            Diagnostic::error("block-unchecked", cx.fence_loc(block), "this YAML block is not checked against any manifest")
                .with_note("add `source=\"path/in/manifests.yaml\"` (with `select=` for a part), or mark it `example`"),
        );
        return;
    };
    if obj.str_at(&["apiVersion"]).is_none() {
        cx.out.push(
            Diagnostic::error(
                "block-unchecked",
                cx.fence_loc(block),
                "this YAML block has a kind and a name but no apiVersion, so it names no manifest",
            )
            .with_note("add `apiVersion`, `source=`, or mark it `example`"),
        );
        return;
    }
    let ns = obj.str_at(&["metadata", "namespace"]);
    let found: Vec<&Manifest> = cx.manifests.by_identity(kind, name, ns).collect();
    match found.as_slice() {
        [m] => report_drift(cx, block, obj, m, &m.node, Mode::Excerpt, false),
        [] => cx.out.push(
            Diagnostic::error(
                "block-no-manifest",
                cx.fence_loc(block),
                format!("no manifest is a {kind} named `{name}`{}", ns.map(|n| format!(" in namespace `{n}`")).unwrap_or_default()),
            )
            .with_note("add `source=\"…\"` to say which manifest this shows, or mark the block `example`"),
        ),
        many => cx.out.push(Diagnostic::error(
            "block-no-manifest",
            cx.fence_loc(block),
            format!(
                "{} manifests are a {kind} named `{name}` ({}); add `metadata.namespace` or `source=`",
                many.len(),
                many.iter().map(|m| m.display.display().to_string()).collect::<Vec<_>>().join(", ")
            ),
        )),
    }
}

fn report_drift(
    cx: &mut Ctx,
    block: &CodeBlock,
    doc: &Node,
    manifest: &Manifest,
    target: &Node,
    mode: Mode,
    fixable: bool,
) {
    let diffs = compare::compare(doc, target, mode);
    let Some(first) = diffs.first() else { return };
    let doc_node = first.doc.unwrap_or(first.doc_parent);
    let man_node = first.manifest.unwrap_or(first.manifest_parent);
    let expected = match mode {
        Mode::Equal => target.to_serde(),
        Mode::Excerpt => compare::restrict(target, doc),
    };
    let old = serde_yaml::to_string(&expected).unwrap_or_default();
    let new = serde_yaml::to_string(&doc.to_serde()).unwrap_or_default();
    let mut d = Diagnostic::error(
        "block-drift",
        cx.block_loc(block, doc_node),
        format!(
            "this block differs from {}: {}",
            manifest.display.display(),
            first.describe()
        ),
    )
    .with_related(manifest.location(man_node), "manifest")
    .with_diff(crate::diff::unified(
        &manifest.display.display().to_string(),
        &old,
        &cx.page.display.display().to_string(),
        &new,
    ));
    if diffs.len() > 1 {
        d = d.with_note(format!(
            "{} more difference{} in this block",
            diffs.len() - 1,
            if diffs.len() > 2 { "s" } else { "" }
        ));
    }
    let fixes = if !fixable || block.info.flag("template") {
        Vec::new()
    } else if mode == Mode::Equal {
        manifest_text(cx.manifests, manifest, target)
            .map(|text| Fix {
                file: cx.page.display.clone(),
                first_line: block.line + 1,
                end_line: block.line + 1 + block.code.lines().count(),
                indent: block.indent,
                text,
                what: format!(
                    "block at line {} from {}",
                    block.line,
                    manifest.display.display()
                ),
            })
            .into_iter()
            .collect()
    } else {
        excerpt_fixes(cx, block, manifest, &diffs)
    };
    if fixable && fixes.is_empty() && mode == Mode::Excerpt {
        d = d.with_note("`--fix` can only change values in an excerpt; add or remove keys by hand");
    }
    cx.fixes.extend(fixes);
    cx.out.push(d);
}

/// In-place fixes of an excerpt whose differences are all changed scalar
/// values: each value token is replaced by the manifest's own token. Any
/// other difference (a key added or missing) leaves it to a person.
fn excerpt_fixes(
    cx: &Ctx,
    block: &CodeBlock,
    manifest: &Manifest,
    diffs: &[compare::Mismatch],
) -> Vec<Fix> {
    let Some(source) = cx.manifests.sources.get(&manifest.path) else {
        return Vec::new();
    };
    let code: Vec<&str> = block.code.lines().collect();
    let man_lines: Vec<&str> = source.lines().collect();
    let mut fixes = Vec::new();
    for m in diffs {
        let (Some(dn), Some(mn)) = (m.doc, m.manifest) else {
            return Vec::new();
        };
        if matches!(dn.value, yaml::Value::Map(_) | yaml::Value::Seq(_))
            || matches!(mn.value, yaml::Value::Map(_) | yaml::Value::Seq(_))
        {
            return Vec::new();
        }
        let (Some(line), Some(mline)) = (code.get(dn.line - 1), man_lines.get(mn.line - 1)) else {
            return Vec::new();
        };
        let (Some(old), Some(new)) = (scalar_token(line, dn.col), scalar_token(mline, mn.col))
        else {
            return Vec::new();
        };
        let text = format!(
            "{}{}{}\n",
            &line[..old.start],
            &mline[new.clone()],
            &line[old.end..]
        );
        fixes.push(Fix {
            file: cx.page.display.clone(),
            first_line: block.line + dn.line,
            end_line: block.line + dn.line + 1,
            indent: block.indent,
            text,
            what: format!(
                "`{}` at line {} from {}",
                m.path,
                block.line + dn.line,
                manifest.display.display()
            ),
        });
    }
    fixes
}

/// Byte range of the scalar starting at 1-based character column `col`:
/// a quoted string with its quotes, or a plain scalar up to a comment.
fn scalar_token(line: &str, col: usize) -> Option<std::ops::Range<usize>> {
    let start = line.char_indices().nth(col - 1).map(|(i, _)| i)?;
    let rest = &line[start..];
    let len = match rest.chars().next()? {
        q @ ('"' | '\'') => {
            let mut escaped = false;
            let end = rest[1..].char_indices().find(|&(_, c)| {
                let close = c == q && !escaped;
                escaped = q == '"' && c == '\\' && !escaped;
                close
            })?;
            end.0 + 2
        }
        '|' | '>' => return None,
        _ => rest.find(" #").unwrap_or(rest.len()),
    };
    let token = &rest[..len];
    Some(start..start + token.trim_end().len())
}

/// The manifest's own text for a node (comments and quoting kept),
/// dedented, without trailing blank or comment-only lines.
fn manifest_text(index: &ManifestIndex, manifest: &Manifest, node: &Node) -> Option<String> {
    if !matches!(node.value, yaml::Value::Map(_) | yaml::Value::Seq(_)) {
        return None;
    }
    let text = index.sources.get(&manifest.path)?;
    let lines: Vec<&str> = text.lines().collect();
    let start = node.line.checked_sub(1)?;
    let mut end = (node.end_line - 1).min(lines.len());
    while end > start && {
        let t = lines[end - 1].trim();
        t.is_empty() || t.starts_with('#') || t == "---" || t == "..."
    } {
        end -= 1;
    }
    let indent = node.col - 1;
    let mut out = String::new();
    for (i, l) in lines[start..end].iter().enumerate() {
        // The first line of a block sequence or mapping starts at `col`.
        let cut = if i == 0 {
            indent.min(l.len())
        } else {
            l.len() - l.trim_start().len()
        };
        let cut = if i == 0 { cut } else { cut.min(indent) };
        out.push_str(&l[cut..]);
        out.push('\n');
    }
    Some(out)
}
