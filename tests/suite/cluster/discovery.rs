//! Discovery as kubectl 1.32 and kube-rs read it: `/version`, the legacy
//! documents (`/api`, `/api/v1`, `/apis`, `/apis/{g}`, `/apis/{g}/{v}`) and
//! the aggregated form (`apidiscovery.k8s.io/v2` APIGroupDiscoveryList)
//! that kubectl asks for first. Built from the kinds the server serves, so
//! short names, singular names and categories resolve like on a cluster.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::resources::Resource;

pub const AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Whether the client accepts aggregated discovery (v2 or v2beta1).
pub fn wants_aggregated(accept: &str) -> bool {
    accept.contains("as=APIGroupDiscoveryList")
}

pub fn version() -> Value {
    json!({
        "major": "1", "minor": "32", "gitVersion": "v1.32.0-docs-test",
        "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.23.0",
        "compiler": "gc", "platform": "linux/amd64"
    })
}

/// Group → versions (preferred first), keeping the registry's order.
fn groups(resources: &[Resource]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in resources.iter().filter(|r| !r.group.is_empty()) {
        let vs = out.entry(r.group.clone()).or_default();
        for v in &r.versions {
            if !vs.contains(v) {
                vs.push(v.clone());
            }
        }
    }
    out
}

pub fn core_versions(addr: &str) -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": addr}]})
}

fn group_doc(name: &str, versions: &[String]) -> Value {
    let gv = |v: &String| json!({"groupVersion": format!("{name}/{v}"), "version": v});
    json!({"name": name, "versions": versions.iter().map(gv).collect::<Vec<_>>(),
        "preferredVersion": gv(&versions[0])})
}

pub fn group_list(resources: &[Resource]) -> Value {
    let groups: Vec<Value> = groups(resources)
        .iter()
        .map(|(g, vs)| group_doc(g, vs))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

pub fn group(resources: &[Resource], name: &str) -> Option<Value> {
    let groups = groups(resources);
    let vs = groups.get(name)?;
    let mut doc = group_doc(name, vs);
    doc["kind"] = json!("APIGroup");
    doc["apiVersion"] = json!("v1");
    Some(doc)
}

/// `/api/v1` or `/apis/{group}/{version}`: None when nothing is served there.
pub fn resource_list(resources: &[Resource], group: &str, version: &str) -> Option<Value> {
    let mut list = Vec::new();
    for r in resources
        .iter()
        .filter(|r| r.group == group && r.versions.iter().any(|v| v == version))
    {
        let mut doc = json!({"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced,
            "kind": r.kind, "verbs": r.verbs()});
        if !r.short_names.is_empty() {
            doc["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            doc["categories"] = json!(r.categories);
        }
        list.push(doc);
        for sub in subresources(r) {
            list.push(
                json!({"name": format!("{}/{sub}", r.plural), "singularName": "",
                "namespaced": r.namespaced, "kind": sub_kind(r, &sub), "verbs": sub_verbs(&sub)}),
            );
        }
    }
    if list.is_empty() {
        return None;
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": list}),
    )
}

fn subresources(r: &Resource) -> Vec<String> {
    let mut subs = r.subresources.clone();
    if r.status {
        subs.insert(0, "status".into());
    }
    subs
}

fn sub_kind(r: &Resource, sub: &str) -> String {
    match sub {
        "exec" => "PodExecOptions".into(),
        "log" => "Pod".into(),
        _ => r.kind.clone(),
    }
}

fn sub_verbs(sub: &str) -> Vec<&'static str> {
    match sub {
        "exec" => vec!["create", "get"],
        "log" => vec!["get"],
        _ => vec!["get", "patch", "update"],
    }
}

/// The aggregated document of `/api` (core = true) or `/apis`.
pub fn aggregated(resources: &[Resource], core: bool) -> Value {
    let mut items = Vec::new();
    let names: Vec<(String, Vec<String>)> = if core {
        vec![(String::new(), vec!["v1".to_string()])]
    } else {
        groups(resources).into_iter().collect()
    };
    for (g, versions) in names {
        let mut vdocs = Vec::new();
        for v in &versions {
            let mut rdocs = Vec::new();
            for r in resources
                .iter()
                .filter(|r| r.group == g && r.versions.contains(v))
            {
                let kind = |k: &str| json!({"group": g, "version": v, "kind": k});
                let mut doc = json!({"resource": r.plural, "responseKind": kind(&r.kind),
                    "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
                    "singularResource": r.singular, "verbs": r.verbs()});
                if !r.short_names.is_empty() {
                    doc["shortNames"] = json!(r.short_names);
                }
                if !r.categories.is_empty() {
                    doc["categories"] = json!(r.categories);
                }
                let subs: Vec<Value> = subresources(r)
                    .iter()
                    .map(|s| json!({"subresource": s, "responseKind": kind(&sub_kind(r, s)), "verbs": sub_verbs(s)}))
                    .collect();
                if !subs.is_empty() {
                    doc["subresources"] = json!(subs);
                }
                rdocs.push(doc);
            }
            vdocs.push(json!({"version": v, "resources": rdocs, "freshness": "Current"}));
        }
        let mut meta = json!({"creationTimestamp": null});
        if !g.is_empty() {
            meta["name"] = json!(g);
        }
        items.push(json!({"metadata": meta, "versions": vdocs}));
    }
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {}, "items": items})
}

/// `/openapi/v3`: one entry per group version.
pub fn openapi_root(resources: &[Resource]) -> Value {
    let mut paths = serde_json::Map::new();
    let mut gvs: Vec<String> = vec!["api/v1".into()];
    for (g, vs) in groups(resources) {
        gvs.extend(vs.iter().map(|v| format!("apis/{g}/{v}")));
    }
    for gv in gvs {
        paths.insert(
            gv.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{gv}?hash=0")}),
        );
    }
    json!({"paths": paths})
}

/// `/openapi/v3/apis/{g}/{v}`: only what kubectl reads to learn that the
/// server validates fields and supports dry run (PATCH operations with
/// their query parameters); no schemas, so kubectl validates on the server.
pub fn openapi_group(resources: &[Resource], group: &str, version: &str) -> Option<Value> {
    let mut paths = serde_json::Map::new();
    for r in resources
        .iter()
        .filter(|r| r.group == group && r.versions.iter().any(|v| v == version))
    {
        let prefix = if group.is_empty() {
            format!("/api/{version}")
        } else {
            format!("/apis/{group}/{version}")
        };
        let path = if r.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", r.plural)
        } else {
            format!("{prefix}/{}/{{name}}", r.plural)
        };
        let params: Vec<Value> = ["dryRun", "fieldManager", "fieldValidation", "force"]
            .iter()
            .map(|p| json!({"name": p, "in": "query", "schema": {"type": "string", "uniqueItems": true}}))
            .collect();
        let op = |verb: &str| {
            json!({"operationId": format!("{verb}{}", r.kind), "parameters": params,
            "x-kubernetes-action": verb, "x-kubernetes-group-version-kind": {"group": group, "version": version, "kind": r.kind},
            "responses": {"200": {"description": "OK"}}})
        };
        paths.insert(path, json!({"get": op("get"), "put": op("put"), "patch": op("patch"), "delete": op("delete")}));
    }
    if paths.is_empty() {
        return None;
    }
    Some(
        json!({"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.0"}, "paths": paths,
        "components": {"schemas": {}}}),
    )
}
