//! The verbs of the REST layer, once a request is routed: get (and the
//! log and exec subresources), list (selectors, limit/continue, Table),
//! watch, create, update, patch and delete (one or a collection), with
//! their query parameters (dryRun, fieldManager, force, fieldValidation)
//! and DELETE options in the body or the query. Writes are validated
//! against the schemas on a dry run of the store first.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::api::{json_reply, Target};
use super::http::{Reply, Request};
use super::patch;
use super::select::Selector;
use super::status::ApiError;
use super::store::{meta_str, DeleteOpts, Store, Sub, Write};
use super::{table, watch, Shared};

fn body_json(req: &Request) -> Result<Value, ApiError> {
    let ct = req.header("Content-Type").unwrap_or("application/json");
    if ct.contains("protobuf") {
        return super::protobuf::decode(&req.body).ok_or_else(|| {
            ApiError::new(
                415,
                "UnsupportedMediaType",
                format!("the body of the request was in an unknown format ({ct}); this test server reads JSON, YAML, and protobuf for Namespace, Secret and ConfigMap only"),
            )
        });
    }
    if ct.contains("yaml") {
        return patch::parse_apply(&req.body);
    }
    serde_json::from_slice(&req.body)
        .map_err(|e| ApiError::bad_request(format!("error decoding the body as JSON: {e}")))
}

fn manager(q: &[(String, String)], req: &Request) -> String {
    q.iter()
        .find(|(k, _)| k == "fieldManager")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| {
            let ua = req.header("User-Agent").unwrap_or("unknown");
            ua.split('/').next().unwrap_or("unknown").to_string()
        })
}

