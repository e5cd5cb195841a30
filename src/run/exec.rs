//! Executing one step, and reconciling a step that a killed run left
//! `started`: a create whose object carries this run's mark is done, a
//! deleted object that is gone is done, a patch the live object already
//! shows is done — so a mutating request is never sent twice.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value as J};
use tokio::sync::watch;

use super::journal::{Journal, ObjectRef, StepResult};
use super::kube::{ObjectKey, Session, CHANGED_BY, CREATED_BY};
use super::shell::{self, Ended};
use super::term::Ui;
use super::wait::{self, Outcome};
use crate::cluster::ClusterError;
use crate::runbook::step::{Action, Count, Verb, WaitFor};
use crate::runbook::{Kind, Step, Target};

/// Default time limits of steps that do not say.
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(300);
pub const GONE_TIMEOUT: Duration = Duration::from_secs(600);

/// Why a step failed.
#[derive(Debug, Clone)]
pub enum Failure {
    Cluster(ClusterError),
    /// A check did not hold (assert), or a `fail-if` did (wait).
    Check(String),
    Timeout(String),
    Shell(String),
    /// The object is not the one the run means (recreated by someone else).
    Refused(String),
    Interrupted,
}

impl Failure {
    pub fn message(&self) -> String {
        match self {
            Failure::Cluster(e) => e.to_string(),
            Failure::Check(m) | Failure::Timeout(m) | Failure::Shell(m) | Failure::Refused(m) => {
                m.clone()
            }
            Failure::Interrupted => "interrupted".into(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Failure::Cluster(e) => e.kind(),
            Failure::Check(_) => "check",
            Failure::Timeout(_) => "timeout",
            Failure::Shell(_) => "shell",
            Failure::Refused(_) => "refused",
            Failure::Interrupted => "interrupted",
        }
    }
}

impl From<ClusterError> for Failure {
    fn from(e: ClusterError) -> Self {
        Failure::Cluster(e)
    }
}

/// What a dry run pretends happened, so that later steps are judged
/// against it (the create that follows a delete, say).
#[derive(Debug, Default)]
pub struct DryState {
    pub deleted: Vec<ObjectRef>,
    pub created: Vec<ObjectRef>,
    /// An earlier step would have changed something: later checks depend
    /// on it and cannot be evaluated against the cluster as it is.
    pub changed: bool,
}

pub struct Ctx<'a> {
    pub session: &'a Arc<Session>,
    pub run_id: &'a str,
    pub dry_run: bool,
    pub root: &'a Path,
    pub kubeconfig: &'a Path,
    pub stop: watch::Receiver<bool>,
    pub ui: &'a Ui,
    pub journal: &'a Journal,
    pub dry: &'a mut DryState,
    /// Everything the step printed, for the transcript.
    pub output: &'a mut String,
}

fn key(t: &Target) -> ObjectKey {
    ObjectKey {
        api_version: t.api_version.clone(),
        kind: t.kind.clone(),
        namespace: t.namespace.clone(),
        name: t.name.clone().unwrap_or_default(),
    }
}

/// The identity (and uid, resourceVersion) of an object as returned.
pub fn object_ref(t: &Target, obj: Option<&J>) -> ObjectRef {
    let meta = obj.and_then(|o| o.get("metadata"));
    let s = |k: &str| {
        meta.and_then(|m| m.get(k))
            .and_then(J::as_str)
            .map(str::to_string)
    };
    ObjectRef {
        api_version: t.api_version.clone(),
        kind: t.kind.clone(),
        namespace: s("namespace").or_else(|| t.namespace.clone()),
        name: s("name").or_else(|| t.name.clone()).unwrap_or_default(),
        uid: s("uid"),
        resource_version: s("resourceVersion"),
    }
}

/// The mark a create leaves on its object.
pub fn mark(run_id: &str, step: &Step) -> String {
    format!("{run_id}/{}", step.name)
}

