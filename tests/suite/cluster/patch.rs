//! PATCH in its four content types: JSON merge patch (RFC 7386), JSON
//! patch (RFC 6902, via the `json-patch` crate), strategic merge patch
//! (treated as a merge patch: the kinds served here have no list merge
//! keys that the tests rely on), and server-side apply with field
//! managers, conflicts (409) and `force`.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::fields::{self, FieldPath};
use super::resources::Resource;
use super::status::ApiError;
use super::store::Owners;

pub const MERGE: &str = "application/merge-patch+json";
pub const JSON: &str = "application/json-patch+json";
pub const STRATEGIC: &str = "application/strategic-merge-patch+json";
pub const APPLY: &str = "application/apply-patch+yaml";

pub fn is_apply(content_type: &str) -> bool {
    content_type.starts_with("application/apply-patch")
}

/// The body of an apply patch: YAML (JSON is YAML too).
pub fn parse_apply(body: &[u8]) -> Result<Value, ApiError> {
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request("the apply patch is not UTF-8"))?;
    let y: serde_yaml::Value = serde_yaml::from_str(text)
        .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
    let v = serde_json::to_value(y).map_err(|e| ApiError::bad_request(e.to_string()))?;
    if !v.is_object() {
        return Err(ApiError::bad_request("the apply patch must be an object"));
    }
    Ok(v)
}

/// Applies a merge, JSON or strategic patch to `current`.
pub fn apply_patch(current: &Value, content_type: &str, body: &[u8]) -> Result<Value, ApiError> {
    let ct = content_type.split(';').next().unwrap_or("").trim();
    let mut doc = current.clone();
    match ct {
        MERGE | STRATEGIC => {
            let p: Value = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
            if !p.is_object() {
                return Err(ApiError::bad_request("a merge patch must be a JSON object"));
            }
            json_patch::merge(&mut doc, &strip_directives(p));
        }
        JSON => {
            let p: json_patch::Patch = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding JSON patch: {e}")))?;
            json_patch::patch(&mut doc, &p)
                .map_err(|e| ApiError::new(422, "Invalid", format!("the JSON patch cannot be applied: {e}")))?;
        }
        other => {
            return Err(ApiError::new(
                415,
                "UnsupportedMediaType",
                format!("the body of the request was in an unknown format - accepted media types include: {MERGE}, {JSON}, {STRATEGIC}, {APPLY} (got {other:?})"),
            ))
        }
    }
    Ok(doc)
}

/// Drops strategic-merge directives (`$patch`, `$retainKeys`, ...).
fn strip_directives(mut v: Value) -> Value {
    if let Some(m) = v.as_object_mut() {
        m.retain(|k, _| !k.starts_with('$'));
        for x in m.values_mut() {
            *x = strip_directives(x.take());
        }
    }
    v
}

/// Server-side apply of `config` by `manager`: the new object and the new
/// field ownership, or 409 Conflict naming the fields other managers own
/// with other values (unless `force`).
pub fn server_side_apply(
    res: &Resource,
    name: &str,
    current: Option<&Value>,
    mut owners: Owners,
    config: &Value,
    manager: &str,
    force: bool,
) -> Result<(Value, Owners), ApiError> {
    let paths: BTreeSet<FieldPath> = fields::leaves(config).into_iter().collect();
    let Some(current) = current else {
        let mut o = Owners::new();
        o.insert(manager.to_string(), paths);
        return Ok((config.clone(), o));
    };
    let mut conflicts: Vec<(String, FieldPath)> = Vec::new();
    for (m, set) in &owners {
        if m == manager {
            continue;
        }
        for p in &paths {
            let theirs = set.iter().any(|q| fields::overlaps(p, q));
            if theirs && fields::get(current, p) != fields::get(config, p) {
                conflicts.push((m.clone(), p.clone()));
            }
        }
    }
    if !conflicts.is_empty() && !force {
        return Err(conflict(res, name, &conflicts));
    }
    for (m, p) in &conflicts {
        if let Some(set) = owners.get_mut(m) {
            set.retain(|q| !fields::overlaps(p, q));
        }
    }
    let mut result = current.clone();
    let previous = owners.remove(manager).unwrap_or_default();
    for q in previous.difference(&paths) {
        let shared = owners
            .values()
            .any(|s| s.iter().any(|o| fields::overlaps(o, q)));
        if !shared && !paths.iter().any(|p| fields::overlaps(p, q)) {
            fields::remove(&mut result, q);
        }
    }
    fields::deep_merge(&mut result, config);
    owners.insert(manager.to_string(), paths);
    owners.retain(|_, s| !s.is_empty());
    Ok((result, owners))
}

fn conflict(res: &Resource, name: &str, conflicts: &[(String, FieldPath)]) -> ApiError {
    let gv = res.api_version();
    let n = conflicts.len();
    let list: Vec<String> = conflicts
        .iter()
        .map(|(m, p)| format!("conflict with \"{m}\" using {gv}: {}", fields::dotted(p)))
        .collect();
    let message = format!(
        "Apply failed with {n} conflict{}: {}",
        if n == 1 { "" } else { "s" },
        list.join("; ")
    );
    let mut e = ApiError::new(409, "Conflict", message);
    e.details = json!({
        "name": name, "group": res.group, "kind": res.plural,
        "causes": conflicts.iter().map(|(m, p)| json!({
            "reason": "FieldManagerConflict",
            "message": format!("conflict with \"{m}\" using {gv}"),
            "field": fields::dotted(p),
        })).collect::<Vec<_>>(),
    });
    e
}
