//! YAML blocks in the docs, against the manifests:
//! - `source="PATH"` (+ `doc="Kind/name"`, `select="spec.backup"`): equal to
//!   the selected manifest node, or a subset of it with `excerpt`;
//! - `example`: only has to parse;
//! - `run`: a runbook step, checked by [`super::steps`] through the
//!   runbook model;
//! - no attribute: a Kubernetes object is matched by identity (kind,
//!   namespace, name) and checked as an excerpt; anything else is an error,
//!   so that nothing drifts silently.

use crate::code::Code;
use crate::content::outline::CodeBlock;
use crate::content::Page;
use crate::diagnostic::Diagnostic;
use crate::error::{byte_of_col, Location};
use crate::manifests::{Manifest, ManifestIndex};
use crate::yaml::{self, path, Node};

use super::compare::{self, Compare};
use super::Fix;

/// Attributes of a code block about what it shows (runbook steps have
/// theirs in [`crate::runbook::ATTRIBUTES`]).
pub const BLOCK_ATTRIBUTES: &[&str] =
    &["source", "doc", "select", "excerpt", "example", "template"];

fn known_attributes() -> impl Iterator<Item = &'static str> {
    BLOCK_ATTRIBUTES
        .iter()
        .chain(crate::runbook::ATTRIBUTES)
        .copied()
}

pub struct Ctx<'a> {
    pub page: &'a Page,
    pub manifests: &'a ManifestIndex,
    pub out: &'a mut Vec<Diagnostic>,
    pub fixes: &'a mut Vec<Fix>,
}

impl Ctx<'_> {
    fn block_loc(&self, block: &CodeBlock, node: &Node) -> Location {
        if block.info.flag("template") {
            // Generated text: only the fence line is meaningful.
            return Location::new(&self.page.file, block.line, block.indent + 1);
        }
        Location::new(
            &self.page.file,
            block.line + node.line,
            block.indent + node.col,
        )
    }

    fn fence_loc(&self, block: &CodeBlock) -> Location {
        Location::new(&self.page.file, block.line, block.indent + 1)
    }
}

