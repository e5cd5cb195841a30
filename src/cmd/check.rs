//! `docs check`: report what drifted; optionally fix it.

use std::io::Write;
use std::process::ExitCode;

use crate::check::{self, explain, format::Format};
use crate::cli::{CheckArgs, Deny};
use crate::config::Config;
use crate::diagnostic::{count, Severity};
use crate::error::{Error, Result};
use crate::project::Project;

pub fn run(root: &std::path::Path, args: &CheckArgs, color: bool) -> Result<ExitCode> {
    if let Some(code) = &args.explain {
        return match explain::explain(code) {
            Some(text) => {
                println!("{code}\n\n{text}");
                Ok(ExitCode::SUCCESS)
            }
            None => {
                let codes: Vec<&str> = explain::CODES.iter().map(|(c, _)| *c).collect();
                Err(Error::new(format!(
                    "no check has the code `{code}`; codes: {}",
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
        let crds = crate::cluster::crds(&target)?;
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
    let mut report = check::check_project(&project, schemas.as_ref())?;
    if args.fix && !report.fixes.is_empty() {
        for line in check::apply_fixes(root, &report.fixes)? {
            eprintln!("{line}");
        }
        project = Project::load_with(root, config)?;
        report = check::check_project(&project, schemas.as_ref())?;
    }
    let diags = &report.diagnostics;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match args.format {
        Format::Human => super::print_diagnostics(diags, color),
        Format::Json => diags.iter().for_each(|d| {
            let _ = writeln!(out, "{}", check::format::json(d));
        }),
        Format::Github => diags.iter().for_each(|d| {
            let _ = writeln!(out, "{}", check::format::github(d));
        }),
    }
    let (errors, warnings, notes) = (
        count(diags, Severity::Error),
        count(diags, Severity::Warning),
        count(diags, Severity::Note),
    );
    let crds = schemas
        .as_ref()
        .map(|s| {
            format!(
                ", validated against {} CRD{}",
                s.files,
                super::build::plural(s.files)
            )
        })
        .unwrap_or_default();
    eprintln!(
        "checked {} page{}, {} code block{} and {} manifest{}{crds}: {errors} error{}, {warnings} warning{}, {notes} note{}",
        project.content.pages.len(),
        super::build::plural(project.content.pages.len()),
        report.blocks,
        super::build::plural(report.blocks),
        project.manifests.docs.len(),
        super::build::plural(project.manifests.docs.len()),
        super::build::plural(errors),
        super::build::plural(warnings),
        super::build::plural(notes),
    );
    let failed = errors > 0 || (args.deny == Some(Deny::Warnings) && warnings > 0);
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
