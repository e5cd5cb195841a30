//! Starting a run, or resuming one: the runbook rendered with its
//! variables (or, on `--resume`, the steps as the journal recorded them),
//! the journal opened, the run's directory made.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::journal::{self, Journal, RunState, StepRecord, StepState};
use super::kube::Session;
use super::term::Ui;
use super::{plan, redact, usage, Options, Prepared, Stop};
use crate::content::outline::Outline;
use crate::content::Page;
use crate::project::Project;
use crate::runbook::Runbook;

/// Finds the runbook, renders it with its variables and parses its steps.
///
/// A resumed run executes the steps *as its journal recorded them*, not as
/// they render now: the run itself changes what they are rendered from (a
/// committed serverName bump would turn "-v1 → -v2" into "-v2 → -v3").
pub fn prepare<'p>(project: &'p Project, opts: &Options) -> Result<Prepared<'p>, Stop> {
    let page = crate::runbook::find(&project.content, &opts.runbook).map_err(usage)?;
    let vars = plan::variables(page, &opts.vars).map_err(usage)?;
    let name = crate::runbook::stem(page);
    let journal_base = journal_base(project, opts, &name)?;
    let page_hash = page_hash(project, page);
    let values = crate::values::Values::new(project.manifests.clone());
    let expanded = values
        .expand_with(page, &vars)
        .map_err(|e| usage(e.to_string()))?;
    let mut outline = Outline::of(page, &expanded).map_err(|e| usage(e.to_string()))?;
    let mut resumed = None;
    let mut notes = Vec::new();
    if opts.resume {
        let base = &journal_base;
        let (dir, j) = newest_unfinished(base)?.ok_or_else(|| {
            usage(format!(
                "--resume: no unfinished run of `{name}` in {}",
                base.display()
            ))
        })?;
        if j.page_hash != page_hash && !opts.force {
            return Err(usage(format!(
                "the runbook changed since the run of {} was journaled ({} differs); check what changed, then --resume --force to continue with the runbook as it is now",
                j.started_at,
                page.file.display()
            )));
        }
        if j.page_hash == page_hash {
            // The steps as the run rendered them, secrets put back.
            for block in outline.blocks.iter_mut() {
                let Some(n) = block.step else { continue };
                if let Some(text) = j.step(n).and_then(|r| r.text.as_deref()) {
                    let restored = unmark_secrets(text, &vars);
                    if restored != block.code {
                        notes.push(n);
                        block.code = restored;
                    }
                }
            }
        } else {
            notes.extend(
                j.steps
                    .iter()
                    .filter(|r| r.state != StepState::Done)
                    .map(|r| r.number),
            );
        }
        resumed = Some((dir, j));
    }
    let (runbook, errors) = Runbook::read(page, &outline);
    if !errors.is_empty() {
        let lines: Vec<String> = errors
            .iter()
            .map(|e| format!("{}: {}", e.location, e.message))
            .collect();
        return Err(usage(format!(
            "the runbook has steps that do not parse (`docs check` says more):\n{}",
            lines.join("\n")
        )));
    }
    if runbook.steps.is_empty() {
        return Err(usage(format!(
            "{} has no runnable steps",
            page.file.display()
        )));
    }
    let selected = plan::select(
        &runbook,
        &opts.only,
        opts.from.as_deref(),
        opts.to.as_deref(),
    )
    .map_err(usage)?;
    Ok(Prepared {
        name,
        journal_base,
        page,
        outline,
        runbook,
        vars,
        selected,
        page_hash,
        resumed,
        rerendered: notes,
    })
}

/// The hash of the runbook's source (front matter and body): a changed
/// runbook is noticed on resume.
fn page_hash(project: &Project, page: &Page) -> String {
    let bytes = std::fs::read(project.root.join(&page.file)).unwrap_or_default();
    journal::fingerprint(&[&String::from_utf8_lossy(&bytes)])
}

/// The newest run of a runbook that can be resumed.
fn newest_unfinished(base: &Path) -> Result<Option<(PathBuf, Journal)>, Stop> {
    journal::runs(base)
        .into_iter()
        .find_map(|d| match Journal::load(&d.join(journal::FILE_NAME)) {
            Ok(j) if j.unfinished() => Some(Ok((d, j))),
            Ok(_) => None,
            Err(e) => Some(Err(e)),
        })
        .transpose()
        .map_err(|e| usage(e.to_string()))
}

/// A step's text for the journal: secret variable values become
/// `⟨secret:NAME⟩` (put back from `--var` on resume).
fn mark_secrets(text: &str, vars: &BTreeMap<String, String>, secret: &[String]) -> String {
    let mut out = text.to_string();
    for name in secret {
        if let Some(v) = vars.get(name).filter(|v| !v.is_empty()) {
            out = out.replace(v.as_str(), &format!("⟨secret:{name}⟩"));
        }
    }
    out
}

fn unmark_secrets(text: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = text.to_string();
    for (name, v) in vars {
        out = out.replace(&format!("⟨secret:{name}⟩"), v);
    }
    out
}

/// Where the run directories of a runbook are (`--journal`, else
/// `.docs/runs/<runbook>`), checked by the output guard: never the
/// repository, the sources or the site.
fn journal_base(project: &Project, opts: &Options, name: &str) -> Result<PathBuf, Stop> {
    let dir = opts.journal.clone().unwrap_or_else(|| {
        Path::new(crate::output::guard::STATE_DIR)
            .join("runs")
            .join(name)
    });
    crate::output::guard::check_dir(
        &project.root,
        &project.config,
        &dir,
        crate::output::guard::Dir::Journal,
    )
    .map_err(|e| usage(e.to_string()))
}

