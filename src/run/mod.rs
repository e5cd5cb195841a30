//! `docs run`: a runbook executed, step by step, against the cluster of a
//! kubeconfig context — the safest way to run a procedure at 3 a.m.
//!
//! Preflight first (context, server, user, namespaces; the API answers,
//! every kind exists, every Secret the objects reference exists), then the
//! plan, then the steps: confirmation before destructive ones, a journal
//! rewritten atomically around every mutating step (so a crash resumes at
//! the right step and never repeats a done one), waits on watches, a
//! redacted transcript, a pointer to the guide's troubleshooting when a
//! step fails. Exit codes: 0 done, 1 a step failed, 2 usage or preflight,
//! 130 interrupted.

pub mod exec;
pub mod journal;
pub mod kube;
pub mod lease;
pub mod plan;
pub mod redact;
pub mod shell;
pub mod term;
pub mod wait;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::json;
use tokio::sync::watch;

use crate::cluster::{ClusterError, Target};
use crate::content::outline::Outline;
use crate::content::Page;
use crate::project::Project;
use crate::runbook::{Kind, Runbook, Step};
use exec::{Ctx, DryState, Failure, Reconciled};
use journal::{Journal, RunState, StepRecord, StepState};
use kube::Session;
use redact::Redactor;
use term::{Choice, Ui};

pub const EXIT_DONE: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_INTERRUPTED: u8 = 130;

/// What the command line asked for.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub runbook: String,
    pub list: bool,
    pub only: Vec<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub dry_run: bool,
    pub yes: bool,
    pub resume: bool,
    pub force: bool,
    pub vars: Vec<(String, String)>,
    pub target: Target,
    pub journal: Option<PathBuf>,
    pub json: bool,
    pub color: bool,
}

/// A runbook ready to run: rendered with its variables, parsed, selected.
pub struct Prepared<'p> {
    pub name: String,
    pub page: &'p Page,
    pub outline: Outline,
    pub runbook: Runbook<'p>,
    pub vars: BTreeMap<String, String>,
    pub selected: Vec<bool>,
    /// The hash of the runbook's source.
    pub page_hash: String,
    /// With --resume: the run directory and journal being continued.
    pub resumed: Option<(PathBuf, Journal)>,
    /// With --resume: steps whose text differs from what they render to
    /// now (the journaled text is what runs, unless --force took the new).
    pub rerendered: Vec<usize>,
}

/// A failure before any step runs: a message and an exit code.
pub struct Stop {
    pub code: u8,
    pub message: String,
}

fn usage(message: impl Into<String>) -> Stop {
    Stop {
        code: EXIT_USAGE,
        message: message.into(),
    }
}

