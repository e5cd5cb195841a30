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
mod private;
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
use tokio::signal::unix::{Signal, SignalKind};
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
    match run(root, prepared, opts, ui, redactor.clone()).await {
        Ok(code) => code,
        Err(stop) => {
            // The run's redactor: the message may quote a variable, or
            // what the cluster answered.
            let ui = Ui::new(opts.color, opts.json, redactor);
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
    sequence::print_plan(&ui, prepared, opts, &journal);
    sequence::refuse_unconfirmable(&ui, prepared, opts, &journal)?;
    start::make_dirs(root, &dir, opts.dry_run)?;
    // Ctrl-C: the first stops the running step; a second exits at once —
    // after killing the step's process group and removing the pinned
    // kubeconfig (its credentials must not outlive the run). SIGTERM and
    // SIGHUP (a closed terminal) exit at once the same way. Handled from
    // before that file exists, so that no signal can leave it behind.
    let handle = |kind: SignalKind| {
        tokio::signal::unix::signal(kind).map_err(|e| usage(format!("cannot handle signals: {e}")))
    };
    let mut interrupts = handle(SignalKind::interrupt())?;
    // Unless ignored: `nohup docs run …` over ssh must outlive the ssh.
    let mut terminate = unless_ignored(libc::SIGTERM, handle)?;
    let mut hangup = unless_ignored(libc::SIGHUP, handle)?;
    let pinned_dir =
        private::create().map_err(|e| usage(format!("cannot create a private directory: {e}")))?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let private_path = pinned_dir.path().to_path_buf();
    let signals = AbortOnDrop(tokio::spawn(async move {
        let mut stopping = false;
        loop {
            tokio::select! {
                Some(()) = interrupts.recv() => {
                    if stopping {
                        leave_now(&private_path, EXIT_INTERRUPTED as i32);
                    }
                    stopping = true;
                    let _ = stop_tx.send(true);
                }
                Some(()) = next(&mut terminate) => leave_now(&private_path, 128 + libc::SIGTERM),
                Some(()) = next(&mut hangup) => leave_now(&private_path, 128 + libc::SIGHUP),
                else => break,
            }
        }
    }));
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
        lease_lost: lease.as_ref().map(|held| held.lost.clone()),
    };
    if let Err(stop) = r.save() {
        if let Some(held) = lease {
            held.release(&session).await;
        }
        return Err(stop);
    }
    let code = sequence::run_steps(&mut r, &session, &kubeconfig, stop_rx).await;
    drop(signals);
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

/// Exits at once, from the middle of the run: the running shell step's
/// group is killed and the private directory (the pinned kubeconfig)
/// removed first; the journal is left as it is, for `--resume`.
fn leave_now(private_dir: &Path, code: i32) -> ! {
    shell::kill_running();
    let _ = std::fs::remove_dir_all(private_dir);
    std::process::exit(code)
}

/// A handler of `signal`, unless the process was started with it ignored.
fn unless_ignored(
    signal: i32,
    handle: impl Fn(SignalKind) -> Result<Signal, Stop>,
) -> Result<Option<Signal>, Stop> {
    // SAFETY: sigaction with no new action only reads the current one.
    let ignored = unsafe {
        let mut current: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut current) == 0
            && current.sa_sigaction == libc::SIG_IGN
    };
    if ignored {
        Ok(None)
    } else {
        handle(SignalKind::from_raw(signal)).map(Some)
    }
}

/// The next delivery of a signal that may not be handled (then none).
async fn next(signal: &mut Option<Signal>) -> Option<()> {
    match signal {
        Some(s) => s.recv().await,
        None => None,
    }
}

/// The signal handler's task, stopped however `run` returns.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
