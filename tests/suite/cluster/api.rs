//! The front of the REST layer, in the order a request meets it: the
//! request log, authentication (bearer token), discovery documents, the
//! routing of `/api/v1/...` and `/apis/{g}/{v}/...` paths (namespaced,
//! cluster-scoped, all-namespaces, subresources) to a verb, and the
//! faults a test switched on. The verbs themselves are in verbs.rs.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::http::{Reply, Request};
use super::log::LoggedRequest;
use super::status::ApiError;
use super::store::Store;
use super::verbs::execute;
use super::{discovery, Shared};

/// Where a request points.
pub struct Target {
    pub res: usize,
    /// Empty for cluster-scoped kinds and lists across namespaces.
    pub ns: String,
    pub name: Option<String>,
    pub sub: Option<String>,
    pub version: String,
}

pub fn handle(shared: &Arc<Shared>, req: Request) -> Reply {
    let index = log(shared, &req);
    let reply = answer(shared, &req).unwrap_or_else(|e| json_reply(e.code, &e.to_status()));
    let code = match &reply {
        Reply::Full { code, .. } => *code,
        Reply::Stream(_) => 200,
    };
    if let Some(r) = shared.log.lock().expect("log").get_mut(index) {
        r.code = code;
    }
    reply
}

pub fn json_reply(code: u16, v: &Value) -> Reply {
    Reply::Full {
        code,
        content_type: "application/json".into(),
        body: v.to_string().into_bytes(),
        delay: Duration::ZERO,
    }
}