/// Races a cluster call with Ctrl-C.
async fn cancellable<T>(
    stop: &mut watch::Receiver<bool>,
    f: impl std::future::Future<Output = Result<T, ClusterError>>,
) -> Result<T, Failure> {
    if *stop.borrow() {
        return Err(Failure::Interrupted);
    }
    tokio::select! {
        r = f => r.map_err(Failure::Cluster),
        _ = stop.changed() => Err(Failure::Interrupted),
    }
}

pub async fn run_step(cx: &mut Ctx<'_>, step: &Step) -> Result<StepResult, Failure> {
    let result = run_kind(cx, step).await;
    if cx.dry_run && step.mutating() {
        cx.dry.changed = true;
    }
    result
}

async fn run_kind(cx: &mut Ctx<'_>, step: &Step) -> Result<StepResult, Failure> {
    match &step.kind {
        Kind::Shell { timeout, .. } => run_shell(cx, step, *timeout).await,
        Kind::Kube(action) => run_action(cx, step, action).await,
    }
}

async fn run_shell(
    cx: &mut Ctx<'_>,
    step: &Step,
    timeout: Option<Duration>,
) -> Result<StepResult, Failure> {
    if cx.dry_run {
        return Ok(StepResult {
            outcome: "not run (dry run: shell steps are shown, not run)".into(),
            ..StepResult::default()
        });
    }
    let ui = cx.ui;
    let output = &mut *cx.output;
    let mut on_line = |line: &str| {
        ui.line(&format!("  │ {line}"));
        output.push_str(&ui.redact(line));
        output.push('\n');
    };
    let ended = shell::run(
        &step.text,
        cx.root,
        cx.kubeconfig,
        timeout,
        cx.stop.clone(),
        &mut on_line,
    )
    .await
    .map_err(|e| Failure::Shell(format!("cannot run bash: {e}")))?;
    match ended {
        Ended::Exited(0) => Ok(StepResult {
            outcome: "exit 0".into(),
            exit_code: Some(0),
            ..StepResult::default()
        }),
        Ended::Exited(c) => Err(Failure::Shell(format!("the script exited with status {c}"))),
        Ended::Signalled(s) => Err(Failure::Shell(format!(
            "the script was killed by signal {s}"
        ))),
        Ended::TimedOut => Err(Failure::Timeout(format!(
            "the script ran longer than its timeout ({}) and was stopped",
            timeout
                .map(super::term::format_duration)
                .unwrap_or_default()
        ))),
        Ended::Interrupted => Err(Failure::Interrupted),
    }
}