/// Finds the runbook, renders it with its variables and parses its steps.
///
/// A resumed run executes the steps *as its journal recorded them*, not as
/// they render now: the run itself changes what they are rendered from (a
/// committed serverName bump would turn "-v1 → -v2" into "-v2 → -v3").
pub fn prepare<'p>(project: &'p Project, opts: &Options) -> Result<Prepared<'p>, Stop> {
    let page = crate::runbook::find(&project.content, &opts.runbook).map_err(usage)?;
    let vars = plan::variables(page, &opts.vars).map_err(usage)?;
    let name = crate::runbook::stem(page);
    let page_hash = page_hash(project, page);
    let values = crate::values::Values::new(project.manifests.clone());
    let expanded = values
        .expand_with(page, &vars)
        .map_err(|e| usage(e.to_string()))?;
    let mut outline = Outline::of(page, &expanded).map_err(|e| usage(e.to_string()))?;
    let mut resumed = None;
    let mut notes = Vec::new();
    if opts.resume {
        let base = journal_base(&project.root, opts, &name);
        let (dir, j) = newest_unfinished(&base)?.ok_or_else(|| {
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

/// Where the run directories of a runbook are.
fn journal_base(root: &Path, opts: &Options, name: &str) -> PathBuf {
    opts.journal
        .clone()
        .map(|j| if j.is_absolute() { j } else { root.join(j) })
        .unwrap_or_else(|| root.join(".docs").join("runs").join(name))
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

/// The shared state of a running run.
struct Running<'a> {
    prepared: &'a Prepared<'a>,
    opts: &'a Options,
    root: &'a Path,
    ui: Ui,
    redactor: Arc<Mutex<Redactor>>,
    journal: Journal,
    dir: PathBuf,
    transcript: String,
    /// The outline of the page, for troubleshooting pointers.
    confirmed_context: bool,
}

impl Running<'_> {
    fn save(&mut self) -> Result<(), Stop> {
        if self.opts.dry_run {
            return Ok(());
        }
        self.journal.save(&self.dir).map_err(|e| Stop {
            code: EXIT_FAILED,
            message: format!("cannot write the journal: {e}"),
        })
    }

    fn write_transcript(&self) {
        let path = self.dir.join("transcript.md");
        let text = self
            .redactor
            .lock()
            .expect("redactor")
            .apply(&self.transcript);
        if let Err(e) = crate::output::write_file_atomic(&path, text.as_bytes(), &path) {
            self.ui
                .line(&format!("warning: cannot write the transcript: {e}"));
        }
    }

    fn record(&mut self, number: usize, f: impl FnOnce(&mut StepRecord)) {
        if let Some(r) = self.journal.step_mut(number) {
            f(r);
        }
    }
}

/// Runs a prepared runbook. Prints as it goes; returns the exit code.
pub async fn execute(root: &Path, prepared: &Prepared<'_>, opts: &Options) -> u8 {
    let redactor = Arc::new(Mutex::new(Redactor::default()));
    for name in plan::secret_variables(prepared.page) {
        if let Some(v) = prepared.vars.get(&name) {
            redactor.lock().expect("redactor").add(v);
        }
    }
    let ui = Ui::new(opts.color, opts.json, redactor.clone());
    match run(root, prepared, opts, ui, redactor).await {
        Ok(code) => code,
        Err(stop) => {
            let ui = Ui::new(
                opts.color,
                opts.json,
                Arc::new(Mutex::new(Redactor::default())),
            );
            ui.line(&format!("{}: {}", ui.red("error"), stop.message));
            ui.event(json!({"event": "error", "message": stop.message, "exit": stop.code}));
            stop.code
        }
    }
}

async fn run(
    root: &Path,
    prepared: &Prepared<'_>,
    opts: &Options,
    ui: Ui,
    redactor: Arc<Mutex<Redactor>>,
) -> Result<u8, Stop> {
    let steps = &prepared.runbook.steps;
    let total = steps.len();
    // Preflight: who, where, and whether everything the steps need exists.
    let session = Session::connect(&opts.target)
        .await
        .map_err(|e| usage(format!("preflight: {e}")))?;
    let session = Arc::new(session);
    for c in &session.credentials {
        redactor.lock().expect("redactor").add(c);
    }
    let namespaces = prepared.runbook.namespaces();
    ui.line(&format!(
        "{} {} ({})",
        ui.bold("docs run"),
        prepared.name,
        prepared.page.file.display()
    ));
    ui.line(&format!("  context    {}", ui.bold(&session.context)));
    ui.line(&format!("  server     {}", session.server));
    ui.line(&format!("  user       {}", session.user));
    ui.line(&format!("  namespaces {}", namespaces.join(", ")));
    if opts.dry_run {
        ui.line(&format!(
            "  mode       {}",
            ui.yellow(
                "dry run: nothing is changed (server-side dry run; shell steps are shown, not run)"
            )
        ));
    }
    ui.event(json!({"event": "preflight", "runbook": prepared.name, "context": session.context, "server": session.server, "user": session.user, "namespaces": namespaces, "dry_run": opts.dry_run}));
    let version = session
        .version()
        .await
        .map_err(|e| usage(format!("preflight: {e}")))?;
    ui.line(&format!("  reachable  Kubernetes {version}"));
    preflight_kinds(&session, prepared).await?;
    preflight_secrets(&session, prepared, &redactor, &ui).await?;

    // The journal: a new run, or the one --resume continues.
    let base = journal_base(root, opts, &prepared.name);
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
        let unfinished = newest_unfinished(&base)?;
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

    // The plan.
    ui.line("");
    ui.line(&ui.bold("Plan"));
    for (step, sel) in steps.iter().zip(&prepared.selected) {
        let state = journal
            .step(step.number)
            .map(|r| r.state)
            .unwrap_or(StepState::Pending);
        let note = match (state, sel) {
            (StepState::Done, _) => format!("  {}", ui.green("done")),
            (StepState::Skipped, false) | (_, false) => format!("  {}", ui.dim("not selected")),
            (StepState::Started | StepState::Interrupted, true) => {
                format!(
                    "  {}",
                    ui.yellow("started, not finished: checked against the cluster")
                )
            }
            (StepState::Failed, true) => format!("  {}", ui.yellow("failed before: runs again")),
            _ => String::new(),
        };
        ui.line(&format!("  {}", plan::step_line(step, total, &note)));
    }
    ui.line("");

    let pending_destructive: Vec<&Step> = steps
        .iter()
        .zip(&prepared.selected)
        .filter(|(s, sel)| {
            **sel
                && s.destructive
                && journal
                    .step(s.number)
                    .is_none_or(|r| r.state != StepState::Done)
        })
        .map(|(s, _)| s)
        .collect();
    if !opts.dry_run && !opts.yes && !ui.interactive {
        if let Some(s) = pending_destructive.first() {
            return Err(usage(format!(
                "step {} `{}` is destructive and there is no terminal to confirm it on: run on a terminal, or pass --yes if this is really meant to run unattended",
                s.number, s.name
            )));
        }
    }

    if !opts.dry_run {
        ensure_docs_dir(root).map_err(|e| usage(format!("cannot create .docs/: {e}")))?;
        std::fs::create_dir_all(&dir).map_err(|e| {
            usage(format!(
                "cannot create the run directory {}: {e}",
                dir.display()
            ))
        })?;
    } else {
        // A dry run keeps a transcript, in a directory of its own.
        ensure_docs_dir(root).ok();
        std::fs::create_dir_all(&dir).ok();
    }
    let pinned_dir = tempfile::Builder::new()
        .prefix("docs-run-")
        .tempdir()
        .map_err(|e| usage(format!("cannot create a private directory: {e}")))?;
    let kubeconfig = pinned_dir.path().join("kubeconfig");
    session
        .write_pinned(&kubeconfig)
        .map_err(|e| usage(format!("cannot write the pinned kubeconfig: {e}")))?;

    // One run at a time against a cluster (a dry run takes no lease).
    let lease = if opts.dry_run {
        None
    } else {
        let ns = namespaces.first().copied().unwrap_or("default");
        let holder = format!(
            "{} {}@{} pid {}",
            journal.run_id,
            std::env::var("USER").unwrap_or_else(|_| "someone".into()),
            hostname(),
            std::process::id()
        );
        let held = lease::acquire(
            &session,
            lease::key(ns, &prepared.name),
            &holder,
            &journal.run_id,
        )
        .await
        .map_err(|e| usage(e.to_string()))?;
        if let Some(note) = &held.took_over {
            ui.line(&format!("{}: {note}", ui.yellow("note")));
        }
        Some(held)
    };

    // Ctrl-C: the first stops the running step; a second exits at once.
    let (stop_tx, stop_rx) = watch::channel(false);
    let signals = tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = stop_tx.send(true);
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(EXIT_INTERRUPTED as i32);
            }
        }
    });

    let mut r = Running {
        prepared,
        opts,
        root,
        ui,
        redactor,
        transcript: transcript_header(prepared, &session, opts),
        journal,
        dir,
        confirmed_context: false,
    };
    r.save()?;
    let code = run_steps(&mut r, &session, &kubeconfig, stop_rx).await;
    signals.abort();
    // Anything but done can be resumed.
    let state = match code {
        Ok(EXIT_DONE) => RunState::Done,
        Ok(EXIT_INTERRUPTED) => RunState::Interrupted,
        _ => RunState::Failed,
    };
    r.journal.state = state;
    let saved = r.save();
    r.write_transcript();
    if let Some(held) = lease {
        held.release(&session).await;
    }
    let code = code?;
    saved?;
    let finished = match code {
        EXIT_DONE if opts.dry_run => r.ui.green("dry run done: every step would be accepted"),
        EXIT_DONE => r.ui.green("done"),
        EXIT_INTERRUPTED => {
            r.ui.yellow("interrupted: `docs run … --resume` continues where it stopped")
        }
        _ => r.ui.red("stopped: a step failed"),
    };
    r.ui.line(&format!(
        "{finished}  (journal and transcript: {})",
        r.dir.display()
    ));
    r.ui.event(json!({"event": "run", "state": format!("{:?}", r.journal.state).to_lowercase(), "exit": code, "dir": r.dir.display().to_string()}));
    Ok(code)
}

