//! The objects of the cluster and their history: create, update, delete
//! with the API server's bookkeeping (one global resourceVersion, uid,
//! creationTimestamp, generation bumped on spec changes, finalizers and
//! deletionTimestamp, owner-reference garbage collection, field managers)
//! and a bounded list of watch events; deletion and garbage collection
//! are in delete.rs. No HTTP here: the server, the controllers and the
//! tests all write through these functions.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Instant;

use serde_json::{json, Value};

use super::fields::{self, FieldPath};
use super::resources::Resource;
use super::status::ApiError;
use super::time;

pub type Key = (usize, String, String);
/// Field manager → the fields it owns.
pub type Owners = BTreeMap<String, BTreeSet<FieldPath>>;

/// What a write may touch: through the main resource of an HTTP request,
/// its status subresource, or anything (the controllers and tests).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Sub {
    #[default]
    Any,
    Main,
    Status,
}

#[derive(Clone, Debug, Default)]
pub struct Write {
    pub dry_run: bool,
    pub manager: String,
    pub sub: Sub,
    /// Field ownership after the write (server-side apply decides it);
    /// otherwise the manager takes the fields it changed.
    pub owners: Option<Owners>,
}

#[derive(Clone, Debug, Default)]
pub struct DeleteOpts {
    pub dry_run: bool,
    /// `Orphan`, `Background` or `Foreground` (treated as background).
    pub propagation: Option<String>,
    pub uid: Option<String>,
    pub resource_version: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Event {
    pub rv: u64,
    pub kind: &'static str,
    pub res: usize,
    pub ns: String,
    pub obj: Value,
    /// The object before a MODIFIED event (to tell selector transitions).
    pub old: Option<Value>,
}

pub struct Store {
    pub resources: Vec<Resource>,
    pub(super) objects: BTreeMap<Key, Value>,
    pub(super) rv: u64,
    seq: u64,
    events: VecDeque<Event>,
    /// How many events the watch history keeps.
    pub history: usize,
    /// Watches from a resourceVersion older than this are 410 Gone.
    compacted: u64,
    pub(super) owners: HashMap<String, Owners>,
    pub(super) orphaned: HashMap<String, Instant>,
}

pub fn meta_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or("")
}

impl Store {
    pub fn new(resources: Vec<Resource>, history: usize) -> Store {
        Store {
            resources,
            objects: BTreeMap::new(),
            rv: 1,
            seq: 0,
            events: VecDeque::new(),
            history: history.max(1),
            compacted: 0,
            owners: HashMap::new(),
            orphaned: HashMap::new(),
        }
    }

    pub fn rv(&self) -> u64 {
        self.rv
    }

    pub fn resource(&self, res: usize) -> &Resource {
        &self.resources[res]
    }

    /// By URL: group, version and plural.
    pub fn by_path(&self, group: &str, version: &str, plural: &str) -> Option<usize> {
        self.resources.iter().position(|r| {
            r.group == group && r.plural == plural && r.versions.iter().any(|v| v == version)
        })
    }

    /// By `apiVersion` and `kind` of an object.
    pub fn by_kind(&self, api_version: &str, kind: &str) -> Option<usize> {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        self.resources.iter().position(|r| {
            r.group == group && r.kind == kind && r.versions.iter().any(|v| v == version)
        })
    }

    /// By any name kubectl accepts (`cluster`, `pvc`, `backups.postgresql.cnpg.io`).
    pub fn resolve(&self, name: &str) -> Option<usize> {
        self.resources.iter().position(|r| r.answers_to(name))
    }

    pub fn get(&self, res: usize, ns: &str, name: &str) -> Option<&Value> {
        self.objects.get(&(res, ns.to_string(), name.to_string()))
    }

    /// Objects of a kind, in one namespace or all, sorted by namespace/name.
    pub fn list(&self, res: usize, ns: Option<&str>) -> Vec<&Value> {
        self.objects
            .range((res, String::new(), String::new())..)
            .take_while(|((r, _, _), _)| *r == res)
            .filter(|((_, n, _), _)| ns.is_none_or(|ns| ns == n))
            .map(|(_, v)| v)
            .collect()
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn owners_of(&self, uid: &str) -> Owners {
        self.owners.get(uid).cloned().unwrap_or_default()
    }

    fn next_uid(&mut self) -> String {
        self.seq += 1;
        let r = super::random();
        format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            (r >> 32) as u32,
            (r >> 16) as u16,
            r as u16 & 0xfff,
            self.seq & 0xfff,
            self.seq
        )
    }

