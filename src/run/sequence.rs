//! The steps of a run, one after the other: confirmation, the journal
//! around every mutating step, reconciliation of a step a killed run left
//! started, the failure report with its troubleshooting pointer and the
//! retry / skip / abort choice.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde_json::json;
use tokio::sync::watch;

use super::exec::{self, Ctx, DryState, Failure, Reconciled};
use super::journal::{self, Journal, StepRecord, StepState};
use super::kube::Session;
use super::redact::Redactor;
use super::term::{self, Choice, Ui};
use super::{
    plan, transcript, usage, Options, Prepared, Stop, EXIT_DONE, EXIT_FAILED, EXIT_INTERRUPTED,
};
use crate::cluster::ClusterError;
use crate::runbook::Step;

/// The shared state of a running run.
pub struct Running<'a> {
    pub prepared: &'a Prepared<'a>,
    pub opts: &'a Options,
    pub root: &'a Path,
    pub ui: Ui,
    pub redactor: Arc<Mutex<Redactor>>,
    pub journal: Journal,
    pub dir: PathBuf,
    pub transcript: String,
    /// Whether the first destructive step's typed confirmation was given.
    pub confirmed_context: bool,
    /// Set when the run's lease is no longer its own (see `lease`).
    pub lease_lost: Option<Arc<AtomicBool>>,
}

impl Running<'_> {
    pub fn save(&mut self) -> Result<(), Stop> {
        if self.opts.dry_run {
            return Ok(());
        }
        self.journal.save(&self.dir).map_err(|e| Stop {
            code: EXIT_FAILED,
            message: format!("cannot write the journal: {e}"),
        })
    }

    pub fn write_transcript(&self) {
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

/// The plan: every step, which are destructive, which are done.
pub fn print_plan(ui: &Ui, prepared: &Prepared<'_>, opts: &Options, journal: &Journal) {
    let steps = &prepared.runbook.steps;
    let total = steps.len();
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
            (StepState::Failed, true) if step.mutating() && step.action().is_some() => format!(
                "  {}",
                ui.yellow("failed before: checked against the cluster, then runs again")
            ),
            (StepState::Failed, true) => format!("  {}", ui.yellow("failed before: runs again")),
            (StepState::SkippedByOperator, true) if !named_by_only(opts, step) => {
                format!("  {}", ui.dim("skipped earlier by the operator"))
            }
            _ => String::new(),
        };
        ui.line(&format!("  {}", plan::step_line(step, total, &note)));
    }
    ui.line("");
}

/// Without a terminal and without `--yes`, a destructive step refuses to
/// run — before anything runs, rather than hang or guess.
pub fn refuse_unconfirmable(
    ui: &Ui,
    prepared: &Prepared<'_>,
    opts: &Options,
    journal: &Journal,
) -> Result<(), Stop> {
    let steps = &prepared.runbook.steps;
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

    Ok(())
}

pub async fn run_steps(
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
        // The operator chose to skip it when it failed: a resume does not
        // bring it back (and so never runs it without the confirmation
        // it was skipped at), unless `--only` names it.
        if prior == StepState::SkippedByOperator && !named_by_only(r.opts, step) {
            r.ui.line(&format!(
                "{tag} … {}",
                r.ui.dim(&format!(
                    "skipped earlier by the operator (`--resume --only {}` runs it)",
                    step.name
                ))
            ));
            r.ui.event(json!({"event": "step", "number": step.number, "name": step.name, "state": "skipped"}));
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
        // A step left started, interrupted — or failed, for a Kubernetes
        // change: its request may have arrived although the answer did not
        // (a timeout, a dropped connection, a wait=gone that timed out) —
        // is checked against the cluster before anything is sent again.
        let resumed = match prior {
            StepState::Started | StepState::Interrupted => true,
            StepState::Failed => step.mutating() && step.action().is_some(),
            _ => false,
        };
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
            if step.mutating() && r.lease_is_lost() {
                return Err(Stop {
                    code: EXIT_FAILED,
                    message: format!(
                        "the run's lease on the cluster was lost (the API could not be reached for {} s, or another run took it over): stopping before step {} `{}` rather than changing the cluster beside another run; when no other run is going, continue with --resume",
                        super::lease::DURATION.as_secs(),
                        step.number,
                        step.name
                    ),
                });
            }
            // A delete journals the uid of the object it removes before
            // the request is sent: on resume, an object of that name with
            // another uid is one created since, never deleted in its place.
            let target_uid = if finish_delete.is_none() {
                let mut out = String::new();
                let mut cx = ctx(r, session, kubeconfig, &stop, &mut dry, &mut out);
                match exec::identify(&mut cx, step).await {
                    Ok(uid) => uid,
                    Err(Failure::Interrupted) => return Ok(EXIT_INTERRUPTED),
                    Err(f) => match failed(r, step, &tag, &f, Instant::now())? {
                        Choice::Retry => continue,
                        Choice::Skip => {
                            r.skipped_by_operator(step.number)?;
                            break;
                        }
                        Choice::Abort => return Ok(EXIT_FAILED),
                    },
                }
            } else {
                None
            };
            let started = Instant::now();
            let now = journal::now();
            r.record(step.number, |s| {
                s.state = StepState::Started;
                s.started_at = Some(now);
                s.error = None;
                if target_uid.is_some() {
                    s.target_uid = target_uid;
                }
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
                .push_str(&transcript::step(step, &out, &outcome, secs));
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
                            r.skipped_by_operator(step.number)?;
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

/// Whether `--only` names the step (by name or number).
fn named_by_only(opts: &Options, step: &Step) -> bool {
    opts.only
        .iter()
        .any(|o| *o == step.name || *o == step.number.to_string())
}

impl Running<'_> {
    /// Journals the operator's choice to skip a failed step (resume keeps
    /// it skipped).
    fn skipped_by_operator(&mut self, number: usize) -> Result<(), Stop> {
        self.record(number, |s| s.state = StepState::SkippedByOperator);
        self.save()
    }

    fn lease_is_lost(&self) -> bool {
        self.lease_lost
            .as_ref()
            .is_some_and(|l| l.load(std::sync::atomic::Ordering::SeqCst))
    }
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