/// Creates `.docs/` with a `.gitignore` that ignores it: run journals and
/// transcripts are local records, not part of the repository.
fn ensure_docs_dir(root: &Path) -> std::io::Result<()> {
    let dir = root.join(".docs");
    if !dir.exists() {
        std::fs::create_dir_all(&dir)?;
        std::fs::write(
            dir.join(".gitignore"),
            "# Local run journals and transcripts of `docs run`.\n*\n",
        )?;
    }
    Ok(())
}

/// The journal of this run: a new one, or the one `--resume` continues
/// (checked against the context and variables it was started with).
pub fn open_journal(
    prepared: &Prepared<'_>,
    opts: &Options,
    session: &Session,
    ui: &Ui,
) -> Result<(PathBuf, Journal), Stop> {
    let steps = &prepared.runbook.steps;
    let base = &prepared.journal_base;
    let secret = plan::secret_variables(prepared.page);
    let (dir, journal) = if let Some((dir, j)) = &prepared.resumed {
        if j.context != session.context && !opts.force {
            return Err(usage(format!(
                "the run of {} was against context `{}`, not `{}`; --resume --force to continue against this one",
                j.started_at, j.context, session.context
            )));
        }
        let changed_vars: Vec<&String> = j
            .variables
            .iter()
            .filter(|(k, v)| prepared.vars.get(*k) != Some(v) && v.as_str() != redact::MASK)
            .map(|(k, _)| k)
            .collect();
        if !changed_vars.is_empty() && !opts.force {
            return Err(usage(format!(
                "the variables differ from the journaled run ({}); pass the same --var values, or --resume --force",
                changed_vars.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            )));
        }
        ui.line(&format!(
            "  resuming   the run of {} ({})",
            j.started_at,
            dir.display()
        ));
        if !prepared.rerendered.is_empty() {
            let list: Vec<String> = prepared.rerendered.iter().map(|n| n.to_string()).collect();
            ui.line(&format!(
                "  note       step{} {} render{} differently now (the run itself, or someone, changed what {} rendered from); the run continues with the text journaled when it started",
                if list.len() == 1 { "" } else { "s" },
                list.join(", "),
                if list.len() == 1 { "s" } else { "" },
                if list.len() == 1 { "it is" } else { "they are" }
            ));
        }
        let mut j = j.clone();
        if opts.force {
            // Continue with the runbook as it is now: record its texts.
            j.page_hash = prepared.page_hash.clone();
            for s in steps {
                if let Some(r) = j.step_mut(s.number) {
                    r.text = Some(mark_secrets(&s.text, &prepared.vars, &secret));
                }
            }
        }
        j.state = RunState::Running;
        (dir.clone(), j)
    } else {
        let unfinished = newest_unfinished(base)?;
        if let (Some((dir, j)), false, false) = (&unfinished, opts.force, opts.dry_run) {
            let at = j
                .steps
                .iter()
                .find(|s| {
                    matches!(
                        s.state,
                        StepState::Started | StepState::Interrupted | StepState::Failed
                    )
                })
                .map(|s| format!(" (step {} `{}` {})", s.number, s.name, s.state.as_str()))
                .unwrap_or_default();
            return Err(usage(format!(
                "an unfinished run of `{}` from {} exists{at}: continue it with --resume, or start over with --force (its journal: {})",
                prepared.name,
                j.started_at,
                dir.display()
            )));
        }
        let dir = base.join(journal::dir_name());
        let run_id = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let vars = prepared
            .vars
            .iter()
            .map(|(k, v)| {
                let shown = if secret.contains(k) {
                    redact::MASK.to_string()
                } else {
                    v.clone()
                };
                (k.clone(), shown)
            })
            .collect();
        let journal = Journal {
            version: 1,
            run_id,
            runbook: prepared.name.clone(),
            page: prepared.page.file.display().to_string(),
            page_hash: prepared.page_hash.clone(),
            context: session.context.clone(),
            server: session.server.clone(),
            user: session.user.clone(),
            dry_run: opts.dry_run,
            variables: vars,
            state: RunState::Running,
            started_at: journal::now(),
            updated_at: journal::now(),
            steps: steps
                .iter()
                .map(|s| StepRecord {
                    number: s.number,
                    name: s.name.clone(),
                    kind: s.kind_name().into(),
                    mutating: s.mutating(),
                    destructive: s.destructive,
                    text: Some(mark_secrets(&s.text, &prepared.vars, &secret)),
                    state: StepState::Pending,
                    started_at: None,
                    ended_at: None,
                    result: None,
                    error: None,
                })
                .collect(),
        };
        (dir, journal)
    };
    Ok((dir, journal))
}

/// Creates the run's directory (and `.docs/`, ignored by git, when the
/// journals are kept there). `dir` lies in the base the guard checked.
pub fn make_dirs(root: &Path, dir: &Path, dry_run: bool) -> Result<(), Stop> {
    let state = crate::output::guard::resolve(&root.join(crate::output::guard::STATE_DIR));
    let made = if dir.starts_with(&state) {
        ensure_docs_dir(root)
    } else {
        Ok(())
    }
    .and_then(|()| std::fs::create_dir_all(dir));
    match made {
        Err(e) if !dry_run => Err(usage(format!(
            "cannot create the run directory {}: {e}",
            dir.display()
        ))),
        // A dry run keeps a transcript if it can, in a directory of its own.
        _ => Ok(()),
    }
}
