//! Waiting on a watch, not a sleep-poll: kube's `watcher` (list, then
//! watch; re-list after a dropped watch or `410 Gone`) driven with a
//! backoff under a timeout — kube's `await_condition` has no timeout and
//! gives up on the first watch error. A condition that already holds
//! returns at once; `fail-if` items on the waited object or on related
//! ones end the wait early, as a failure; progress (elapsed time, the
//! object's phase and condition message) is reported as it changes, and a
//! timeout says what was seen last.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::time::{Duration, Instant};

use futures_util::{Stream, StreamExt};
use kube::api::DynamicObject;
use kube::runtime::watcher::{self, Event};
use kube::runtime::WatchStreamExt;
use serde_json::Value as J;

use super::kube::Session;
use crate::cluster::ClusterError;
use crate::runbook::step::{FailIf, WaitFor};
use crate::runbook::Target;

/// How a wait ended (errors talking to the cluster are `Err`).
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The condition holds; the objects as last seen.
    Done(Vec<J>),
    /// A `fail-if` item holds.
    Failed { message: String },
    /// Time ran out; what was seen last.
    TimedOut { last: String },
}

type Events =
    Pin<Box<dyn Stream<Item = (usize, Result<Event<DynamicObject>, watcher::Error>)> + Send>>;

/// The objects one watch has seen, by name.
#[derive(Default)]
struct Store {
    objects: BTreeMap<String, J>,
    /// Objects of a re-list in progress.
    relist: Option<BTreeMap<String, J>>,
    /// The first listing is complete.
    synced: bool,
}

impl Store {
    fn apply(&mut self, event: Event<DynamicObject>) {
        let name_of = |o: &DynamicObject| o.metadata.name.clone().unwrap_or_default();
        match event {
            Event::Init => self.relist = Some(BTreeMap::new()),
            Event::InitApply(o) => {
                let name = name_of(&o);
                self.relist
                    .get_or_insert_with(BTreeMap::new)
                    .insert(name, json(o));
            }
            Event::InitDone => {
                self.objects = self.relist.take().unwrap_or_default();
                self.synced = true;
            }
            Event::Apply(o) => {
                let name = name_of(&o);
                self.objects.insert(name, json(o));
            }
            Event::Delete(o) => {
                self.objects.remove(&name_of(&o));
            }
        }
    }
}

fn json(o: DynamicObject) -> J {
    serde_json::to_value(o).unwrap_or(J::Null)
}

/// A watch of one target: a single object (by name) or a set (selector).
async fn watch(session: &Session, target: &Target, tag: usize) -> Result<Events, ClusterError> {
    let api = session
        .reader(
            &target.api_version,
            &target.kind,
            target.namespace.as_deref(),
        )
        .await?;
    let mut config = watcher::Config::default();
    if let Some(name) = &target.name {
        config = config.fields(&format!("metadata.name={name}"));
    }
    if let Some(sel) = &target.selector {
        config = config.labels(sel);
    }
    let stream = watcher::watcher(api, config)
        .default_backoff()
        .map(move |e| (tag, e));
    Ok(Box::pin(stream))
}