async fn run_action(cx: &mut Ctx<'_>, step: &Step, a: &Action) -> Result<StepResult, Failure> {
    let t = &a.target;
    let session = cx.session;
    let dry = cx.dry_run;
    match a.verb {
        Verb::Create => {
            let mut body = a.body.clone();
            set_annotation(&mut body, CREATED_BY, &mark(cx.run_id, step));
            let k = key(t);
            match cancellable(&mut cx.stop, session.create(&k, &body, dry)).await {
                Ok(obj) => {
                    if dry {
                        cx.dry.created.push(object_ref(t, None));
                    }
                    Ok(result(
                        if dry { "would be created" } else { "created" },
                        t,
                        Some(&obj),
                    ))
                }
                Err(Failure::Cluster(ClusterError::Conflict { reason, .. }))
                    if dry && reason == "AlreadyExists" && deleted_earlier(cx.dry, t) =>
                {
                    Ok(result(
                        "would be created once an earlier step has deleted the existing one",
                        t,
                        None,
                    ))
                }
                Err(Failure::Cluster(ClusterError::Conflict { reason, message }))
                    if reason == "AlreadyExists" =>
                {
                    let who = match cancellable(&mut cx.stop, session.get(&k)).await {
                        Ok(Some(live)) => describe_creator(&live),
                        _ => String::new(),
                    };
                    Err(Failure::Cluster(ClusterError::Conflict {
                        reason,
                        message: format!(
                            "{message}{who}. Something recreated it between the steps (Argo CD self-heal?). Never apply over it: its bootstrap is read only when it is created."
                        ),
                    }))
                }
                Err(e) => Err(e),
            }
        }
        Verb::Apply => {
            let mut body = a.body.clone();
            set_annotation(&mut body, CHANGED_BY, &mark(cx.run_id, step));
            let obj = cancellable(&mut cx.stop, session.apply(&key(t), &body, dry)).await?;
            Ok(result(
                if dry { "would be applied" } else { "applied" },
                t,
                Some(&obj),
            ))
        }
        Verb::Patch => {
            let mut body = a.body.clone();
            set_annotation(&mut body, CHANGED_BY, &mark(cx.run_id, step));
            match cancellable(&mut cx.stop, session.merge_patch(&key(t), &body, dry)).await {
                Ok(obj) => Ok(result(
                    if dry { "would be patched" } else { "patched" },
                    t,
                    Some(&obj),
                )),
                Err(Failure::Cluster(ClusterError::NotFound { .. }))
                    if dry && created_earlier(cx.dry, t) =>
                {
                    Ok(result(
                        "would be patched once an earlier step has created it",
                        t,
                        None,
                    ))
                }
                Err(e) => Err(e),
            }
        }
        Verb::Delete => run_delete(cx, step, a).await,
        Verb::Assert => {
            // Before anything would have changed, a check reads the cluster
            // as it is: a dry run says now what the run would find.
            if dry && cx.dry.changed {
                return Ok(StepResult {
                    outcome: "not evaluated (dry run: it checks what earlier steps did)".into(),
                    ..StepResult::default()
                });
            }
            let mut r = run_assert(cx, a).await?;
            if dry {
                r.outcome = format!("{} (checked now)", r.outcome);
            }
            Ok(r)
        }
        Verb::Wait => {
            if dry {
                return Ok(StepResult {
                    outcome: format!(
                        "not waited (dry run): would wait for {} of {}",
                        a.wait_for
                            .as_ref()
                            .map(WaitFor::describe)
                            .unwrap_or_default(),
                        t.describe()
                    ),
                    ..StepResult::default()
                });
            }
            let for_ = a.wait_for.clone().unwrap_or(WaitFor::Delete);
            let timeout = a.timeout.unwrap_or(WAIT_TIMEOUT);
            run_wait(cx, step, t, &for_, &a.fail_if, timeout, None).await
        }
    }
}

async fn run_delete(cx: &mut Ctx<'_>, step: &Step, a: &Action) -> Result<StepResult, Failure> {
    let t = &a.target;
    let k = key(t);
    let dry = cx.dry_run;
    let uid = cx.journal.known_uid(&object_ref(t, None));
    // The object this delete removes: what to wait for (a new one of the
    // same name, recreated meanwhile, is another object).
    let deleting = match &uid {
        Some(u) => Some(u.clone()),
        None if a.wait_gone && !dry => cancellable(&mut cx.stop, cx.session.get(&k))
            .await?
            .and_then(|o| {
                o.pointer("/metadata/uid")
                    .and_then(J::as_str)
                    .map(str::to_string)
            }),
        None => None,
    };
    match cancellable(&mut cx.stop, cx.session.delete(&k, uid.as_deref(), dry)).await {
        Ok(()) => {}
        Err(Failure::Cluster(ClusterError::NotFound { .. })) => {
            return Ok(result("already gone", t, None));
        }
        Err(Failure::Cluster(ClusterError::Conflict { message, .. })) if uid.is_some() => {
            return Err(Failure::Refused(format!(
                "{} is not the object this run saw (uid {}): it was deleted and recreated since ({message}). Not deleting it.",
                t.describe(),
                uid.unwrap_or_default()
            )));
        }
        Err(e) => return Err(e),
    }
    if dry {
        cx.dry.deleted.push(object_ref(t, None));
        return Ok(result("would be deleted", t, None));
    }
    if !a.wait_gone {
        return Ok(result("deleted", t, None));
    }
    finish_delete(cx, step, t, deleting).await
}

/// Waits until a deleted object (the one with `uid`, when known) is gone
/// (finalizers, garbage collection).
async fn finish_delete(
    cx: &mut Ctx<'_>,
    step: &Step,
    t: &Target,
    uid: Option<String>,
) -> Result<StepResult, Failure> {
    let done = run_wait(
        cx,
        step,
        t,
        &WaitFor::Delete,
        &[],
        GONE_TIMEOUT,
        uid.clone(),
    )
    .await?;
    let mut r = result("deleted, gone", t, None);
    r.objects[0].uid = uid;
    if !done.objects.is_empty() {
        r.outcome = "deleted, gone (an object of the same name was created since)".into();
    }
    Ok(r)
}

