//! Field paths inside JSON objects (`spec.backup.barmanObjectStore`): the
//! unit of ownership for server-side apply and of comparison for the
//! Argo CD simulator. Maps are walked into; lists and scalars are leaves.

use serde_json::{Map, Value};

pub type FieldPath = Vec<String>;

/// `.spec.instances`, as the API server names a field in messages.
pub fn dotted(p: &[String]) -> String {
    p.iter().map(|s| format!(".{s}")).collect()
}

/// Leaves of a value; the identifying metadata is nobody's field.
pub fn leaves(v: &Value) -> Vec<FieldPath> {
    let mut out = Vec::new();
    walk(v, &mut Vec::new(), &mut out);
    out.retain(|p| !identity(p));
    out
}

fn walk(v: &Value, at: &mut FieldPath, out: &mut Vec<FieldPath>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                at.push(k.clone());
                walk(x, at, out);
                at.pop();
            }
        }
        _ if !at.is_empty() => out.push(at.clone()),
        _ => {}
    }
}

/// apiVersion, kind, and metadata the server owns.
pub fn identity(p: &[String]) -> bool {
    match p.first().map(String::as_str) {
        Some("apiVersion" | "kind") => true,
        Some("metadata") => matches!(
            p.get(1).map(String::as_str),
            Some(
                "name"
                    | "namespace"
                    | "uid"
                    | "resourceVersion"
                    | "generation"
                    | "creationTimestamp"
                    | "deletionTimestamp"
                    | "deletionGracePeriodSeconds"
                    | "managedFields"
                    | "selfLink"
            )
        ),
        _ => false,
    }
}

pub fn get<'a>(v: &'a Value, p: &[String]) -> Option<&'a Value> {
    p.iter().try_fold(v, |v, k| v.get(k))
}

/// Sets a field, creating the maps on the way.
pub fn set(v: &mut Value, p: &[String], x: Value) {
    let Some((last, parents)) = p.split_last() else {
        *v = x;
        return;
    };
    let mut cur = v;
    for k in parents {
        if !cur.get(k).is_some_and(Value::is_object) {
            if !cur.is_object() {
                *cur = Value::Object(Map::new());
            }
            cur[k.as_str()] = Value::Object(Map::new());
        }
        cur = &mut cur[k.as_str()];
    }
    if !cur.is_object() {
        *cur = Value::Object(Map::new());
    }
    cur[last.as_str()] = x;
}

/// Removes a field, and the maps it leaves empty.
pub fn remove(v: &mut Value, p: &[String]) {
    let Some((first, rest)) = p.split_first() else {
        return;
    };
    let Some(m) = v.as_object_mut() else {
        return;
    };
    if rest.is_empty() {
        m.remove(first);
        return;
    }
    if let Some(child) = m.get_mut(first) {
        remove(child, rest);
        if child.as_object().is_some_and(Map::is_empty) {
            m.remove(first);
        }
    }
}

/// Leaves whose value differs between two versions (added, changed or
/// removed).
pub fn changed(old: &Value, new: &Value) -> Vec<FieldPath> {
    let mut out: Vec<FieldPath> = leaves(new)
        .into_iter()
        .filter(|p| get(old, p) != get(new, p))
        .collect();
    for p in leaves(old) {
        if get(new, &p).is_none() && !out.contains(&p) {
            out.push(p);
        }
    }
    out
}

/// Merges `over` into `base`: maps field by field, anything else replaced.
pub fn deep_merge(base: &mut Value, over: &Value) {
    match (base.as_object_mut(), over.as_object()) {
        (Some(b), Some(o)) => {
            for (k, v) in o {
                match b.get_mut(k) {
                    Some(slot) if slot.is_object() && v.is_object() => deep_merge(slot, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        _ => *base = over.clone(),
    }
}

/// One path is the other or inside it.
pub fn overlaps(a: &[String], b: &[String]) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// A JSON pointer (`/spec/bootstrap`) as a field path.
pub fn from_pointer(ptr: &str) -> FieldPath {
    ptr.split('/')
        .skip(1)
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect()
}
