//! Argo CD's application controller, played through the API of a cluster
//! that has the Application CRD but no Argo CD, with the rules of the
//! suite's simulator (tests/suite/cluster/argocd.rs), whose data-only
//! parts it calls: an Application with `skip-reconcile: "true"` is left
//! alone entirely; otherwise git (the drill's bare remote) is read again
//! when the cache expires or `argocd.argoproj.io/refresh` asks (the
//! annotation is then removed), missing and drifted objects are healed
//! (self-heal, keeping the fields of `ignoreDifferences` with
//! `RespectIgnoreDifferences`), and the status says the revision, Synced
//! or OutOfSync, and the health. Application has no status subresource:
//! the whole object is written, at the resourceVersion read.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::kube::{is_not_found, Kube, Result};
use crate::cluster::argocd::{
    desired, differs, heal_due, healed, paused, place, reconciled, refresh_requested, self_heals,
    Git,
};

const APP: &str = "argoproj.io/v1alpha1";

pub struct Argo {
    git: Git,
    /// How long a revision read from git is trusted (repo-server: 3 min).
    git_cache: Duration,
    /// How long drift lasts before self-heal acts.
    self_heal: Duration,
    /// Namespaces the player may write objects to.
    namespaces: Vec<String>,
    cache: HashMap<String, (Instant, String, Vec<Value>)>,
    drift: HashMap<String, Instant>,
    /// Objects git names outside `namespaces`: left alone, reported.
    pub refused: Vec<String>,
}

fn meta<'a>(v: &'a Value, field: &str) -> &'a str {
    v.pointer(&format!("/metadata/{field}"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn type_of(v: &Value) -> (String, String) {
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    (s("apiVersion"), s("kind"))
}

impl Argo {
    pub fn new(git: Git, git_cache: Duration, self_heal: Duration, namespaces: &[&str]) -> Argo {
        Argo {
            git,
            git_cache,
            self_heal,
            namespaces: namespaces.iter().map(|s| s.to_string()).collect(),
            cache: HashMap::new(),
            drift: HashMap::new(),
            refused: Vec::new(),
        }
    }

    /// One round over the Applications of namespace `ns`.
    pub async fn round(&mut self, k: &mut Kube, ns: &str) -> Result<()> {
        for app in k.list(APP, "Application", ns, None).await? {
            self.application(k, &app).await?;
        }
        Ok(())
    }

    async fn application(&mut self, k: &mut Kube, app: &Value) -> Result<()> {
        if paused(app) {
            return Ok(());
        }
        let uid = meta(app, "uid").to_string();
        let refresh = refresh_requested(app);
        if refresh {
            self.cache.remove(&uid);
        }
        let fresh = self
            .cache
            .get(&uid)
            .is_some_and(|(at, _, _)| at.elapsed() < self.git_cache);
        if !fresh {
            let Some((revision, objects)) = desired(&self.git, app) else {
                return Ok(());
            };
            self.cache
                .insert(uid.clone(), (Instant::now(), revision, objects));
        }
        let (_, revision, objects) = self.cache[&uid].clone();
        let (mut missing, mut drifted) = (0, 0);
        for mut want in objects {
            let (api_version, kind) = type_of(&want);
            let namespaced = match k.kind(&api_version, &kind).await {
                Ok(kind) => kind.namespaced,
                // A kind the cluster does not serve (no CRD): not synced.
                Err(e) if is_not_found(&e) => continue,
                Err(e) => return Err(e),
            };
            let ns = place(&mut want, namespaced, app);
            let name = meta(&want, "name").to_string();
            if !self.namespaces.contains(&ns) {
                let what = format!("{kind} {ns}/{name}");
                if !self.refused.contains(&what) {
                    self.refused.push(what);
                }
                continue;
            }
            let key = format!("{uid}/{api_version}/{kind}/{ns}/{name}");
            let live = k.get(&api_version, &kind, &ns, &name).await?;
            let differ = differs(app, &want, live.as_ref());
            match (differ, &live) {
                (false, _) => {}
                (true, None) => missing += 1,
                (true, Some(_)) => drifted += 1,
            }
            if !heal_due(
                &mut self.drift,
                key,
                differ,
                self_heals(app),
                self.self_heal,
            ) {
                continue;
            }
            // The Application as it is now: a pause set since the list
            // stops the heal (Argo CD reads it before every sync).
            let now = k
                .get(
                    APP,
                    "Application",
                    meta(app, "namespace"),
                    meta(app, "name"),
                )
                .await?;
            if now.as_ref().is_none_or(paused) {
                return Ok(());
            }
            match live {
                None => k.create(&want).await?,
                Some(l) => k.replace(&healed(app, &want, &l)).await?,
            };
        }
        let (new, changed) = reconciled(app, &revision, missing, drifted);
        if changed || !fresh || refresh {
            k.replace(&new).await?;
        }
        Ok(())
    }
}