async fn run_assert(cx: &mut Ctx<'_>, a: &Action) -> Result<StepResult, Failure> {
    let t = &a.target;
    let objects: Vec<J> = match &t.selector {
        Some(sel) => {
            cancellable(
                &mut cx.stop,
                cx.session
                    .list(&t.api_version, &t.kind, t.namespace.as_deref(), sel),
            )
            .await?
        }
        None => match cancellable(&mut cx.stop, cx.session.get(&key(t))).await? {
            Some(o) => vec![o],
            None => return Err(Failure::Check(format!("{} does not exist", t.describe()))),
        },
    };
    // Each object against every check: what fails, per object.
    let verdicts: Vec<(&J, Vec<String>)> = objects
        .iter()
        .map(|o| {
            let fails = a
                .assertions
                .iter()
                .filter_map(|check| check.check(o).err())
                .map(|e| format!("{}: {e}", wait::describe_object(o)))
                .collect();
            (o, fails)
        })
        .collect();
    let passing: Vec<&J> = verdicts
        .iter()
        .filter(|(_, f)| f.is_empty())
        .map(|(o, _)| *o)
        .collect();
    let reasons: Vec<String> = verdicts
        .iter()
        .flat_map(|(_, f)| f.clone())
        .take(3)
        .collect();
    match (&t.selector, a.count) {
        // A set: `count`/`min` count the objects for which every check holds.
        (Some(sel), Some(count)) => {
            let ok = match count {
                Count::Exactly(n) => passing.len() == n,
                Count::AtLeast(n) => passing.len() >= n,
            };
            if !ok {
                let mut m = format!(
                    "{} object{} match{} `{sel}`, {} pass{} the checks; expected {}",
                    objects.len(),
                    if objects.len() == 1 { "" } else { "s" },
                    if objects.len() == 1 { "es" } else { "" },
                    passing.len(),
                    if passing.len() == 1 { "es" } else { "" },
                    match count {
                        Count::Exactly(n) => format!("exactly {n}"),
                        Count::AtLeast(n) => format!("at least {n}"),
                    }
                );
                if !reasons.is_empty() {
                    m.push_str(&format!(" ({})", reasons.join("; ")));
                }
                return Err(Failure::Check(m));
            }
        }
        _ if !reasons.is_empty() => return Err(Failure::Check(reasons.join("; "))),
        _ => {}
    }
    let objects: Vec<J> = match &t.selector {
        Some(_) => passing.into_iter().cloned().collect(),
        None => objects,
    };
    let checks = a.assertions.len() * objects.len().max(1);
    Ok(StepResult {
        outcome: format!(
            "{} object{} checked, {checks} check{} hold",
            objects.len(),
            if objects.len() == 1 { "" } else { "s" },
            if checks == 1 { "" } else { "s" }
        ),
        objects: objects.iter().map(|o| object_ref(t, Some(o))).collect(),
        exit_code: None,
    })
}

