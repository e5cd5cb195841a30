//! Preflight, before anything runs: the context, server, user and the
//! namespaces the runbook touches; the API answers; every kind the steps
//! use is served (discovery, CRDs included); every Secret the steps'
//! objects reference exists — its name shown, its values read only to be
//! redacted.

use std::sync::{Arc, Mutex};

use serde_json::json;

use super::kube::Session;
use super::redact::Redactor;
use super::term::Ui;
use super::{usage, Options, Prepared, Stop};
use crate::cluster::ClusterError;

/// Connects to the chosen context, shows who and where, and checks that
/// everything the selected steps need exists. Credentials and the values
/// of the Secrets the steps reference go to the redactor.
pub async fn check(
    prepared: &Prepared<'_>,
    opts: &Options,
    ui: &Ui,
    redactor: &Arc<Mutex<Redactor>>,
) -> Result<Arc<Session>, Stop> {
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
    kinds(&session, prepared).await?;
    secrets(&session, prepared, redactor, ui).await?;
    Ok(session)
}

async fn kinds(session: &Session, p: &Prepared<'_>) -> Result<(), Stop> {
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
async fn secrets(
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

pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}
