//! `docs check`: the docs against the manifests. Every YAML block is
//! accounted for, every quoted value resolves, links and anchors hold,
//! manifests validate, runbook steps are well formed, and the kit's rules
//! (lints) are kept.
//!
//! The checks read pages through their outlines: `docs check` builds them
//! without rendering, `docs build` and `docs serve` pass the ones they
//! rendered, and each command decides what a finding means for it.

pub mod blocks;
pub mod compare;
pub mod fix;
pub mod format;
pub mod lints;
pub mod steps;

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;

use crate::code::Code;
use crate::content::links::{LinkTarget, SiteLinks};
use crate::content::outline::Outline;
use crate::content::Page;
use crate::diagnostic::Diagnostic;
use crate::error::{Error, Location};
use crate::project::Project;
use crate::schema::Schemas;
use crate::values::Values;
pub use fix::Fix;

#[derive(Default)]
pub struct Report {
    pub diagnostics: Vec<Diagnostic>,
    pub fixes: Vec<Fix>,
    pub blocks: usize,
}

/// Expands and outlines every page (no HTML), then checks. Problems in one
/// page (an expression that resolves to nothing) are diagnostics, not fatal
/// errors, so that one run reports everything.
pub fn check_project(project: &Project, schemas: Option<&Schemas>) -> Report {
    let values = Values::new(project.manifests.clone());
    let results: Vec<_> = project
        .content
        .pages
        .par_iter()
        .map(|page| {
            values
                .expand(page)
                .and_then(|expanded| Outline::of(page, &expanded))
        })
        .collect();
    let mut early = Vec::new();
    let mut pages = Vec::new();
    for (page, result) in project.content.pages.iter().zip(results) {
        match result {
            Ok(outline) => pages.push((page, outline)),
            Err(e) => early.push(error_to_diagnostic(e)),
        }
    }
    let pairs: Vec<(&Page, &Outline)> = pages.iter().map(|(p, o)| (*p, o)).collect();
    let mut report = check_outlines(project, &pairs, schemas);
    report.diagnostics.append(&mut early);
    finish(project, &mut report.diagnostics);
    report
}

/// A fatal page error (an expression, malformed attributes) as a finding.
pub fn error_to_diagnostic(e: Error) -> Diagnostic {
    Diagnostic::error(
        e.code.unwrap_or(Code::Expression),
        e.location.unwrap_or_else(|| Location::file("content")),
        e.message,
    )
}

/// Checks pages whose outlines are known.
pub fn check_outlines(
    project: &Project,
    pages: &[(&Page, &Outline)],
    schemas: Option<&Schemas>,
) -> Report {
    let mut report = Report::default();
    let out = &mut report.diagnostics;
    check_links(project, pages, out);
    let idx = &project.manifests;
    let mut step_objects = Vec::new();
    for (page, outline) in pages {
        let mut cx = blocks::Ctx {
            page,
            manifests: idx,
            out,
            fixes: &mut report.fixes,
        };
        for block in &outline.blocks {
            blocks::check(&mut cx, block);
            report.blocks += 1;
        }
        steps::check(page, outline, schemas, out, &mut step_objects);
    }
    if let Some(schemas) = schemas {
        for m in idx.objects() {
            schemas.validate(&m.node, &|n| m.location(n), out);
        }
    }
    lints::scheduled_backup_cluster(idx, out);
    lints::cnpg_schedules(idx, out);
    lints::cnpg_lineage(idx, &step_objects, out);
    lints::cnpg_barman_deprecated(idx, out);
    lints::cnpg_recovery_comment(idx, out);
    lints::placeholders(idx, out);
    lints::kustomizations(idx, &project.root.join(&project.config.manifests_dir), out);
    if let Some(inv) = &project.config.secrets_inventory {
        let rel = inv.to_string_lossy().replace('\\', "/");
        match pages.iter().find(|(p, _)| p.rel == rel) {
            Some((page, outline)) => {
                let entries: Vec<(String, Location)> = outline
                    .table_rows
                    .iter()
                    .map(|(name, line)| (name.clone(), Location::new(&page.file, *line, 1)))
                    .collect();
                lints::secrets_inventory(idx, &entries, &Location::file(&page.file), out);
            }
            None => out.push(Diagnostic::error(
                Code::SecretNotInInventory,
                Location::file(crate::config::FILE_NAME),
                format!("`secrets_inventory` names `{rel}`, which is not a page"),
            )),
        }
    }
    finish(project, out);
    report
}

/// Links lead somewhere, and anchors name a heading (or step) of the page
/// they point to.
fn check_links(project: &Project, pages: &[(&Page, &Outline)], out: &mut Vec<Diagnostic>) {
    let links = SiteLinks::new(
        &project.content,
        project.root.join(&project.config.content_dir),
    );
    let ids: HashMap<&str, HashSet<String>> = pages
        .iter()
        .map(|(p, o)| (p.rel.as_str(), o.anchors().collect()))
        .collect();
    for (page, outline) in pages {
        for link in &outline.links {
            let (target, anchor) = match links.resolve(page, &link.dest) {
                LinkTarget::Unchanged => continue,
                LinkTarget::Broken(message) => {
                    out.push(Diagnostic::error(
                        Code::BrokenLink,
                        link.location.clone(),
                        message,
                    ));
                    continue;
                }
                LinkTarget::Page { target, anchor, .. } => (target, anchor),
            };
            let (Some(anchor), Some(known)) = (anchor, ids.get(target.as_str())) else {
                continue;
            };
            if anchor.is_empty() || known.contains(&anchor) {
                continue;
            }
            let mut d = Diagnostic::error(
                Code::BrokenAnchor,
                link.location.clone(),
                format!("`{target}` has no heading with id `#{anchor}`"),
            );
            if let Some(best) = crate::suggest::closest(&anchor, known.iter().map(String::as_str)) {
                d = d.with_note(format!("did you mean `#{best}`?"));
            }
            out.push(d);
        }
    }
}

/// Drops allowed codes, sorts by place, removes duplicates.
fn finish(project: &Project, diags: &mut Vec<Diagnostic>) {
    diags.retain(|d| !project.config.allow.contains(&d.code));
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