/// Waits until `for_` holds on `target`, or a `fail_if` item holds, or
/// `timeout` passes. `progress` is called with a one-line state whenever
/// it changes.
pub async fn wait(
    session: &Session,
    target: &Target,
    for_: &WaitFor,
    fail_if: &[FailIf],
    timeout: Duration,
    only_uid: Option<&str>,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<Outcome, ClusterError> {
    let started = Instant::now();
    let mut streams: Vec<Events> = vec![watch(session, target, 0).await?];
    // Related objects of `fail-if`, one watch each (tags 1..).
    let related: Vec<&FailIf> = fail_if.iter().filter(|f| !f.same_object).collect();
    for (i, f) in related.iter().enumerate() {
        streams.push(watch(session, &f.target, i + 1).await?);
    }
    let mut events = futures_util::stream::select_all(streams);
    let mut stores: Vec<Store> = (0..=related.len()).map(|_| Store::default()).collect();
    let mut last = String::from("nothing seen yet");
    let what = target.describe();
    let run = async {
        while let Some((tag, event)) = events.next().await {
            match event {
                Ok(e) => stores[tag].apply(e),
                Err(e) => {
                    if let Some(fatal) = fatal(session, &e, &what) {
                        return Err(fatal);
                    }
                    let line = format!("{last} (watch interrupted: {e}; resuming)");
                    progress(&line);
                    continue;
                }
            }
            if !stores[0].synced {
                continue;
            }
            // Fail fast first: a failed restore must not wait 2 hours.
            for f in fail_if {
                let store = if f.same_object {
                    &stores[0]
                } else {
                    match related.iter().position(|r| std::ptr::eq(*r, f)) {
                        Some(i) => &stores[i + 1],
                        None => continue,
                    }
                };
                if let Some(obj) = store
                    .objects
                    .values()
                    .find(|o| f.assertion.check(o).is_ok())
                {
                    let message = f.message.clone().unwrap_or_else(|| {
                        format!(
                            "{} has `{}` {}",
                            describe_object(obj),
                            f.assertion.path_text(),
                            f.assertion.test.describe().trim_start_matches("should be ")
                        )
                    });
                    return Ok(Outcome::Failed { message });
                }
            }
            let objects: Vec<&J> = stores[0]
                .objects
                .values()
                .filter(|o| {
                    only_uid
                        .is_none_or(|u| o.pointer("/metadata/uid").and_then(J::as_str) == Some(u))
                })
                .collect();
            let now = state_line(&objects, for_, target);
            if now != last {
                last = now;
                progress(&last);
            }
            if holds(for_, &objects) {
                // For a deletion: whatever else of that name is there now.
                let seen = match for_ {
                    WaitFor::Delete => stores[0].objects.values().cloned().collect(),
                    _ => objects.into_iter().cloned().collect(),
                };
                return Ok(Outcome::Done(seen));
            }
        }
        Err(ClusterError::Protocol("the watch ended".into()))
    };
    let remaining = timeout.saturating_sub(started.elapsed());
    match tokio::time::timeout(remaining, run).await {
        Ok(r) => r,
        Err(_) => {
            let objects: Vec<&J> = stores[0].objects.values().collect();
            Ok(Outcome::TimedOut {
                last: state_line(&objects, for_, target),
            })
        }
    }
}

/// Errors that retrying will not fix.
fn fatal(session: &Session, e: &watcher::Error, what: &str) -> Option<ClusterError> {
    let inner = match e {
        watcher::Error::InitialListFailed(k) | watcher::Error::WatchStartFailed(k) => k,
        _ => return None,
    };
    match ClusterError::from_kube(inner, &session.server, &format!("watch {what}")) {
        e @ (ClusterError::Forbidden { .. }
        | ClusterError::Unauthorized { .. }
        | ClusterError::Config(_)) => Some(e),
        _ => None,
    }
}

fn holds(for_: &WaitFor, objects: &[&J]) -> bool {
    match for_.assertion() {
        None => objects.is_empty(),
        Some(a) => {
            !objects.is_empty()
                && objects
                    .iter()
                    .all(|o| observed(o, for_) && a.check(o).is_ok())
        }
    }
}

/// Whether an object's status speaks of its current spec. A controller
/// that reports `observedGeneration` (in the status, or in the awaited
/// condition) has not seen the latest change while it is behind
/// `metadata.generation`: a wait right after a patch would otherwise
/// return at once on the `Ready=True` of before the patch.
fn observed(o: &J, for_: &WaitFor) -> bool {
    let Some(generation) = o.pointer("/metadata/generation").and_then(J::as_i64) else {
        return true;
    };
    let behind = |seen: Option<&J>| seen.and_then(J::as_i64).is_some_and(|s| s < generation);
    if behind(o.pointer("/status/observedGeneration")) {
        return false;
    }
    if let WaitFor::Condition { type_, .. } = for_ {
        if behind(condition(o, type_).and_then(|c| c.get("observedGeneration"))) {
            return false;
        }
    }
    true
}

/// The object's status condition of this type.
fn condition<'a>(o: &'a J, type_: &str) -> Option<&'a J> {
    o.pointer("/status/conditions")
        .and_then(J::as_array)?
        .iter()
        .find(|c| c.get("type").and_then(J::as_str) == Some(type_))
}