pub fn execute(
    shared: &Arc<Shared>,
    req: &Request,
    q: &[(String, String)],
    t: &Target,
    verb: &str,
) -> Result<Reply, ApiError> {
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let dry_run = match get("dryRun") {
        None | Some("") => false,
        Some("All") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "unsupported dryRun value {other:?}: only All is supported"
            )))
        }
    };
    let strict = get("fieldValidation") == Some("Strict");
    let name = t.name.clone().unwrap_or_default();
    let sub = match t.sub.as_deref() {
        Some("status") => Sub::Status,
        _ => Sub::Main,
    };
    let shown = |mut o: Value| {
        let store = shared.store.lock().expect("store");
        o["apiVersion"] = json!(store.resource(t.res).api_version_of(&t.version));
        o
    };
    match verb {
        "get" => {
            let store = shared.store.lock().expect("store");
            let r = store.resource(t.res).clone();
            let obj = store
                .get(t.res, &t.ns, &name)
                .cloned()
                .ok_or_else(|| ApiError::not_found(&r, &name))?;
            drop(store);
            if t.sub.as_deref() == Some("log") {
                let text = obj
                    .pointer("/metadata/annotations/test.docs~1log")
                    .and_then(Value::as_str)
                    .unwrap_or("");
                return Ok(Reply::Full {
                    code: 200,
                    content_type: "text/plain".into(),
                    body: text.as_bytes().to_vec(),
                    delay: Duration::ZERO,
                });
            }
            if table::wanted(req.header("Accept").unwrap_or("")) {
                let r = shared.store.lock().expect("store").resource(t.res).clone();
                return Ok(table_reply(&table::table(&r, &[obj], json!({}))));
            }
            Ok(json_reply(200, &shown(obj)))
        }
        "list" => list(shared, q, t, req.header("Accept").unwrap_or("")),
        "watch" => {
            let store = shared.store.lock().expect("store");
            let r = store.resource(t.res).clone();
            drop(store);
            let selector = Selector::parse(get("labelSelector"), get("fieldSelector"))
                .map_err(ApiError::bad_request)?;
            let p = watch::WatchParams {
                res: t.res,
                ns: (!t.ns.is_empty()).then(|| t.ns.clone()),
                selector,
                resource_version: get("resourceVersion").map(String::from),
                timeout: get("timeoutSeconds")
                    .and_then(|s| s.parse().ok())
                    .map(Duration::from_secs),
                bookmarks: get("allowWatchBookmarks") == Some("true"),
                initial_events: get("sendInitialEvents") == Some("true"),
                api_version: r.api_version_of(&t.version),
                kind: r.kind.clone(),
            };
            let sh = shared.clone();
            Ok(Reply::Stream(Box::new(move |w| watch::serve(&sh, p, w))))
        }
        "create" => {
            if t.sub.as_deref() == Some("exec") {
                let obj = shared
                    .store
                    .lock()
                    .expect("store")
                    .get(t.res, &t.ns, &name)
                    .cloned();
                let obj = obj.ok_or_else(|| {
                    ApiError::new(404, "NotFound", format!("pods \"{name}\" not found"))
                })?;
                return super::exec::upgrade(shared, req, &obj, q);
            }
            if t.name.is_some() {
                return Err(ApiError::method_not_allowed(
                    "POST is only allowed on collections",
                ));
            }
            let obj = body_json(req)?;
            let w = Write {
                dry_run,
                manager: manager(q, req),
                sub: Sub::Main,
                owners: None,
            };
            let created = shared.write(|s| {
                check_kind(s, t, &obj)?;
                check_namespace(s, t, &obj)?;
                let mut probe = w.clone();
                probe.dry_run = true;
                let candidate = s.create(t.res, &t.ns, obj.clone(), &probe)?;
                validate(shared, s, t.res, &candidate, strict)?;
                s.create(t.res, &t.ns, obj, &w)
            })?;
            Ok(json_reply(201, &shown(created)))
        }
        "update" => {
            let obj = body_json(req)?;
            let w = Write {
                dry_run,
                manager: manager(q, req),
                sub,
                owners: None,
            };
            let updated = shared.write(|s| {
                check_kind(s, t, &obj)?;
                let mut probe = w.clone();
                probe.dry_run = true;
                let candidate = s.update(t.res, &t.ns, &name, obj.clone(), &probe)?;
                validate(shared, s, t.res, &candidate, strict)?;
                s.update(t.res, &t.ns, &name, obj, &w)
            })?;
            Ok(json_reply(200, &shown(updated)))
        }
        "patch" => {
            let ct = req.header("Content-Type").unwrap_or("").to_string();
            let force = get("force") == Some("true");
            let apply = patch::is_apply(&ct);
            let mgr = get("fieldManager").map(String::from);
            if apply && mgr.is_none() {
                return Err(ApiError::bad_request(
                    "PATCH /apply requires fieldManager to be set",
                ));
            }
            let mgr = mgr.unwrap_or_else(|| manager(q, req));
            let (code, result) = shared.write(|s| {
                let r = s.resource(t.res).clone();
                let current = s.get(t.res, &t.ns, &name).cloned();
                let (new, owners) = if apply {
                    let config = patch::parse_apply(&req.body)?;
                    check_kind(s, t, &config)?;
                    let owners = current
                        .as_ref()
                        .map(|c| s.owners_of(meta_str(c, "uid")))
                        .unwrap_or_default();
                    let (new, o) = patch::server_side_apply(
                        &r,
                        &name,
                        current.as_ref(),
                        owners,
                        &config,
                        &mgr,
                        force,
                    )?;
                    (new, Some(o))
                } else {
                    let cur = current
                        .as_ref()
                        .ok_or_else(|| ApiError::not_found(&r, &name))?;
                    (patch::apply_patch(cur, &ct, &req.body)?, None)
                };
                let w = Write {
                    dry_run,
                    manager: mgr.clone(),
                    sub,
                    owners,
                };
                let mut probe = w.clone();
                probe.dry_run = true;
                if current.is_none() {
                    let mut new = new;
                    new["metadata"]["name"] = json!(name);
                    check_namespace(s, t, &new)?;
                    let candidate = s.create(t.res, &t.ns, new.clone(), &probe)?;
                    validate(shared, s, t.res, &candidate, strict)?;
                    return Ok((201, s.create(t.res, &t.ns, new, &w)?));
                }
                let candidate = s.update(t.res, &t.ns, &name, new.clone(), &probe)?;
                validate(shared, s, t.res, &candidate, strict)?;
                Ok((200, s.update(t.res, &t.ns, &name, new, &w)?))
            })?;
            Ok(json_reply(code, &shown(result)))
        }
        "delete" => {
            let o = delete_opts(req, q)?;
            let (gone, obj) = shared.write(|s| {
                let obj = s.delete(t.res, &t.ns, &name, &o)?;
                let gone = o.dry_run || s.get(t.res, &t.ns, &name).is_none();
                Ok((gone, obj))
            })?;
            Ok(json_reply(if gone { 200 } else { 202 }, &shown(obj)))
        }
        "deletecollection" => {
            let o = delete_opts(req, q)?;
            let selector = Selector::parse(get("labelSelector"), get("fieldSelector"))
                .map_err(ApiError::bad_request)?;
            let items = shared.write(|s| {
                let names: Vec<(String, String)> = s
                    .list(t.res, (!t.ns.is_empty()).then_some(t.ns.as_str()))
                    .into_iter()
                    .filter(|x| selector.matches(x))
                    .map(|x| {
                        (
                            meta_str(x, "namespace").to_string(),
                            meta_str(x, "name").to_string(),
                        )
                    })
                    .collect();
                let mut out = Vec::new();
                for (ns, n) in names {
                    out.push(s.delete(t.res, &ns, &n, &o)?);
                }
                Ok(out)
            })?;
            let r = shared.store.lock().expect("store").resource(t.res).clone();
            Ok(json_reply(
                200,
                &json!({"apiVersion": r.api_version_of(&t.version), "kind": format!("{}List", r.kind),
                "metadata": {}, "items": items.into_iter().map(shown).collect::<Vec<_>>()}),
            ))
        }
        _ => Err(ApiError::method_not_allowed(verb.to_string())),
    }
}

