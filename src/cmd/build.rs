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
use crate::output::{self, guard, Then};
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
    let r = site::Renderer::new(&project, &theme);
    let mut rendered = loaded;
    let name = Path::new(claude_md::FILE_NAME);
    // Pages go to disk as they are rendered (the site is never all in
    // memory); the checks read the outlines kept of them, and a site with
    // errors is discarded before it replaces the previous one.
    let outcome = output::replace_dir_with(&out_dir, &project.config.output_dir, |w| {
        let infos = r.stream_pages(|_, url, html| w.write(url, html.as_bytes()))?;
        // The rest of the site is written while the checks run.
        let (written, diagnostics) = rayon::join(
            || {
                let mut files = r.site_files(&infos)?;
                files.insert(guard::MARKER.into(), guard::MARKER_TEXT.into());
                w.write_all(&files)
            },
            || {
                let pages: Vec<_> = project
                    .content
                    .pages
                    .iter()
                    .zip(infos.iter().map(|i| &i.outline))
                    .collect();
                (!args.no_check)
                    .then(|| check::check_outlines(&project, &pages, schemas.as_ref()).diagnostics)
            },
        );
        written?;
        rendered = started.elapsed();
        if let Some(diagnostics) = diagnostics {
            // Notes (the placeholder checklist) are for `docs check`.
            let shown: Vec<_> = diagnostics
                .iter()
                .filter(|d| d.severity != Severity::Note)
                .cloned()
                .collect();
            super::print_diagnostics(&shown, color);
            let errors = count(&diagnostics, Severity::Error);
            if errors > 0 {
                return Ok(Then::Discard(errors));
            }
        }
        let claude = claude_md::generate(&project, &Values::new(project.manifests.clone()))?;
        // Refused before the site is swapped in, as any other error.
        let claude = match claude {
            Some(text) => Some((
                text,
                guard::check_file(root, &project.config, name, guard::File::ClaudeMd)?,
            )),
            None => None,
        };
        Ok(Then::Publish(claude))
    })?;
    let claude = match outcome {
        Then::Publish(claude) => claude,
        Then::Discard(errors) => {
            errln!(
                "error: the site has {errors} error{}; {} left untouched (`--no-check` publishes anyway)",
                plural(errors),
                project.config.output_dir.display()
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    let mut wrote_claude = false;
    if let Some((text, path)) = claude {
        wrote_claude = output::write_if_changed(&path, &text, name)?;
    }
    if std::env::var_os("DOCS_TIMINGS").is_some() {
        errln!(
            "timings: load {:?}, render, write and check {:?}, swap {:?}",
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