#[allow(clippy::too_many_arguments)]
async fn run_wait(
    cx: &mut Ctx<'_>,
    step: &Step,
    t: &Target,
    for_: &WaitFor,
    fail_if: &[crate::runbook::step::FailIf],
    timeout: Duration,
    // Only this object (by uid): a recreated namesake is another object.
    only_uid: Option<String>,
) -> Result<StepResult, Failure> {
    let started = Instant::now();
    let ui = cx.ui;
    let prefix = format!("  waiting for {} of {}:", for_.describe(), t.describe());
    let state = Arc::new(Mutex::new(String::from("starting")));
    let seen = state.clone();
    let output = Arc::new(Mutex::new(String::new()));
    let out2 = output.clone();
    let mut progress = move |line: &str| {
        *seen.lock().expect("state") = line.to_string();
        if !ui.live() {
            ui.progress(&prefix, started, line);
        }
        out2.lock().expect("output").push_str(&format!("{line}\n"));
    };
    let live_prefix = format!("  waiting for {} of {}:", for_.describe(), t.describe());
    let waiting = wait::wait(
        cx.session,
        t,
        for_,
        fail_if,
        timeout,
        only_uid.as_deref(),
        &mut progress,
    );
    tokio::pin!(waiting);
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let outcome = loop {
        tokio::select! {
            r = &mut waiting => break r.map_err(Failure::Cluster),
            _ = tick.tick(), if ui.live() => {
                let s = state.lock().expect("state").clone();
                ui.progress(&live_prefix, started, &s);
            }
            _ = cx.stop.changed() => {
                if *cx.stop.borrow() {
                    break Err(Failure::Interrupted);
                }
            }
        }
    };
    cx.output
        .push_str(&ui.redact(&output.lock().expect("output")));
    let _ = step;
    match outcome? {
        Outcome::Done(objects) => Ok(StepResult {
            outcome: match for_ {
                WaitFor::Delete => "gone".into(),
                other => format!(
                    "{} after {}",
                    other.describe(),
                    super::term::format_duration(started.elapsed())
                ),
            },
            objects: objects.iter().map(|o| object_ref(t, Some(o))).collect(),
            exit_code: None,
        }),
        Outcome::Failed { message } => Err(Failure::Check(message)),
        Outcome::TimedOut { last } => Err(Failure::Timeout(format!(
            "timed out after {} waiting for {} of {}; last seen: {last}",
            super::term::format_duration(timeout),
            for_.describe(),
            t.describe()
        ))),
    }
}

fn result(outcome: &str, t: &Target, obj: Option<&J>) -> StepResult {
    StepResult {
        outcome: outcome.into(),
        objects: vec![object_ref(t, obj)],
        exit_code: None,
    }
}

fn set_annotation(body: &mut J, key: &str, value: &str) {
    if !body.get("metadata").is_some_and(J::is_object) {
        body["metadata"] = json!({});
    }
    let meta = &mut body["metadata"];
    if !meta.get("annotations").is_some_and(J::is_object) {
        meta["annotations"] = json!({});
    }
    meta["annotations"][key] = J::String(value.into());
}

fn describe_creator(live: &J) -> String {
    let created = live
        .pointer("/metadata/creationTimestamp")
        .and_then(J::as_str)
        .unwrap_or("?");
    match live
        .pointer(&format!(
            "/metadata/annotations/{}",
            CREATED_BY.replace('/', "~1")
        ))
        .and_then(J::as_str)
    {
        Some(by) => format!(" (created at {created} by docs run {by})"),
        None => format!(" (created at {created}, not by this run)"),
    }
}

fn same(a: &ObjectRef, t: &Target) -> bool {
    a.kind == t.kind && a.namespace == t.namespace && Some(&a.name) == t.name.as_ref()
}

fn deleted_earlier(dry: &DryState, t: &Target) -> bool {
    dry.deleted.iter().any(|d| same(d, t))
}

fn created_earlier(dry: &DryState, t: &Target) -> bool {
    dry.created.iter().any(|d| same(d, t))
}

/// What resuming should do with a step a killed run left `started`.
#[derive(Debug)]
pub enum Reconciled {
    /// Its effect is on the cluster: record it as done.
    Done(StepResult),
    /// Its effect is not there: run it (the request never arrived).
    Run,
    /// A delete that arrived: only the wait for the object (this uid) to go
    /// remains.
    FinishDelete(Option<String>),
    /// A shell step that changes things: only a person can tell.
    Ask,
    /// The object is there but not this run's: refuse.
    Refuse(String),
}