async fn run_steps(
    r: &mut Running<'_>,
    session: &Arc<Session>,
    kubeconfig: &Path,
    stop: watch::Receiver<bool>,
) -> Result<u8, Stop> {
    let steps = &r.prepared.runbook.steps;
    let total = steps.len();
    let mut dry = DryState::default();
    for (step, &selected) in steps.iter().zip(&r.prepared.selected) {
        let prior = r
            .journal
            .step(step.number)
            .map(|s| s.state)
            .unwrap_or(StepState::Pending);
        let tag = format!("[{}/{total}] {}", step.number, step.name);
        if prior == StepState::Done {
            r.ui.line(&format!("{tag} … {}", r.ui.dim("done earlier")));
            continue;
        }
        if !selected {
            r.ui.line(&format!("{tag} … {}", r.ui.dim("skipped (not selected)")));
            if prior == StepState::Pending {
                r.record(step.number, |s| s.state = StepState::Skipped);
            }
            r.ui.event(json!({"event": "step", "number": step.number, "name": step.name, "state": "skipped"}));
            continue;
        }
        let resumed = matches!(prior, StepState::Started | StepState::Interrupted);
        let mut attempt_reconcile = resumed;
        loop {
            if *stop.borrow() {
                return Ok(EXIT_INTERRUPTED);
            }
            r.ui.line(&format!(
                "{tag} {}",
                r.ui.dim(&format!("({})", step.kind_name()))
            ));
            show_step(r, step);
            // Resume: was the step's effect already on the cluster?
            let mut finish_delete: Option<Option<String>> = None;
            if attempt_reconcile {
                attempt_reconcile = false;
                let mut out = String::new();
                let mut cx = ctx(r, session, kubeconfig, &stop, &mut dry, &mut out);
                match exec::reconcile(&mut cx, step).await {
                    Ok(Reconciled::Done(result)) => {
                        r.ui.line(&format!(
                            "{tag} … {} {}",
                            r.ui.green(&result.outcome),
                            r.ui.dim("(not repeated)")
                        ));
                        let now = journal::now();
                        r.record(step.number, |s| {
                            s.state = StepState::Done;
                            s.ended_at = Some(now);
                            s.result = Some(result);
                            s.error = None;
                        });
                        r.save()?;
                        break;
                    }
                    Ok(Reconciled::Run) => {}
                    Ok(Reconciled::FinishDelete(uid)) => finish_delete = Some(uid),
                    Ok(Reconciled::Refuse(why)) => {
                        let f = Failure::Refused(why);
                        match failed(r, step, &tag, &f, Instant::now())? {
                            Choice::Retry => continue,
                            Choice::Skip => break,
                            Choice::Abort => return Ok(EXIT_FAILED),
                        }
                    }
                    Ok(Reconciled::Ask) => {
                        if !r.ui.interactive {
                            return Err(usage(format!(
                                "step {} `{}` (shell) was started but not finished when the run stopped, and only a person can tell whether it took effect: run `docs run {} --resume` on a terminal to decide",
                                step.number, step.name, r.prepared.name
                            )));
                        }
                        r.ui.line("  This shell step was started when the run stopped; it may or may not have taken effect.");
                        if r.ui
                            .yes_no("  Did it complete (mark it done without running it again)?")
                        {
                            r.record(step.number, |s| {
                                s.state = StepState::Done;
                                s.result = Some(journal::StepResult {
                                    outcome: "marked done by the operator on resume".into(),
                                    ..Default::default()
                                });
                            });
                            r.save()?;
                            break;
                        }
                        if !r.ui.yes_no("  Run it again?") {
                            return Ok(EXIT_FAILED);
                        }
                    }
                    Err(Failure::Interrupted) => return Ok(EXIT_INTERRUPTED),
                    Err(f) => match failed(r, step, &tag, &f, Instant::now())? {
                        Choice::Retry => {
                            attempt_reconcile = true;
                            continue;
                        }
                        Choice::Skip => break,
                        Choice::Abort => return Ok(EXIT_FAILED),
                    },
                }
            }
            // Confirmation of destructive steps.
            if step.destructive && !r.opts.dry_run && !r.opts.yes && finish_delete.is_none() {
                r.ui.line(&format!(
                    "  {} {}",
                    r.ui.red("destructive:"),
                    what_it_does(step)
                ));
                let ok = if !r.confirmed_context {
                    r.ui.confirm_context(&session.context)
                } else {
                    r.ui.yes_no("  Run this step?")
                };
                if !ok {
                    r.ui.line("  Not confirmed: stopping here. Nothing of this step was done.");
                    return Ok(EXIT_FAILED);
                }
                r.confirmed_context = true;
            }
            let started = Instant::now();
            let now = journal::now();
            r.record(step.number, |s| {
                s.state = StepState::Started;
                s.started_at = Some(now);
                s.error = None;
            });
            if step.mutating() {
                r.save()?;
            }
            r.ui.event(json!({"event": "step", "number": step.number, "name": step.name, "kind": step.kind_name(), "state": "started"}));
            let mut out = String::new();
            let outcome = {
                let mut cx = ctx(r, session, kubeconfig, &stop, &mut dry, &mut out);
                if let Some(uid) = finish_delete.clone() {
                    exec::resume_delete(&mut cx, step, uid).await
                } else {
                    exec::run_step(&mut cx, step).await
                }
            };
            let secs = started.elapsed();
            r.transcript
                .push_str(&transcript_step(step, &out, &outcome, secs));
            match outcome {
                Ok(result) => {
                    r.ui.line(&format!(
                        "{tag} … {} ({})",
                        r.ui.green(&result.outcome),
                        term::format_duration(secs)
                    ));
                    r.ui.event(json!({"event": "step", "number": step.number, "name": step.name, "state": "done", "outcome": result.outcome, "seconds": secs.as_secs_f64()}));
                    let now = journal::now();
                    r.record(step.number, |s| {
                        s.state = StepState::Done;
                        s.ended_at = Some(now);
                        s.result = Some(result);
                    });
                    r.save()?;
                    r.write_transcript();
                    break;
                }
                Err(Failure::Interrupted) => {
                    r.ui.line(&format!("{tag} … {}", r.ui.yellow("interrupted")));
                    r.ui.event(json!({"event": "step", "number": step.number, "name": step.name, "state": "interrupted"}));
                    let now = journal::now();
                    r.record(step.number, |s| {
                        s.state = StepState::Interrupted;
                        s.ended_at = Some(now);
                    });
                    r.save()?;
                    return Ok(EXIT_INTERRUPTED);
                }
                Err(f) => {
                    let now = journal::now();
                    let message = r.ui.redact(&f.message());
                    r.record(step.number, |s| {
                        s.state = StepState::Failed;
                        s.ended_at = Some(now);
                        s.error = Some(message);
                    });
                    r.save()?;
                    r.write_transcript();
                    match failed(r, step, &tag, &f, started)? {
                        Choice::Retry => {
                            // A failed mutating request may still have
                            // arrived: check before sending it again.
                            attempt_reconcile = step.mutating() && !r.opts.dry_run;
                            continue;
                        }
                        Choice::Skip => {
                            r.record(step.number, |s| s.state = StepState::Skipped);
                            r.save()?;
                            break;
                        }
                        Choice::Abort => return Ok(EXIT_FAILED),
                    }
                }
            }
        }
    }
    Ok(EXIT_DONE)
}

