//! `docs check`: report what drifted; optionally fix it.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use super::plural;
use super::print::{errln, outln};
use crate::check::{self, format};
use crate::cli::{CheckArgs, Deny, Format};
use crate::code::Code;
use crate::config::Config;
use crate::diagnostic::{count, Diagnostic, Severity};
use crate::error::{Error, Location, Result};
use crate::output::guard;
use crate::project::Project;
use crate::render::claude_md;
use crate::values::Values;

pub fn run(root: &Path, args: &CheckArgs, color: bool) -> Result<ExitCode> {
    if let Some(name) = &args.explain {
        return match Code::parse(name) {
            Some(code) => {
                outln!("{code}\n\n{}", code.explain());
                Ok(ExitCode::SUCCESS)
            }
            None => {
                let codes: Vec<&str> = Code::ALL.iter().map(|c| c.as_str()).collect();
                Err(Error::new(format!(
                    "no check has the code `{name}`; codes: {}",
                    codes.join(", ")
                )))
            }
        };
    }
    let mut config = Config::load(root)?;
    config.crds.extend(args.crds.iter().cloned());
    let mut schemas = super::load_schemas(root, &config.crds)?;
    if args.crds_from_cluster {
        let target = crate::cluster::Target {
            kubeconfig: args.kubeconfig.clone(),
            context: args.context.clone(),
        };
        let crds = super::runtime()?
            .block_on(crate::cluster::crds(&target))
            .map_err(|e| Error::new(format!("cannot list CustomResourceDefinitions: {e}")))?;
        if crds.is_empty() {
            return Err(Error::new(
                "the cluster has no CustomResourceDefinitions to validate against",
            ));
        }
        schemas
            .get_or_insert_with(Default::default)
            .add_from_cluster(&crds)?;
    }
    let mut project = Project::load_with(root, config.clone())?;
    let mut report = check_all(&project, schemas.as_ref())?;
    if args.fix && !report.fixes.is_empty() {
        let planned = check::fix::plan(root, &report.fixes)?;
        // Every target is checked before the first file is written.
        let targets = planned
            .iter()
            .map(|p| guard::check_file(root, &config, &p.file, guard::File::Page))
            .collect::<Result<Vec<_>>>()?;
        for (p, target) in planned.iter().zip(&targets) {
            crate::output::write_file_atomic(target, p.text.as_bytes(), &p.file)?;
            for line in &p.done {
                errln!("{line}");
            }
        }
        project = Project::load_with(root, config)?;
        report = check_all(&project, schemas.as_ref())?;
    }
    let diags = &report.diagnostics;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    // A closed pipe (`docs check | head`) ends the listing, not the process.
    match args.format {
        Format::Human => super::print_diagnostics(diags, color),
        Format::Json => {
            for d in diags {
                if writeln!(out, "{}", format::json(d)).is_err() {
                    break;
                }
            }
        }
        Format::Github => {
            for d in diags {
                if writeln!(out, "{}", format::github(d)).is_err() {
                    break;
                }
            }
        }
    }
    let (errors, warnings, notes) = (
        count(diags, Severity::Error),
        count(diags, Severity::Warning),
        count(diags, Severity::Note),
    );
    let crds = schemas
        .as_ref()
        .map(|s| format!(", validated against {} CRD{}", s.files, plural(s.files)))
        .unwrap_or_default();
    errln!(
        "checked {} page{}, {} code block{} and {} manifest{}{crds}: {errors} error{}, {warnings} warning{}, {notes} note{}",
        project.content.pages.len(),
        plural(project.content.pages.len()),
        report.blocks,
        plural(report.blocks),
        project.manifests.docs.len(),
        plural(project.manifests.docs.len()),
        plural(errors),
        plural(warnings),
        plural(notes),
    );
    let failed = errors > 0 || (args.deny == Some(Deny::Warnings) && warnings > 0);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The checks, plus whether CLAUDE.md is what its page generates (which
/// only `docs check` asks: building is what regenerates it).
fn check_all(project: &Project, schemas: Option<&crate::schema::Schemas>) -> Result<check::Report> {
    let mut report = check::check_project(project, schemas);
    match claude_md::generate(project, &Values::new(project.manifests.clone())) {
        Ok(Some(text)) => {
            let on_disk = std::fs::read_to_string(project.root.join(claude_md::FILE_NAME))
                .unwrap_or_default();
            if on_disk != text && !project.config.allow.contains(&Code::ClaudeMdStale) {
                report.diagnostics.push(
                    Diagnostic::error(
                        Code::ClaudeMdStale,
                        Location::file(claude_md::FILE_NAME),
                        "CLAUDE.md is not what its source page generates",
                    )
                    .with_note("run `docs build` and commit CLAUDE.md"),
                );
            }
        }
        Ok(None) => {}
        Err(e) => report.diagnostics.push(check::error_to_diagnostic(e)),
    }
    Ok(report)
}