pub async fn reconcile(cx: &mut Ctx<'_>, step: &Step) -> Result<Reconciled, Failure> {
    let a = match &step.kind {
        Kind::Shell { readonly: true, .. }
        | Kind::Shell {
            idempotent: true, ..
        } => return Ok(Reconciled::Run),
        Kind::Shell { .. } => return Ok(Reconciled::Ask),
        Kind::Kube(a) => a,
    };
    let t = &a.target;
    if matches!(a.verb, Verb::Assert | Verb::Wait) {
        return Ok(Reconciled::Run);
    }
    let live = cancellable(&mut cx.stop, cx.session.get(&key(t))).await?;
    Ok(match (a.verb, live) {
        (Verb::Create, None) => Reconciled::Run,
        (Verb::Create, Some(obj)) => {
            let by = obj
                .pointer(&format!(
                    "/metadata/annotations/{}",
                    CREATED_BY.replace('/', "~1")
                ))
                .and_then(J::as_str);
            if by == Some(mark(cx.run_id, step).as_str()) {
                Reconciled::Done(result("created (found on resume)", t, Some(&obj)))
            } else {
                Reconciled::Refuse(format!(
                    "{} exists but this run did not create it{}",
                    t.describe(),
                    describe_creator(&obj)
                ))
            }
        }
        (Verb::Delete, None) => Reconciled::Done(result("gone (found on resume)", t, None)),
        (Verb::Delete, Some(obj)) if obj.pointer("/metadata/deletionTimestamp").is_some() => {
            if a.wait_gone {
                Reconciled::FinishDelete(
                    obj.pointer("/metadata/uid")
                        .and_then(J::as_str)
                        .map(str::to_string),
                )
            } else {
                Reconciled::Done(result("deleted (found on resume)", t, Some(&obj)))
            }
        }
        (Verb::Delete, Some(_)) => Reconciled::Run,
        (Verb::Apply | Verb::Patch, Some(obj))
            if annotation(&obj, CHANGED_BY) == Some(mark(cx.run_id, step).as_str())
                || contains(&obj, &a.body) =>
        {
            Reconciled::Done(result("already applied (found on resume)", t, Some(&obj)))
        }
        _ => Reconciled::Run,
    })
}

/// Finishes a delete found in progress on resume.
pub async fn resume_delete(
    cx: &mut Ctx<'_>,
    step: &Step,
    uid: Option<String>,
) -> Result<StepResult, Failure> {
    let Some(a) = step.action() else {
        return Err(Failure::Refused("not a delete".into()));
    };
    finish_delete(cx, step, &a.target, uid).await
}

fn annotation<'a>(obj: &'a J, key: &str) -> Option<&'a str> {
    obj.pointer(&format!("/metadata/annotations/{}", key.replace('/', "~1")))
        .and_then(J::as_str)
}

/// Whether `live` already shows every field of a merge patch / applied
/// object (`null` in the patch: the key is absent).
pub fn contains(live: &J, patch: &J) -> bool {
    match (live, patch) {
        (_, J::Null) => false,
        (J::Object(l), J::Object(p)) => p.iter().all(|(k, pv)| match (l.get(k), pv) {
            (None, J::Null) => true,
            (Some(J::Null), J::Null) => true,
            (Some(_), J::Null) => false,
            (None, _) => false,
            (Some(lv), pv) => contains(lv, pv),
        }),
        (l, p) => l == p,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_patch_is_found_applied_when_the_live_object_shows_it() {
        let live = json!({"metadata": {"name": "a", "annotations": {"x": "1", "keep": "k"}}, "spec": {"n": 2}});
        assert!(contains(
            &live,
            &json!({"metadata": {"annotations": {"x": "1"}}})
        ));
        assert!(contains(
            &live,
            &json!({"metadata": {"annotations": {"gone": null}}})
        ));
        assert!(!contains(
            &live,
            &json!({"metadata": {"annotations": {"x": null}}})
        ));
        assert!(!contains(&live, &json!({"spec": {"n": 3}})));
        assert!(!contains(&live, &json!({"spec": {"m": 1}})));
    }

    #[test]
    fn creations_carry_the_runs_mark() {
        let mut body = json!({"metadata": {"name": "x"}});
        set_annotation(&mut body, CREATED_BY, "run-1/make");
        assert_eq!(body["metadata"]["annotations"][CREATED_BY], "run-1/make");
        let live = json!({"metadata": {"creationTimestamp": "t", "annotations": {CREATED_BY: "run-1/make"}}});
        assert_eq!(
            describe_creator(&live),
            " (created at t by docs run run-1/make)"
        );
    }
}
