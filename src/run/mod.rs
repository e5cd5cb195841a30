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
mod preflight;
pub mod redact;
mod sequence;
pub mod shell;
mod start;
pub mod term;
mod transcript;
pub mod wait;

pub use start::prepare;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::sync::watch;

use crate::cluster::{ClusterError, Target};
use crate::content::outline::Outline;
use crate::content::Page;
use crate::runbook::Runbook;
use journal::{Journal, RunState};
use redact::Redactor;
use term::Ui;

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
    /// Where its run directories are (checked by the output guard).
    pub journal_base: PathBuf,
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
    let session = preflight::check(prepared, opts, &ui, &redactor).await?;
    let (dir, journal) = start::open_journal(prepared, opts, &session, &ui)?;
    sequence::print_plan(&ui, prepared, &journal);
    sequence::refuse_unconfirmable(&ui, prepared, opts, &journal)?;
    start::make_dirs(root, &dir, opts.dry_run)?;
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
        // The namespace of the first Kubernetes step (the runbook's own);
        // `default` when there is none, or it does not exist (yet).
        let ns = prepared
            .runbook
            .steps
            .iter()
            .filter_map(|s| s.action())
            .find_map(|a| a.target.namespace.as_deref())
            .unwrap_or("default");
        let holder = format!(
            "{} {}@{} pid {}",
            journal.run_id,
            std::env::var("USER").unwrap_or_else(|_| "someone".into()),
            preflight::hostname(),
            std::process::id()
        );
        let mut held = lease::acquire(
            &session,
            lease::key(ns, &prepared.name),
            &holder,
            &journal.run_id,
        )
        .await;
        if matches!(
            held,
            Err(lease::Refused::Cluster(ClusterError::NotFound { .. }))
        ) && ns != "default"
        {
            ui.line(&format!(
                "  note       namespace {ns} does not exist: the run's lease goes to `default`"
            ));
            held = lease::acquire(
                &session,
                lease::key("default", &prepared.name),
                &holder,
                &journal.run_id,
            )
            .await;
        }
        let held = held.map_err(|e| usage(e.to_string()))?;
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

    let mut r = sequence::Running {
        prepared,
        opts,
        root,
        ui,
        redactor,
        transcript: transcript::header(prepared, &session, opts),
        journal,
        dir,
        confirmed_context: false,
    };
    r.save()?;
    let code = sequence::run_steps(&mut r, &session, &kubeconfig, stop_rx).await;
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
        "{finished}  ({}: {})",
        if opts.dry_run {
            "transcript"
        } else {
            "journal and transcript"
        },
        r.dir.display()
    ));
    r.ui.event(json!({"event": "run", "state": format!("{:?}", r.journal.state).to_lowercase(), "exit": code, "dir": r.dir.display().to_string()}));
    Ok(code)
}