fn check_kind(s: &Store, t: &Target, obj: &Value) -> Result<(), ApiError> {
    let r = s.resource(t.res);
    match obj.get("kind").and_then(Value::as_str) {
        Some(k) if k != r.kind => Err(ApiError::bad_request(format!(
            "the kind of the object ({k}) does not match the resource ({})",
            r.kind
        ))),
        _ => Ok(()),
    }
}

/// A namespaced object needs its namespace to exist and not be terminating.
fn check_namespace(s: &Store, t: &Target, obj: &Value) -> Result<(), ApiError> {
    if !s.resource(t.res).namespaced {
        return Ok(());
    }
    let ns = if t.ns.is_empty() {
        meta_str(obj, "namespace")
    } else {
        &t.ns
    };
    let Some(nsres) = s.by_kind("v1", "Namespace") else {
        return Ok(());
    };
    match s.get(nsres, "", ns) {
        None => Err(ApiError::not_found(s.resource(nsres), ns)),
        Some(n) if !meta_str(n, "deletionTimestamp").is_empty() => Err(ApiError::new(
            403,
            "Forbidden",
            format!(
                "unable to create new content in namespace {ns} because it is being terminated"
            ),
        )),
        Some(_) => Ok(()),
    }
}

fn validate(
    shared: &Shared,
    s: &Store,
    res: usize,
    obj: &Value,
    strict: bool,
) -> Result<(), ApiError> {
    let r = s.resource(res);
    let mut o = obj.clone();
    if let Some(m) = o.as_object_mut() {
        m.remove("status");
    }
    // Unknown fields: a strict decoding error with fieldValidation=Strict
    // (kubectl's default), kept otherwise (a real server would prune them).
    let (unknown, causes): (Vec<_>, Vec<_>) = shared
        .validator
        .check(&o)
        .into_iter()
        .partition(|(_, m)| m.contains("is not a known field"));
    if strict && !unknown.is_empty() {
        let fields: Vec<String> = unknown
            .iter()
            .map(|(f, _)| format!("unknown field \"{f}\""))
            .collect();
        return Err(ApiError::bad_request(format!(
            "{} in version \"{}\" cannot be handled as a {}: strict decoding error: {}",
            r.kind,
            r.versions[0],
            r.kind,
            fields.join(", ")
        )));
    }
    if causes.is_empty() {
        Ok(())
    } else {
        Err(ApiError::invalid(r, meta_str(obj, "name"), &causes))
    }
}