/// Query parameters, percent-decoded; empty pairs (`?&dryRun=All`) skipped.
pub fn params(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
                {
                    Ok(x) => {
                        out.push(x);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn log(shared: &Shared, req: &Request) -> usize {
    let raw = String::from_utf8_lossy(&req.body).into_owned();
    let body = if req.body.is_empty() {
        None
    } else {
        serde_json::from_slice(&req.body).ok().or_else(|| {
            serde_yaml::from_str::<serde_yaml::Value>(&raw)
                .ok()
                .and_then(|y| serde_json::to_value(y).ok())
        })
    };
    let entry = LoggedRequest {
        method: req.method.clone(),
        path: req.path.clone(),
        query: req.query.clone(),
        params: params(&req.query),
        content_type: req.header("Content-Type").unwrap_or("").to_string(),
        accept: req.header("Accept").unwrap_or("").to_string(),
        user_agent: req.header("User-Agent").unwrap_or("").to_string(),
        body,
        raw_body: raw,
        time: SystemTime::now(),
        code: 0,
    };
    let mut log = shared.log.lock().expect("log");
    log.push(entry);
    log.len() - 1
}

fn answer(shared: &Arc<Shared>, req: &Request) -> Result<Reply, ApiError> {
    let bearer = req
        .header("Authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
        .map(str::trim);
    if bearer != Some(shared.token.as_str()) {
        return Err(ApiError::unauthorized());
    }
    let q = params(&req.query);
    let accept = req.header("Accept").unwrap_or("");
    let segs: Vec<&str> = req
        .path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let store = shared.store.lock().expect("store");
    let resources = store.resources.clone();
    let discovery_doc = match (req.method.as_str(), segs.as_slice()) {
        ("GET", ["version"]) => Some(discovery::version()),
        ("GET", ["api"]) if discovery::wants_aggregated(accept) => {
            return Ok(aggregated(discovery::aggregated(&resources, true)));
        }
        ("GET", ["api"]) => Some(discovery::core_versions(&shared.addr.to_string())),
        ("GET", ["apis"]) if discovery::wants_aggregated(accept) => {
            return Ok(aggregated(discovery::aggregated(&resources, false)));
        }
        ("GET", ["apis"]) => Some(discovery::group_list(&resources)),
        ("GET", ["api", v]) => discovery::resource_list(&resources, "", v),
        ("GET", ["apis", g]) => discovery::group(&resources, g),
        ("GET", ["apis", g, v]) => discovery::resource_list(&resources, g, v),
        ("GET", ["openapi", "v3"]) => Some(discovery::openapi_root(&resources)),
        ("GET", ["openapi", "v3", "api", v]) => discovery::openapi_group(&resources, "", v),
        ("GET", ["openapi", "v3", "apis", g, v]) => discovery::openapi_group(&resources, g, v),
        _ => None,
    };
    if let Some(doc) = discovery_doc {
        return Ok(json_reply(200, &doc));
    }
    let Some(t) = target(&store, &segs) else {
        return Err(ApiError::not_found_path(&req.path));
    };
    drop(store);
    let r = resources[t.res].clone();
    let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
    let verb = match (req.method.as_str(), &t.name) {
        ("GET" | "POST", Some(_)) if t.sub.as_deref() == Some("exec") => "create",
        ("GET", Some(_)) => "get",
        ("GET", None) if matches!(get("watch"), Some("true" | "1")) => "watch",
        ("GET", None) => "list",
        ("POST", _) => "create",
        ("PUT", Some(_)) => "update",
        ("PATCH", Some(_)) => "patch",
        ("DELETE", Some(_)) => "delete",
        ("DELETE", None) => "deletecollection",
        (m, _) => {
            return Err(ApiError::method_not_allowed(format!(
                "{m} is not supported on {}",
                req.path
            )))
        }
    };
    let rule_res = match &t.sub {
        Some(s) => format!("{}/{s}", r.plural),
        None => r.plural.clone(),
    };
    let delay =
        {
            let mut f = shared.faults.lock().expect("faults");
            if f.is_forbidden(verb, &rule_res) {
                return Err(ApiError::forbidden(
                    verb,
                    &r,
                    t.name.as_deref().unwrap_or(""),
                    &t.ns,
                ));
            }
            match f.take_error(verb, &rule_res) {
                Some(503) => return Err(ApiError::new(
                    503,
                    "ServiceUnavailable",
                    "the server is currently unable to handle the request (injected by the test)",
                )),
                Some(_) => {
                    return Err(ApiError::internal(
                        "Internal error occurred: injected by the test",
                    ))
                }
                None => {}
            }
            f.delay(verb, &rule_res)
        };
    let mut reply = execute(shared, req, &q, &t, verb)?;
    if let Reply::Full { delay: d, .. } = &mut reply {
        *d = delay;
    }
    Ok(reply)
}

fn aggregated(doc: Value) -> Reply {
    Reply::Full {
        code: 200,
        content_type: discovery::AGGREGATED.into(),
        body: doc.to_string().into_bytes(),
        delay: Duration::ZERO,
    }
}

fn target(store: &Store, segs: &[&str]) -> Option<Target> {
    let (group, version, rest) = match segs {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return None,
    };
    let namespaced_form = rest.len() >= 3
        && rest[0] == "namespaces"
        && !(rest.len() == 3 && group.is_empty() && matches!(rest[2], "status" | "finalize"));
    let (ns, rest) = if namespaced_form {
        (rest[1], &rest[2..])
    } else {
        ("", rest)
    };
    let (plural, name, sub) = match rest {
        [p] => (*p, None, None),
        [p, n] => (*p, Some(*n), None),
        [p, n, s] => (*p, Some(*n), Some(*s)),
        _ => return None,
    };
    let res = store.by_path(group, version, plural)?;
    let r = store.resource(res);
    if namespaced_form && !r.namespaced {
        return None;
    }
    if !namespaced_form && r.namespaced && name.is_some() {
        return None;
    }
    if let Some(s) = sub {
        if !(r.subresources.iter().any(|x| x == s) || s == "status" && r.status) {
            return None;
        }
    }
    Some(Target {
        res,
        ns: ns.to_string(),
        name: name.map(String::from),
        sub: sub.map(String::from),
        version: version.to_string(),
    })
}