    pub(super) fn push_event(
        &mut self,
        kind: &'static str,
        res: usize,
        obj: &Value,
        old: Option<Value>,
    ) {
        let ns = meta_str(obj, "namespace").to_string();
        self.events.push_back(Event {
            rv: self.rv,
            kind,
            res,
            ns,
            obj: obj.clone(),
            old,
        });
        while self.events.len() > self.history {
            if let Some(e) = self.events.pop_front() {
                self.compacted = e.rv;
            }
        }
    }

    /// Events after `rv`, or None when some of them were compacted away.
    pub fn events_after(&self, rv: u64) -> Option<Vec<Event>> {
        if rv < self.compacted {
            return None;
        }
        Some(self.events.iter().filter(|e| e.rv > rv).cloned().collect())
    }

    /// Forgets the whole event history: every watch from an older
    /// resourceVersion is then answered 410 Gone.
    pub fn compact(&mut self) {
        self.events.clear();
        self.compacted = self.rv;
    }

    pub fn oldest_rv(&self) -> u64 {
        self.compacted
    }

    pub fn create(
        &mut self,
        res: usize,
        ns: &str,
        mut obj: Value,
        w: &Write,
    ) -> Result<Value, ApiError> {
        let r = self.resources[res].clone();
        if !obj.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request must be a JSON object",
            ));
        }
        if !obj.get("metadata").is_some_and(Value::is_object) {
            obj["metadata"] = json!({});
        }
        let version = obj
            .get("apiVersion")
            .and_then(Value::as_str)
            .and_then(|a| a.rsplit('/').next())
            .filter(|v| r.versions.iter().any(|x| x == v))
            .unwrap_or(&r.versions[0])
            .to_string();
        obj["apiVersion"] = json!(r.api_version_of(&version));
        obj["kind"] = json!(r.kind);
        fold_string_data(&r, &mut obj);
        let mut name = meta_str(&obj, "name").to_string();
        if name.is_empty() {
            let prefix = meta_str(&obj, "generateName").to_string();
            if prefix.is_empty() {
                return Err(ApiError::invalid(
                    &r,
                    "",
                    &[(
                        "metadata.name".into(),
                        "Required value: name or generateName is required".into(),
                    )],
                ));
            }
            name = format!("{prefix}{}", suffix());
        }
        let given_ns = meta_str(&obj, "namespace").to_string();
        if r.namespaced {
            if !given_ns.is_empty() && !ns.is_empty() && given_ns != ns {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            let ns = if ns.is_empty() {
                given_ns
            } else {
                ns.to_string()
            };
            if ns.is_empty() {
                return Err(ApiError::bad_request(
                    "a namespaced object needs a namespace",
                ));
            }
            obj["metadata"]["namespace"] = json!(ns);
        } else if let Some(m) = obj["metadata"].as_object_mut() {
            m.remove("namespace");
        }
        let ns = meta_str(&obj, "namespace").to_string();
        let key = (res, ns.clone(), name.clone());
        if self.objects.contains_key(&key) {
            return Err(ApiError::already_exists(&r, &name));
        }
        if w.sub == Sub::Main && r.status {
            if let Some(m) = obj.as_object_mut() {
                m.remove("status");
            }
        }
        if r.group.is_empty() && r.kind == "Namespace" && obj.get("status").is_none() {
            obj["status"] = json!({"phase": "Active"});
        }
        let uid = self.next_uid();
        let m = &mut obj["metadata"];
        m["name"] = json!(name);
        m["uid"] = json!(uid);
        m["creationTimestamp"] = json!(time::now());
        m["generation"] = json!(1);
        if let Some(m) = m.as_object_mut() {
            m.remove("deletionTimestamp");
            m.remove("resourceVersion");
            m.remove("managedFields");
        }
        if w.dry_run {
            return Ok(obj);
        }
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        let owners = w.owners.clone().unwrap_or_else(|| {
            let mut o = Owners::new();
            o.insert(
                w.manager.clone(),
                fields::leaves(&obj).into_iter().collect(),
            );
            o
        });
        self.owners.insert(uid, owners);
        self.objects.insert(key, obj.clone());
        self.push_event("ADDED", res, &obj, None);
        Ok(obj)
    }

    /// Replaces an object (PUT semantics; PATCH computes the new object
    /// first). A resourceVersion in `new` must match the stored one.
    pub fn update(
        &mut self,
        res: usize,
        ns: &str,
        name: &str,
        mut new: Value,
        w: &Write,
    ) -> Result<Value, ApiError> {
        let r = self.resources[res].clone();
        let key = (res, ns.to_string(), name.to_string());
        let Some(old) = self.objects.get(&key).cloned() else {
            return Err(ApiError::not_found(&r, name));
        };
        if !new.is_object() {
            return Err(ApiError::bad_request(
                "the body of the request must be a JSON object",
            ));
        }
        let body_name = meta_str(&new, "name");
        if !body_name.is_empty() && body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        let wanted_rv = meta_str(&new, "resourceVersion").to_string();
        if !wanted_rv.is_empty() && wanted_rv != meta_str(&old, "resourceVersion") {
            return Err(ApiError::modified(&r, name));
        }
        fold_string_data(&r, &mut new);
        let status_of = |o: &Value| o.get("status").cloned();
        match w.sub {
            Sub::Main if r.status => match status_of(&old) {
                Some(s) => new["status"] = s,
                None => {
                    if let Some(m) = new.as_object_mut() {
                        m.remove("status");
                    }
                }
            },
            Sub::Status => {
                let status = status_of(&new);
                new = old.clone();
                match status {
                    Some(s) => new["status"] = s,
                    None => {
                        if let Some(m) = new.as_object_mut() {
                            m.remove("status");
                        }
                    }
                }
            }
            _ => {}
        }
        if !new.get("metadata").is_some_and(Value::is_object) {
            new["metadata"] = json!({});
        }
        let api_version = new
            .get("apiVersion")
            .and_then(Value::as_str)
            .filter(|a| {
                a.rsplit('/')
                    .next()
                    .is_some_and(|v| r.versions.iter().any(|x| x == v))
            })
            .map_or_else(|| old["apiVersion"].clone(), |a| json!(a));
        new["apiVersion"] = api_version;
        new["kind"] = json!(r.kind);
        for f in [
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
            "resourceVersion",
        ] {
            match old["metadata"].get(f) {
                Some(v) => new["metadata"][f] = v.clone(),
                None => {
                    if let Some(m) = new["metadata"].as_object_mut() {
                        m.remove(f);
                    }
                }
            }
        }
        if let Some(m) = new["metadata"].as_object_mut() {
            m.remove("managedFields");
        }
        if new == old {
            return Ok(old);
        }
        let spec_of = |o: &Value| {
            let mut o = o.clone();
            if let Some(m) = o.as_object_mut() {
                m.remove("metadata");
                if r.status {
                    m.remove("status");
                }
            }
            o
        };
        if spec_of(&old) != spec_of(&new) {
            let g = old["metadata"]["generation"].as_i64().unwrap_or(1);
            new["metadata"]["generation"] = json!(g + 1);
        }
        if w.dry_run {
            return Ok(new);
        }
        let uid = meta_str(&old, "uid").to_string();
        let owners = match &w.owners {
            Some(o) => o.clone(),
            None => {
                let mut o = self.owners_of(&uid);
                let changed = fields::changed(&old, &new);
                for set in o.values_mut() {
                    set.retain(|p| !changed.iter().any(|c| fields::overlaps(c, p)));
                }
                let mine = o.entry(w.manager.clone()).or_default();
                mine.extend(
                    changed
                        .into_iter()
                        .filter(|p| fields::get(&new, p).is_some()),
                );
                o.retain(|_, s| !s.is_empty());
                o
            }
        };
        self.owners.insert(uid, owners);
        self.rv += 1;
        new["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        let finalized = !meta_str(&new, "deletionTimestamp").is_empty()
            && new["metadata"]["finalizers"]
                .as_array()
                .is_none_or(Vec::is_empty);
        self.objects.insert(key.clone(), new.clone());
        self.push_event("MODIFIED", res, &new, Some(old));
        if finalized {
            self.remove(&key);
        }
        Ok(new)
    }
}

/// Five characters like the API server's generateName suffix.
fn suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut r = super::random();
    (0..5)
        .map(|_| {
            let c = ALPHABET[(r % ALPHABET.len() as u64) as usize] as char;
            r /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

/// A Secret's `stringData` is write-only, as on a real API server: its
/// entries are stored base64-encoded in `data` (overriding keys there)
/// and it is never returned.
fn fold_string_data(r: &Resource, obj: &mut Value) {
    if !(r.group.is_empty() && r.kind == "Secret") {
        return;
    }
    let Some(string_data) = obj.as_object_mut().and_then(|o| o.remove("stringData")) else {
        return;
    };
    let Some(entries) = string_data.as_object() else {
        return;
    };
    if !obj.get("data").is_some_and(Value::is_object) {
        obj["data"] = json!({});
    }
    for (k, v) in entries {
        let text = v.as_str().unwrap_or_default();
        obj["data"][k] = json!(super::tls::base64(text.as_bytes()));
    }
}