fn delete_opts(req: &Request, q: &[(String, String)]) -> Result<DeleteOpts, ApiError> {
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let body: Value = if req.body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&req.body)
            .map_err(|e| ApiError::bad_request(format!("error decoding DeleteOptions: {e}")))?
    };
    let body_dry = body
        .get("dryRun")
        .and_then(Value::as_array)
        .is_some_and(|a| !a.is_empty());
    let query_dry = get("dryRun").is_some_and(|v| !v.is_empty());
    let s = |p: &str| body.pointer(p).and_then(Value::as_str).map(String::from);
    Ok(DeleteOpts {
        dry_run: body_dry || query_dry,
        propagation: s("/propagationPolicy").or_else(|| get("propagationPolicy")),
        uid: s("/preconditions/uid"),
        resource_version: s("/preconditions/resourceVersion"),
    })
}

fn list(
    shared: &Shared,
    q: &[(String, String)],
    t: &Target,
    accept: &str,
) -> Result<Reply, ApiError> {
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let selector = Selector::parse(get("labelSelector"), get("fieldSelector"))
        .map_err(ApiError::bad_request)?;
    let limit: usize = get("limit")
        .and_then(|l| l.parse().ok())
        .filter(|l| *l > 0)
        .unwrap_or(usize::MAX);
    let after = match get("continue").filter(|c| !c.is_empty()) {
        Some(c) => Some(unhex(c).ok_or_else(|| ApiError::bad_request("invalid continue token"))?),
        None => None,
    };
    let store = shared.store.lock().expect("store");
    let r = store.resource(t.res).clone();
    let api_version = r.api_version_of(&t.version);
    let all: Vec<Value> = store
        .list(t.res, (!t.ns.is_empty()).then_some(t.ns.as_str()))
        .into_iter()
        .filter(|o| selector.matches(o))
        .filter(|o| {
            after.as_ref().is_none_or(|a| {
                (
                    meta_str(o, "namespace").to_string(),
                    meta_str(o, "name").to_string(),
                ) > a.clone()
            })
        })
        .cloned()
        .collect();
    let rv = store.rv();
    drop(store);
    let total = all.len();
    let items: Vec<Value> = all
        .into_iter()
        .take(limit)
        .map(|mut o| {
            o["apiVersion"] = json!(api_version);
            o
        })
        .collect();
    let mut meta = json!({"resourceVersion": rv.to_string()});
    if total > items.len() {
        if let Some(last) = items.last() {
            meta["continue"] = json!(hex(meta_str(last, "namespace"), meta_str(last, "name")));
            meta["remainingItemCount"] = json!(total - items.len());
        }
    }
    if table::wanted(accept) {
        return Ok(table_reply(&table::table(&r, &items, meta)));
    }
    Ok(json_reply(
        200,
        &json!({"apiVersion": api_version, "kind": format!("{}List", r.kind), "metadata": meta, "items": items}),
    ))
}

fn table_reply(t: &Value) -> Reply {
    Reply::Full {
        code: 200,
        content_type: "application/json;as=Table;v=v1;g=meta.k8s.io".into(),
        body: t.to_string().into_bytes(),
        delay: Duration::ZERO,
    }
}

fn hex(ns: &str, name: &str) -> String {
    format!("{ns}/{name}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn unhex(s: &str) -> Option<(String, String)> {
    if s.len() % 2 != 0 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect();
    let text = String::from_utf8(bytes?).ok()?;
    let (ns, name) = text.split_once('/')?;
    Some((ns.to_string(), name.to_string()))
}