pub fn check(cx: &mut Ctx, block: &CodeBlock) {
    check_attributes(cx, block);
    if block.info.flag("run") {
        return;
    }
    let lang = block.info.lang.to_ascii_lowercase();
    if lang != "yaml" && lang != "yml" {
        if block.info.get("source").is_some() {
            cx.out.push(Diagnostic::error(
                Code::Attribute,
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
                Location::new(&cx.page.file, block.line + line, block.indent + e.col)
            };
            cx.out.push(Diagnostic::error(
                Code::YamlInvalid,
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
        if !known_attributes().any(|k| k == key) {
            let hint = crate::suggest::closest(key, known_attributes())
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            let known: Vec<&str> = known_attributes().collect();
            cx.out.push(
                Diagnostic::error(
                    Code::Attribute,
                    cx.fence_loc(block),
                    format!("unknown code block attribute `{key}`{hint}"),
                )
                .with_note(format!("known attributes: {}", known.join(", "))),
            );
        }
    }
    if block.info.flag("excerpt") && block.info.get("source").is_none() {
        cx.out.push(Diagnostic::error(
            Code::Attribute,
            cx.fence_loc(block),
            "`excerpt` needs `source=`",
        ));
    }
}

fn check_source(cx: &mut Ctx, block: &CodeBlock, source: &str, docs: &[yaml::Document]) {
    let path = source.strip_prefix("manifests/").unwrap_or(source);
    let manifest = match cx.manifests.find(path, block.info.get("doc")) {
        Ok(m) => m,
        Err(e) => {
            cx.out.push(Diagnostic::error(
                Code::BlockNoManifest,
                cx.fence_loc(block),
                e,
            ));
            return;
        }
    };
    let steps = match path::parse(block.info.get("select").unwrap_or("")) {
        Ok(s) => s,
        Err(e) => {
            cx.out.push(Diagnostic::error(
                Code::Attribute,
                cx.fence_loc(block),
                format!("bad `select`: {e}"),
            ));
            return;
        }
    };
    let target = match path::select(&manifest.node, &steps) {
        Ok(t) => t,
        Err(e) => {
            cx.out.push(
                Diagnostic::error(
                    Code::SelectNothing,
                    cx.fence_loc(block),
                    format!(
                        "`select` selects nothing in {}: {e}",
                        manifest.file.display()
                    ),
                )
                .with_related(manifest.location(&manifest.node), "the manifest"),
            );
            return;
        }
    };
    let [doc] = docs else {
        cx.out.push(Diagnostic::error(
            Code::YamlInvalid,
            cx.fence_loc(block),
            format!(
                "a `source=` block holds one YAML document, found {}",
                docs.len()
            ),
        ));
        return;
    };
    let mode = if block.info.flag("excerpt") {
        Compare::Excerpt
    } else {
        Compare::Whole
    };
    report_drift(cx, block, &doc.root, manifest, target, mode, true);
}

fn check_identity(cx: &mut Ctx, block: &CodeBlock, obj: &Node) {
    let (Some(kind), Some(name)) = (obj.str_at(&["kind"]), obj.str_at(&["metadata", "name"]))
    else {
        cx.out.push(
            Diagnostic::error(Code::BlockUnchecked, cx.fence_loc(block), "this YAML block is not checked against any manifest")
                .with_note("add `source=\"path/in/manifests.yaml\"` (with `select=` for a part), or mark it `example`"),
        );
        return;
    };
    if obj.str_at(&["apiVersion"]).is_none() {
        cx.out.push(
            Diagnostic::error(
                Code::BlockUnchecked,
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
        [m] if ns.is_some() && m.node.at(&["metadata", "namespace"]).is_none() => {
            // The namespace comes from the kustomization that lists the
            // file (`by_identity` matched on it): the block shows the
            // object as applied, which is not drift.
            let shown = without_namespace(obj);
            report_drift(cx, block, &shown, m, &m.node, Compare::Excerpt, false)
        }
        [m] => report_drift(cx, block, obj, m, &m.node, Compare::Excerpt, false),
        [] => cx.out.push(
            Diagnostic::error(
                Code::BlockNoManifest,
                cx.fence_loc(block),
                format!("no manifest is a {kind} named `{name}`{}", ns.map(|n| format!(" in namespace `{n}`")).unwrap_or_default()),
            )
            .with_note("add `source=\"…\"` to say which manifest this shows, or mark the block `example`"),
        ),
        many => cx.out.push(Diagnostic::error(
            Code::BlockNoManifest,
            cx.fence_loc(block),
            format!(
                "{} manifests are a {kind} named `{name}` ({}); add `metadata.namespace` or `source=`",
                many.len(),
                many.iter().map(|m| m.file.display().to_string()).collect::<Vec<_>>().join(", ")
            ),
        )),
    }
}

/// The object without `metadata.namespace`.
fn without_namespace(obj: &Node) -> Node {
    let mut out = obj.clone();
    if let crate::yaml::Value::Map(pairs) = &mut out.value {
        for (k, v) in pairs.iter_mut() {
            if k.as_str() == Some("metadata") {
                if let crate::yaml::Value::Map(meta) = &mut v.value {
                    meta.retain(|(mk, _)| mk.as_str() != Some("namespace"));
                }
            }
        }
    }
    out
}

fn report_drift(
    cx: &mut Ctx,
    block: &CodeBlock,
    doc: &Node,
    manifest: &Manifest,
    target: &Node,
    mode: Compare,
    fixable: bool,
) {
    let diffs = compare::compare(doc, target, mode);
    let Some(first) = diffs.first() else { return };
    let doc_node = first.doc.unwrap_or(first.doc_parent);
    let man_node = first.manifest.unwrap_or(first.manifest_parent);
    let expected = match mode {
        Compare::Whole => target.to_serde(),
        Compare::Excerpt => compare::restrict(target, doc),
    };
    let old = serde_yaml::to_string(&expected).unwrap_or_default();
    let new = serde_yaml::to_string(&doc.to_serde()).unwrap_or_default();
    let mut d = Diagnostic::error(
        Code::BlockDrift,
        cx.block_loc(block, doc_node),
        format!(
            "this block differs from {}: {}",
            manifest.file.display(),
            first.describe()
        ),
    )
    .with_related(manifest.location(man_node), "manifest")
    .with_diff(crate::diff::unified(
        &manifest.file.display().to_string(),
        &old,
        &cx.page.file.display().to_string(),
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
    } else if mode == Compare::Whole {
        manifest_text(cx.manifests, manifest, target)
            .map(|text| Fix {
                file: cx.page.file.clone(),
                first_line: block.line + 1,
                end_line: block.line + 1 + block.code.lines().count(),
                indent: block.indent,
                text,
                what: format!(
                    "block at line {} from {}",
                    block.line,
                    manifest.file.display()
                ),
            })
            .into_iter()
            .collect()
    } else {
        excerpt_fixes(cx, block, manifest, &diffs)
    };
    if fixable && fixes.is_empty() && mode == Compare::Excerpt {
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
            file: cx.page.file.clone(),
            first_line: block.line + dn.line,
            end_line: block.line + dn.line + 1,
            indent: block.indent,
            text,
            what: format!(
                "`{}` at line {} from {}",
                m.path,
                block.line + dn.line,
                manifest.file.display()
            ),
        });
    }
    fixes
}

/// Byte range of the scalar starting at 1-based character column `col`:
/// a quoted string with its quotes, or a plain scalar up to a comment.
fn scalar_token(line: &str, col: usize) -> Option<std::ops::Range<usize>> {
    if col == 0 || col > line.chars().count() {
        return None;
    }
    let start = byte_of_col(line, col);
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
    // Columns count characters; the indentation itself is spaces.
    let indent = node.col - 1;
    let mut out = String::new();
    for (i, l) in lines[start..end].iter().enumerate() {
        // The first line of a block sequence or mapping starts at `col`.
        let cut = if i == 0 {
            let cut = byte_of_col(l, node.col);
            // Inside a flow collection (`{a: 1}`): no block text to copy.
            if l[..cut].trim_end().ends_with(['{', '[', ',']) {
                return None;
            }
            cut
        } else {
            // YAML indents with spaces (one byte each); `trim_start` would
            // also count Unicode spaces, which are more.
            l.bytes().take_while(|&b| b == b' ').count().min(indent)
        };
        out.push_str(&l[cut..]);
        out.push('\n');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_tokens_are_found_by_character_column() {
        let line = "€€: \"x y\" # note";
        let r = scalar_token(line, 5).unwrap();
        assert_eq!(&line[r], "\"x y\"");
        let line = "ä: plain value # c";
        assert_eq!(&line[scalar_token(line, 4).unwrap()], "plain value");
        assert_eq!(scalar_token(line, 0), None);
        assert_eq!(scalar_token(line, 99), None);
    }
}