fn ctx<'a>(
    r: &'a Running<'a>,
    session: &'a Arc<Session>,
    kubeconfig: &'a Path,
    stop: &watch::Receiver<bool>,
    dry: &'a mut DryState,
    output: &'a mut String,
) -> Ctx<'a> {
    Ctx {
        session,
        run_id: &r.journal.run_id,
        dry_run: r.opts.dry_run,
        root: r.root,
        kubeconfig,
        stop: stop.clone(),
        ui: &r.ui,
        journal: &r.journal,
        dry,
        output,
    }
}

/// Reports a failed step: the error in plain words, where the guide says
/// what to do, then asks (on a terminal) or aborts.
fn failed(
    r: &Running,
    step: &Step,
    tag: &str,
    f: &Failure,
    started: Instant,
) -> Result<Choice, Stop> {
    r.ui.line(&format!(
        "{tag} … {} ({})",
        r.ui.red("failed"),
        term::format_duration(started.elapsed())
    ));
    r.ui.line(&format!("  {}", f.message()));
    if let Failure::Cluster(ClusterError::Forbidden { .. }) = f {
        r.ui.line(&format!(
            "  The user `{}` may not do this: ask for the RBAC the guide's prerequisites list.",
            r.journal.user
        ));
    }
    let pointer = troubleshoot(r.prepared, step, &f.message());
    if let Some(p) = &pointer {
        r.ui.line(&format!("  {} {p}", r.ui.bold("see:")));
    }
    r.ui.event(json!({"event": "step", "number": step.number, "name": step.name, "state": "failed", "kind": f.kind(), "message": f.message(), "troubleshoot": pointer}));
    if r.ui.interactive && !r.opts.json {
        Ok(r.ui.choose())
    } else {
        r.ui.line(&format!(
            "  Stopping (no terminal to ask whether to retry). When fixed: docs run {} --resume",
            r.prepared.name
        ));
        Ok(Choice::Abort)
    }
}

