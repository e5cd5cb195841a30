//! `docs check`: the docs against the manifests. Every YAML block is
//! accounted for, every quoted value resolves, links hold, manifests
//! validate, and the kit's rules (lints) are kept.

pub mod blocks;
pub mod compare;
pub mod explain;
pub mod format;
pub mod lints;
pub mod schema;
pub mod select;

use std::path::PathBuf;

use crate::claude_md;
use crate::content::Page;
use crate::diagnostic::Diagnostic;
use crate::error::{Error, Location, Result};
use crate::project::Project;
use crate::render::links::{check_anchors, SiteLinks};
use crate::render::markdown::{self, Mode, Rendered};
use crate::values::Values;
use schema::Schemas;

/// A rewrite of a drifted block from its manifest (`--fix`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    /// Page, relative to the repository root.
    pub file: PathBuf,
    /// Lines to replace, 1-based, `end_line` exclusive.
    pub first_line: usize,
    pub end_line: usize,
    /// Indentation of the fence, applied to every new line.
    pub indent: usize,
    pub text: String,
    pub what: String,
}

#[derive(Default)]
pub struct Report {
    pub diagnostics: Vec<Diagnostic>,
    pub fixes: Vec<Fix>,
    pub blocks: usize,
}

/// Renders every page for checking (no HTML), then checks. Problems in one
/// page (an expression that resolves to nothing) are diagnostics, not
/// fatal errors, so that one run reports everything.
pub fn check_project(project: &Project, schemas: Option<&Schemas>) -> Result<Report> {
    let values = Values::new(project.manifests.clone());
    let links = SiteLinks::new(
        &project.content,
        project.root.join(&project.config.content_dir),
    );
    let mut early = Vec::new();
    let mut rendered = Vec::new();
    for page in &project.content.pages {
        let result = values
            .expand(page)
            .and_then(|expanded| markdown::render(page, &expanded, &links, Mode::Scan));
        match result {
            Ok(r) => rendered.push((page, r)),
            Err(e) => early.push(error_to_diagnostic(e)),
        }
    }
    let pairs: Vec<(&Page, &Rendered)> = rendered.iter().map(|(p, r)| (*p, r)).collect();
    let mut report = check_rendered(project, &pairs, schemas, &values);
    early.append(&mut report.diagnostics);
    report.diagnostics = early;
    finish(project, &mut report.diagnostics);
    Ok(report)
}

fn error_to_diagnostic(e: Error) -> Diagnostic {
    Diagnostic::error(
        e.code.unwrap_or("expression"),
        e.location.unwrap_or_else(|| Location::file("content")),
        e.message,
    )
}

/// Checks pages that are already rendered (`docs build` passes its own).
pub fn check_rendered(
    project: &Project,
    pages: &[(&Page, &Rendered)],
    schemas: Option<&Schemas>,
    values: &Values,
) -> Report {
    let mut report = Report::default();
    let out = &mut report.diagnostics;
    for (_, r) in pages {
        out.extend(r.diagnostics.iter().cloned());
    }
    out.extend(check_anchors(pages));
    let idx = &project.manifests;
    let mut step_objects = Vec::new();
    for (page, r) in pages {
        let mut cx = blocks::Ctx {
            page,
            manifests: idx,
            schemas,
            out,
            fixes: &mut report.fixes,
            step_objects: &mut step_objects,
        };
        for block in &r.blocks {
            blocks::check(&mut cx, block);
            report.blocks += 1;
        }
    }
    if let Some(schemas) = schemas {
        for m in &idx.docs {
            schemas.validate(&m.node, &|n| m.location(n), out);
        }
    }
    lints::scheduled_backup_cluster(idx, out);
    lints::cnpg_schedules(idx, out);
    lints::cnpg_lineage(idx, &step_objects, out);
    lints::cnpg_barman_deprecated(idx, out);
    lints::placeholders(idx, out);
    lints::kustomizations(idx, &project.root.join(&project.config.manifests_dir), out);
    if let Some(inv) = &project.config.secrets_inventory {
        let rel = inv.to_string_lossy().replace('\\', "/");
        match pages.iter().find(|(p, _)| p.rel == rel) {
            Some((page, r)) => {
                let entries: Vec<(String, Location)> = r
                    .first_cells
                    .iter()
                    .map(|(name, line)| (name.clone(), Location::new(&page.display, *line, 1)))
                    .collect();
                lints::secrets_inventory(idx, &entries, &Location::file(&page.display), out);
            }
            None => out.push(Diagnostic::error(
                "secret-not-in-inventory",
                Location::file(crate::config::FILE_NAME),
                format!("`secrets_inventory` names `{rel}`, which is not a page"),
            )),
        }
    }
    match claude_md::generate(project, values) {
        Ok(Some(text)) => {
            let on_disk = std::fs::read_to_string(project.root.join(claude_md::FILE_NAME))
                .unwrap_or_default();
            if on_disk != text {
                out.push(
                    Diagnostic::error(
                        "claude-md-stale",
                        Location::file(claude_md::FILE_NAME),
                        "CLAUDE.md is not what its source page generates",
                    )
                    .with_note("run `docs build` and commit CLAUDE.md"),
                );
            }
        }
        Ok(None) => {}
        Err(e) => out.push(error_to_diagnostic(e)),
    }
    finish(project, out);
    report
}

/// Drops allowed codes, sorts by place, removes duplicates.
fn finish(project: &Project, diags: &mut Vec<Diagnostic>) {
    diags.retain(|d| !project.config.allow.iter().any(|a| a == d.code));
    diags.sort_by(|a, b| {
        (&a.location, a.severity, a.code, &a.message).cmp(&(
            &b.location,
            b.severity,
            b.code,
            &b.message,
        ))
    });
    diags.dedup();
}

/// Applies fixes to the pages: each file is rewritten atomically, only
/// after every new text has been computed.
pub fn apply_fixes(root: &std::path::Path, fixes: &[Fix]) -> Result<Vec<String>> {
    let mut by_file: std::collections::BTreeMap<&PathBuf, Vec<&Fix>> = Default::default();
    for f in fixes {
        by_file.entry(&f.file).or_default().push(f);
    }
    let mut planned = Vec::new();
    for (file, mut list) in by_file {
        let text =
            std::fs::read_to_string(root.join(file)).map_err(|e| Error::io(file, "read", e))?;
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        list.sort_by_key(|f| std::cmp::Reverse(f.first_line));
        let mut done = Vec::new();
        for f in list {
            let (a, b) = (f.first_line - 1, f.end_line - 1);
            if b > lines.len() || a > b {
                return Err(Error::at(
                    Location::new(file, f.first_line, 0),
                    "the page changed while checking; run again",
                ));
            }
            let pad = " ".repeat(f.indent);
            let new: Vec<String> = f
                .text
                .lines()
                .map(|l| {
                    if l.is_empty() {
                        String::new()
                    } else {
                        format!("{pad}{l}")
                    }
                })
                .collect();
            lines.splice(a..b, new);
            done.push(format!("fixed {}: {}", file.display(), f.what));
        }
        let mut out = lines.join("\n");
        if text.ends_with('\n') {
            out.push('\n');
        }
        planned.push((file.clone(), out, done));
    }
    let mut messages = Vec::new();
    for (file, text, done) in planned {
        crate::output::write_file_atomic(&root.join(&file), text.as_bytes(), &file)?;
        messages.extend(done.into_iter().rev());
    }
    Ok(messages)
}
