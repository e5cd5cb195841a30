//! `docs build`: render the site to disk after checking it, and regenerate
//! CLAUDE.md.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use super::plural;
use super::print::errln;
use crate::check;
use crate::cli::BuildArgs;
use crate::config::Config;
use crate::diagnostic::{count, Severity};
use crate::error::Result;
use crate::output::{self, guard};
use crate::project::Project;
use crate::render::{claude_md, site, theme::Theme};
use crate::values::Values;

pub fn run(root: &Path, args: &BuildArgs, color: bool) -> Result<ExitCode> {
    let started = Instant::now();
    let mut config = Config::load(root)?;
    if let Some(out) = &args.out {
        config.output_dir = out.clone();
    }
    if let Some(url) = &args.base_url {
        config.base_url = crate::config::normalize_base_url(url);
    }
    config.crds.extend(args.crds.iter().cloned());
    // Before any work: where the site goes must be a place we may replace.
    let out_dir = guard::check_dir(
        root,
        &config,
        &config.output_dir,
        guard::Dir::Site { force: args.force },
    )?;
    let project = Project::load_with(root, config)?;
    let theme = Theme::load(root, &project.config)?;
    let schemas = super::load_schemas(root, &project.config.crds)?;
    let loaded = started.elapsed();
    let site = site::build(&project, &theme)?;
    let rendered = started.elapsed();
    if !args.no_check {
        let pages: Vec<_> = project.content.pages.iter().zip(&site.outlines).collect();
        let diagnostics = check::check_outlines(&project, &pages, schemas.as_ref()).diagnostics;
        // Notes (the placeholder checklist) are for `docs check`.
        let shown: Vec<_> = diagnostics
            .iter()
            .filter(|d| d.severity != Severity::Note)
            .cloned()
            .collect();
        super::print_diagnostics(&shown, color);
        let errors = count(&diagnostics, Severity::Error);
        if errors > 0 {
            errln!(
                "error: the site has {errors} error{}; {} left untouched (`--no-check` publishes anyway)",
                plural(errors),
                project.config.output_dir.display()
            );
            return Ok(ExitCode::FAILURE);
        }
    }
    let claude = claude_md::generate(&project, &Values::new(project.manifests.clone()))?;
    let name = Path::new(claude_md::FILE_NAME);
    let claude_path = match &claude {
        Some(_) => Some(guard::check_file(
            root,
            &project.config,
            name,
            guard::File::ClaudeMd,
        )?),
        None => None,
    };
    let mut files = site.files;
    files.insert(guard::MARKER.into(), guard::MARKER_TEXT.into());
    output::replace_dir(&out_dir, &files, &project.config.output_dir)?;
    let mut wrote_claude = false;
    if let (Some(text), Some(path)) = (claude, claude_path) {
        wrote_claude = output::write_if_changed(&path, &text, name)?;
    }
    if std::env::var_os("DOCS_TIMINGS").is_some() {
        errln!(
            "timings: load {:?}, render {:?}, write {:?}",
            loaded,
            rendered - loaded,
            started.elapsed() - rendered
        );
    }
    let pages = project.content.pages.len();
    errln!(
        "Built {pages} page{} into {}{} in {} ms",
        plural(pages),
        project.config.output_dir.display(),
        if wrote_claude {
            " (CLAUDE.md updated)"
        } else {
            ""
        },
        started.elapsed().as_millis()
    );
    Ok(ExitCode::SUCCESS)
}
