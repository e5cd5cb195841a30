//! Deletion as the API server and the garbage collector do it: DELETE
//! with preconditions and dry run; finalizers keep an object (with a
//! deletionTimestamp) until they are removed; `Orphan` strips the owner
//! reference from dependents; otherwise dependents whose owners are all
//! gone are deleted after a delay; a Namespace takes its contents along.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::status::ApiError;
use super::store::{meta_str, DeleteOpts, Key, Store, Write};
use super::time;

impl Store {
    /// DELETE: with finalizers the object only gets a deletionTimestamp.
    pub fn delete(
        &mut self,
        res: usize,
        ns: &str,
        name: &str,
        o: &DeleteOpts,
    ) -> Result<Value, ApiError> {
        let r = self.resources[res].clone();
        let key = (res, ns.to_string(), name.to_string());
        let Some(obj) = self.objects.get(&key).cloned() else {
            return Err(ApiError::not_found(&r, name));
        };
        if let Some(uid) = o.uid.as_deref().filter(|u| !u.is_empty()) {
            let have = meta_str(&obj, "uid");
            if uid != have {
                return Err(ApiError::conflict(
                    &r,
                    name,
                    &format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {have}"
                ),
                ));
            }
        }
        if let Some(rv) = o.resource_version.as_deref().filter(|u| !u.is_empty()) {
            let have = meta_str(&obj, "resourceVersion");
            if rv != have {
                return Err(ApiError::conflict(&r, name, &format!(
                    "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {have}"
                )));
            }
        }
        let finalizers = obj["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty());
        let is_namespace = r.group.is_empty() && r.kind == "Namespace";
        if o.dry_run {
            let mut shown = obj;
            if finalizers || is_namespace {
                shown["metadata"]["deletionTimestamp"] = json!(time::now());
            }
            return Ok(shown);
        }
        let uid = meta_str(&obj, "uid").to_string();
        if o.propagation.as_deref() == Some("Orphan") {
            self.orphan_dependents(&uid);
        }
        if is_namespace {
            let inside: Vec<Key> = self
                .objects
                .keys()
                .filter(|(_, n, _)| n == name)
                .cloned()
                .collect();
            for (res, n, nm) in inside {
                let _ = self.delete(res, &n, &nm, &DeleteOpts::default());
            }
        }
        if finalizers || is_namespace {
            if !meta_str(&obj, "deletionTimestamp").is_empty() {
                return Ok(obj);
            }
            let old = obj.clone();
            let mut obj = obj;
            obj["metadata"]["deletionTimestamp"] = json!(time::now());
            obj["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            if is_namespace {
                obj["status"] = json!({"phase": "Terminating"});
            }
            self.rv += 1;
            obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
            self.objects.insert(key, obj.clone());
            self.push_event("MODIFIED", res, &obj, Some(old));
            return Ok(obj);
        }
        Ok(self.remove(&key).unwrap_or(obj))
    }

    pub(super) fn remove(&mut self, key: &Key) -> Option<Value> {
        let mut obj = self.objects.remove(key)?;
        self.owners.remove(meta_str(&obj, "uid"));
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        self.push_event("DELETED", key.0, &obj, None);
        Some(obj)
    }

    fn orphan_dependents(&mut self, uid: &str) {
        let keys: Vec<Key> = self
            .objects
            .iter()
            .filter(|(_, o)| owner_uids(o).iter().any(|u| u == uid))
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            let Some(mut o) = self.objects.get(&key).cloned() else {
                continue;
            };
            if let Some(refs) = o["metadata"]["ownerReferences"].as_array_mut() {
                refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(uid));
                if refs.is_empty() {
                    if let Some(m) = o["metadata"].as_object_mut() {
                        m.remove("ownerReferences");
                    }
                }
            }
            let _ = self.update(
                key.0,
                &key.1,
                &key.2,
                o,
                &Write {
                    manager: "kube-controller-manager".into(),
                    ..Write::default()
                },
            );
        }
    }

    /// The garbage collector: dependents whose owners are all gone are
    /// deleted once they have been orphans for `delay`; terminating
    /// namespaces go when they are empty.
    pub fn collect_garbage(&mut self, delay: Duration) {
        let uids: HashSet<String> = self
            .objects
            .values()
            .map(|o| meta_str(o, "uid").to_string())
            .collect();
        let now = Instant::now();
        let mut due = Vec::new();
        let mut still = HashSet::new();
        for (key, o) in &self.objects {
            let owners = owner_uids(o);
            if owners.is_empty() || owners.iter().any(|u| uids.contains(u)) {
                continue;
            }
            let uid = meta_str(o, "uid").to_string();
            let since = *self.orphaned.entry(uid.clone()).or_insert(now);
            still.insert(uid);
            if now.duration_since(since) >= delay && meta_str(o, "deletionTimestamp").is_empty() {
                due.push(key.clone());
            }
        }
        self.orphaned.retain(|u, _| still.contains(u));
        for (res, ns, name) in due {
            let _ = self.delete(res, &ns, &name, &DeleteOpts::default());
        }
        let ns_res = self
            .resources
            .iter()
            .position(|r| r.group.is_empty() && r.kind == "Namespace");
        let terminating: Vec<Key> = self
            .objects
            .iter()
            .filter(|((r, _, _), o)| {
                Some(*r) == ns_res && !meta_str(o, "deletionTimestamp").is_empty()
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in terminating {
            let empty = !self.objects.keys().any(|(_, n, _)| *n == key.2);
            let finalizers = self.objects[&key]["metadata"]["finalizers"]
                .as_array()
                .is_some_and(|f| !f.is_empty());
            if empty && !finalizers {
                self.remove(&key);
            }
        }
    }
}

pub fn owner_uids(o: &Value) -> Vec<String> {
    o.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|refs| {
            refs.iter()
                .filter_map(|r| r.get("uid").and_then(Value::as_str).map(String::from))
                .collect()
        })
        .unwrap_or_default()
}