/// The troubleshooting section for an error: the step's own pointer, or
/// the heading of the page that names the error text.
pub fn troubleshoot(p: &Prepared, step: &Step, message: &str) -> Option<String> {
    let file = p.page.file.display();
    let heading = |id: &str| p.outline.headings.iter().find(|h| h.id == id);
    // A heading that quotes the error ("Expected empty archive"), or that
    // the message quotes (see "Argo CD wins the race").
    let named = quoted(message);
    let by_text = p.outline.headings.iter().find(|h| {
        quoted(&h.text)
            .iter()
            .any(|q| q.len() >= 6 && message.contains(q.as_str()))
            || named
                .iter()
                .any(|n| n.len() >= 6 && h.text.to_lowercase().starts_with(&n.to_lowercase()))
    });
    if let Some(h) = by_text {
        return Some(format!("“{}” — {file}#{}", h.text, h.id));
    }
    let anchor = step.troubleshoot.as_deref()?.trim_start_matches('#');
    Some(match heading(anchor) {
        Some(h) => format!("“{}” — {file}#{}", h.text, h.id),
        None => format!("{file}#{anchor}"),
    })
}

/// Texts in quotes or backticks in a heading (`"Expected empty archive"`).
fn quoted(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for q in ['"', '`', '“'] {
        let close = if q == '“' { '”' } else { q };
        let mut rest = text;
        while let Some(a) = rest.find(q) {
            let after = &rest[a + q.len_utf8()..];
            let Some(b) = after.find(close) else { break };
            out.push(after[..b].to_string());
            rest = &after[b + close.len_utf8()..];
        }
    }
    out
}