/// `Cluster cloudnative-pg/immich-database`.
pub fn describe_object(o: &J) -> String {
    let kind = o.get("kind").and_then(J::as_str).unwrap_or("object");
    let meta = o.get("metadata");
    let name = meta
        .and_then(|m| m.get("name"))
        .and_then(J::as_str)
        .unwrap_or("?");
    match meta.and_then(|m| m.get("namespace")).and_then(J::as_str) {
        Some(ns) => format!("{kind} {ns}/{name}"),
        None => format!("{kind} {name}"),
    }
}

/// What the objects look like now, in one line: phase, the awaited
/// condition's status and message, or how many are left to go.
pub fn state_line(objects: &[&J], for_: &WaitFor, target: &Target) -> String {
    if objects.is_empty() {
        return match for_ {
            WaitFor::Delete => "gone".into(),
            _ => format!("{} not found (yet)", target.describe()),
        };
    }
    if let WaitFor::Delete = for_ {
        let terminating = objects
            .iter()
            .filter(|o| o.pointer("/metadata/deletionTimestamp").is_some())
            .count();
        return format!("{} left, {terminating} terminating", objects.len());
    }
    let o = objects[0];
    let mut parts = Vec::new();
    if objects.len() > 1 {
        parts.push(format!("{} objects", objects.len()));
    }
    if let Some(phase) = o.pointer("/status/phase").and_then(J::as_str) {
        parts.push(format!("phase: {phase}"));
    }
    if let WaitFor::Condition { type_, .. } = for_ {
        match condition(o, type_) {
            Some(c) => {
                let status = c.get("status").and_then(J::as_str).unwrap_or("?");
                let msg = c
                    .get("message")
                    .or_else(|| c.get("reason"))
                    .and_then(J::as_str)
                    .unwrap_or("");
                parts.push(format!(
                    "{type_}={status}{}",
                    if msg.is_empty() {
                        String::new()
                    } else {
                        format!(" ({msg})")
                    }
                ));
            }
            None => parts.push(format!("no {type_} condition yet")),
        }
    }
    if let WaitFor::Field { path, .. } = for_ {
        let found = crate::yaml::path::select_json(o, path);
        parts.push(format!(
            "{} = {}",
            crate::yaml::path::render(path),
            found.map_or("nothing".to_string(), |v| v.to_string())
        ));
    }
    if parts.is_empty() {
        "present".into()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready(generation: i64, observed: Option<i64>, in_condition: Option<i64>) -> J {
        let mut condition = serde_json::json!({"type": "Ready", "status": "True"});
        if let Some(g) = in_condition {
            condition["observedGeneration"] = g.into();
        }
        let mut o = serde_json::json!({
            "metadata": {"name": "db", "generation": generation},
            "status": {"conditions": [condition]},
        });
        if let Some(g) = observed {
            o["status"]["observedGeneration"] = g.into();
        }
        o
    }

    #[test]
    fn a_status_behind_the_spec_does_not_satisfy_a_wait() {
        let for_ = WaitFor::Condition {
            type_: "Ready".into(),
            status: "True".into(),
        };
        // Ready=True from before the patch that bumped the generation.
        assert!(!holds(&for_, &[&ready(3, Some(2), None)]));
        assert!(!holds(&for_, &[&ready(3, None, Some(2))]));
        // Seen, or a controller that does not report it: as it says.
        assert!(holds(&for_, &[&ready(3, Some(3), Some(3))]));
        assert!(holds(&for_, &[&ready(3, None, None)]));
    }
}