/// What a destructive step deletes or creates, in a line.
fn what_it_does(step: &Step) -> String {
    match step.action() {
        Some(a) => format!("{} {}", a.verb.as_str(), a.target.describe()),
        None => "runs a shell script that changes things".into(),
    }
}

fn show_step(r: &Running, step: &Step) {
    let text = r.ui.redact(&step.text);
    for line in text.lines() {
        r.ui.line(&format!("  {}", r.ui.dim(&format!("> {line}"))));
    }
}

async fn preflight_kinds(session: &Session, p: &Prepared<'_>) -> Result<(), Stop> {
    let mut seen = Vec::new();
    for (step, sel) in p.runbook.steps.iter().zip(&p.selected) {
        let Some(a) = step.action().filter(|_| *sel) else {
            continue;
        };
        let targets = std::iter::once(&a.target).chain(a.fail_if.iter().map(|f| &f.target));
        for t in targets {
            let k = (t.api_version.clone(), t.kind.clone());
            if seen.contains(&k) {
                continue;
            }
            session
                .resolve(&t.api_version, &t.kind)
                .await
                .map_err(|e| {
                    usage(format!(
                        "preflight: step {} `{}`: {e}",
                        step.number, step.name
                    ))
                })?;
            seen.push(k);
        }
    }
    Ok(())
}

/// Every Secret the steps' objects reference must exist (names only are
/// shown); their values are read to be redacted, never printed.
async fn preflight_secrets(
    session: &Session,
    p: &Prepared<'_>,
    redactor: &Arc<Mutex<Redactor>>,
    ui: &Ui,
) -> Result<(), Stop> {
    let mut wanted: Vec<(String, String, usize, String)> = Vec::new();
    for (step, sel) in p.runbook.steps.iter().zip(&p.selected) {
        let Some(a) = step.action().filter(|_| *sel) else {
            continue;
        };
        let ns = a
            .target
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let mut refs = Vec::new();
        crate::check::lints::find_secret_refs(&a.node, None, &mut |name, _| {
            refs.push(name.to_string())
        });
        for name in refs {
            if !wanted.iter().any(|(n, s, _, _)| *n == name && *s == ns) {
                wanted.push((name, ns.clone(), step.number, step.name.clone()));
            }
        }
    }
    let public: String = std::iter::once(p.page.body.as_str())
        .chain(p.runbook.steps.iter().map(|s| s.text.as_str()))
        .collect::<Vec<_>>()
        .join("\n");
    let mut names = Vec::new();
    for (name, ns, number, step) in &wanted {
        match session.secret(ns, name).await {
            Ok(Some(secret)) => {
                redactor
                    .lock()
                    .expect("redactor")
                    .add_secret_object(&secret, &public);
                names.push(format!("{ns}/{name}"));
            }
            Ok(None) => {
                return Err(usage(format!(
                    "preflight: step {number} `{step}` needs the Secret `{name}` in namespace `{ns}`, which does not exist (see the secrets inventory)"
                )))
            }
            Err(ClusterError::Forbidden { .. }) => ui.line(&format!(
                "  note: cannot read Secret {ns}/{name} (RBAC): its existence is not checked and its values cannot be redacted"
            )),
            Err(e) => return Err(usage(format!("preflight: {e}"))),
        }
    }
    if !names.is_empty() {
        ui.line(&format!("  secrets    {} (present)", names.join(", ")));
    }
    Ok(())
}

pub(crate) fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

fn transcript_header(p: &Prepared, session: &Session, opts: &Options) -> String {
    let mut s = format!(
        "# Transcript of `docs run {}`{}\n\n| | |\n|---|---|\n| runbook | {} |\n| by | {}@{} |\n| context | {} |\n| server | {} |\n| user | {} |\n| started | {} |\n",
        p.name,
        if opts.dry_run { " (dry run)" } else { "" },
        p.page.file.display(),
        std::env::var("USER").unwrap_or_else(|_| "someone".into()),
        hostname(),
        session.context,
        session.server,
        session.user,
        journal::now()
    );
    if !p.vars.is_empty() {
        s.push_str("\nVariables:\n\n");
        for (k, v) in &p.vars {
            s.push_str(&format!("- `{k}` = `{v}`\n"));
        }
    }
    s
}

fn transcript_step(
    step: &Step,
    output: &str,
    outcome: &Result<journal::StepResult, Failure>,
    secs: std::time::Duration,
) -> String {
    let lang = if matches!(step.kind, Kind::Shell { .. }) {
        "bash"
    } else {
        "yaml"
    };
    let mut s = format!(
        "\n## Step {}: {} ({})\n\nStarted {}, took {}.\n\n```{lang}\n{}```\n",
        step.number,
        step.name,
        step.kind_name(),
        journal::now(),
        term::format_duration(secs),
        step.text
    );
    if !output.is_empty() {
        s.push_str(&format!("\nOutput:\n\n```text\n{output}```\n"));
    }
    match outcome {
        Ok(r) => s.push_str(&format!("\nResult: **{}**\n", r.outcome)),
        Err(f) => s.push_str(&format!(
            "\nResult: **failed** ({}): {}\n",
            f.kind(),
            f.message()
        )),
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_name_errors_in_quotes() {
        assert_eq!(
            quoted("\"Expected empty archive\""),
            ["Expected empty archive"]
        );
        assert_eq!(
            quoted("Argo CD wins the race, or `AlreadyExists`"),
            ["AlreadyExists"]
        );
        assert!(quoted("The new pod stays Pending").is_empty());
    }
}
