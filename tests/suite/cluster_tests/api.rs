//! CRUD, discovery, errors, dry run, patches, server-side apply, the
//! status subresource, finalizers and the request log, through real
//! kubectl and kube-rs.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::discovery::Discovery;
use serde_json::{json, Value};

use super::*;
use crate::cluster::{Options, TestCluster};

#[test]
fn kubectl_resolves_kinds_short_names_and_groups() {
    let c = server();
    let dir = tempdir();
    c.create(cluster_json("db", initdb(), "db-v1", None))
        .unwrap();
    wait_phase(&c, "db", crate::cluster::HEALTHY);
    // Server-side printing with the CRD's columns.
    let out = kubectl_ok(&c, dir.path(), &["get", "cluster", "-n", NS]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0]
            .split_whitespace()
            .eq(["NAME", "AGE", "INSTANCES", "READY", "STATUS", "PRIMARY"]),
        "{out}"
    );
    assert!(
        lines[1].starts_with("db ")
            && lines[1].contains("Cluster in healthy state")
            && lines[1].ends_with("db-1"),
        "{out}"
    );
    let out = kubectl_ok(
        &c,
        dir.path(),
        &["get", "clusters.postgresql.cnpg.io", "-n", NS, "-o", "name"],
    );
    assert_eq!(out.trim(), "cluster.postgresql.cnpg.io/db");
    let out = kubectl_ok(&c, dir.path(), &["get", "pvc", "-n", NS, "-o", "name"]);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "persistentvolumeclaim/db-1",
            "persistentvolumeclaim/db-1-wal"
        ]
    );
    let out = kubectl_ok(&c, dir.path(), &["get", "backups.postgresql.cnpg.io", "-A"]);
    assert!(out.is_empty(), "{out}");
    let out = kubectl_ok(&c, dir.path(), &["get", "apps", "-A", "-o", "name"]);
    assert!(out.is_empty(), "{out}");
    let out = kubectl_ok(&c, dir.path(), &["get", "crds", "-o", "name"]);
    assert_eq!(out.lines().count(), 6, "{out}");
    let out = kubectl_ok(
        &c,
        dir.path(),
        &["api-resources", "--api-group", "argoproj.io"],
    );
    assert!(out.contains("app,apps"), "{out}");
    // kubectl asked for aggregated discovery and got it.
    let r = c.requests();
    let apis = r
        .iter()
        .find(|r| r.path == "/apis")
        .expect("discovery of /apis");
    assert!(
        apis.accept.contains("as=APIGroupDiscoveryList"),
        "{}",
        apis.accept
    );
    assert!(!r
        .iter()
        .any(|r| r.path.starts_with("/apis/postgresql.cnpg.io") && r.path.split('/').count() == 4));
}

#[tokio::test]
async fn kube_rs_discovers_and_lists_with_selectors() {
    let c = server();
    let dir = tempdir();
    let client = client(&c, dir.path()).await;
    for d in [
        Discovery::new(client.clone()).run().await.unwrap(),
        Discovery::new(client.clone())
            .run_aggregated()
            .await
            .unwrap(),
    ] {
        let gvk = kube::api::GroupVersionKind::gvk("postgresql.cnpg.io", "v1", "Cluster");
        let (ar, caps) = d.resolve_gvk(&gvk).expect("Cluster discovered");
        assert_eq!(ar.plural, "clusters");
        assert!(
            caps.subresources
                .iter()
                .any(|(s, _)| s.plural == "clusters/status" || s.plural == "status"),
            "{caps:?}"
        );
        let gvk = kube::api::GroupVersionKind::gvk("coordination.k8s.io", "v1", "Lease");
        assert!(d.resolve_gvk(&gvk).is_some());
    }
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), NS);
    for (name, labels) in [
        ("a", json!({"app": "db", "tier": "x"})),
        ("b", json!({"app": "web"})),
        ("c", json!({})),
    ] {
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}})).unwrap();
        cms.create(&PostParams::default(), &cm).await.unwrap();
    }
    let names = |l: kube::core::ObjectList<ConfigMap>| {
        l.items
            .iter()
            .map(|i| i.metadata.name.clone().unwrap())
            .collect::<Vec<_>>()
    };
    for (sel, want) in [
        ("app=db", vec!["a"]),
        ("app==web", vec!["b"]),
        ("app!=db", vec!["b", "c"]),
        ("app in (db,web)", vec!["a", "b"]),
        ("app notin (db)", vec!["b", "c"]),
        ("tier", vec!["a"]),
        ("!app", vec!["c"]),
    ] {
        assert_eq!(
            names(cms.list(&ListParams::default().labels(sel)).await.unwrap()),
            want,
            "{sel}"
        );
    }
    let l = cms
        .list(&ListParams::default().fields("metadata.name=b"))
        .await
        .unwrap();
    assert_eq!(names(l), ["b"]);
    // Pages: limit and continue, with the list's resourceVersion.
    let page = cms.list(&ListParams::default().limit(2)).await.unwrap();
    assert_eq!(names(page.clone()), ["a", "b"]);
    assert!(page
        .metadata
        .resource_version
        .as_deref()
        .is_some_and(|v| !v.is_empty()));
    let token = page.metadata.continue_.clone().expect("continue token");
    let rest = cms
        .list(&ListParams::default().limit(2).continue_token(&token))
        .await
        .unwrap();
    assert_eq!(names(rest.clone()), ["c"]);
    assert!(rest.metadata.continue_.is_none());
    // Each object has a uid, a creationTimestamp and its own resourceVersion.
    let a = cms.get("a").await.unwrap();
    assert!(a.metadata.uid.is_some() && a.metadata.creation_timestamp.is_some());
    let b = cms.get("b").await.unwrap();
    let rv = |m: &ConfigMap| {
        m.metadata
            .resource_version
            .clone()
            .unwrap()
            .parse::<u64>()
            .unwrap()
    };
    assert!(rv(&b) > rv(&a));
}

#[tokio::test]
async fn errors_are_status_objects_with_reasons() {
    let c = server();
    let dir = tempdir();
    let client = client(&c, dir.path()).await;
    let api = clusters(&client);
    let obj: DynamicObject =
        serde_json::from_value(cluster_json("db", initdb(), "db-v1", None)).unwrap();
    let created = api.create(&PostParams::default(), &obj).await.unwrap();
    let e = api_error(api.create(&PostParams::default(), &obj).await);
    assert_eq!((e.code, e.reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(
        e.message,
        "clusters.postgresql.cnpg.io \"db\" already exists"
    );
    let e = api_error(api.get("nope").await);
    assert_eq!((e.code, e.reason.as_str()), (404, "NotFound"));
    assert_eq!(e.details.as_ref().unwrap().name, "nope");
    let e = api_error(api.delete("nope", &DeleteParams::default()).await);
    assert_eq!(e.code, 404);
    // A replace with an old resourceVersion conflicts.
    c.patch(
        "cluster",
        NS,
        "db",
        json!({"metadata": {"labels": {"x": "y"}}}),
    )
    .unwrap();
    let e = api_error(api.replace("db", &PostParams::default(), &created).await);
    assert_eq!((e.code, e.reason.as_str()), (409, "Conflict"));
    assert!(
        e.message.contains("the object has been modified"),
        "{}",
        e.message
    );
    // The schema of the CRD: instances must be an integer.
    let mut bad = cluster_json("bad", initdb(), "bad-v1", None);
    bad["spec"]["instances"] = json!("one");
    let e = api_error(
        api.create(
            &PostParams::default(),
            &serde_json::from_value(bad).unwrap(),
        )
        .await,
    );
    assert_eq!((e.code, e.reason.as_str()), (422, "Invalid"));
    let causes = &e.details.as_ref().unwrap().causes;
    assert_eq!(causes[0].field, "spec.instances", "{causes:?}");
    assert!(c.get("cluster", NS, "bad").is_none());
    // Forbidden, like RBAC.
    c.forbid("delete", "clusters");
    let e = api_error(api.delete("db", &DeleteParams::default()).await);
    assert_eq!((e.code, e.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        e.message,
        "clusters.postgresql.cnpg.io \"db\" is forbidden: User \"test\" cannot delete resource \"clusters\" in API group \"postgresql.cnpg.io\" in the namespace \"cloudnative-pg\""
    );
    let out = kubectl(&c, dir.path(), &["delete", "cluster", "db", "-n", NS]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("Error from server (Forbidden)"));
    c.clear_faults();
    // Unknown fields: kubectl asks for strict field validation.
    let mut typo = cluster_json("typo", initdb(), "typo-v1", None);
    typo["spec"]["instancez"] = json!(1);
    let out = kubectl_stdin(
        &c,
        dir.path(),
        &["create", "-f", "-"],
        &serde_yaml::to_string(&typo).unwrap(),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Error from server (BadRequest)")
            && err.contains("strict decoding error: unknown field \"spec.instancez\""),
        "{err}"
    );
    assert!(c.get("cluster", NS, "typo").is_none());
    // A namespace that does not exist.
    let api2: Api<ConfigMap> = Api::namespaced(client.clone(), "nowhere");
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "x"}})).unwrap();
    let e = api_error(api2.create(&PostParams::default(), &cm).await);
    assert_eq!(
        (e.code, e.message.as_str()),
        (404, "namespaces \"nowhere\" not found")
    );
}

#[tokio::test]
async fn a_wrong_token_is_unauthorized() {
    let c = server();
    let dir = tempdir();
    let good = c.kubeconfig(dir.path());
    let text = std::fs::read_to_string(&good)
        .unwrap()
        .replace(&c.token(), "wrong");
    assert!(c.token().starts_with("test-token-"));
    std::fs::write(&good, text).unwrap();
    let kc = kube::config::Kubeconfig::read_from(&good).unwrap();
    let cfg = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .unwrap();
    let client = kube::Client::try_from(cfg).unwrap();
    let e = api_error(clusters(&client).list(&ListParams::default()).await);
    assert_eq!((e.code, e.reason.as_str()), (401, "Unauthorized"));
    let out = std::process::Command::new("kubectl")
        .args([
            "--kubeconfig",
            good.to_str().unwrap(),
            "--cache-dir",
            dir.path().join("c").to_str().unwrap(),
            "get",
            "ns",
        ])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Unauthorized")
            || String::from_utf8_lossy(&out.stderr).contains("provide credentials")
    );
    // The context `other` points where nobody listens.
    let dir2 = tempdir();
    let other = client_for(&c, dir2.path(), Some("other")).await;
    assert!(
        matches!(clusters(&other).list(&ListParams::default()).await, Err(e) if !matches!(e, kube::Error::Api(_)))
    );
}

#[tokio::test]
async fn dry_run_persists_nothing_on_any_verb() {
    let c = server();
    let dir = tempdir();
    let client = client(&c, dir.path()).await;
    let api = clusters(&client);
    let obj: DynamicObject =
        serde_json::from_value(cluster_json("db", initdb(), "db-v1", None)).unwrap();
    let dry = api
        .create(
            &PostParams {
                dry_run: true,
                ..PostParams::default()
            },
            &obj,
        )
        .await
        .unwrap();
    assert_eq!(dry.metadata.name.as_deref(), Some("db"));
    assert!(c.get("cluster", NS, "db").is_none());
    let mut bad = cluster_json("bad", initdb(), "v1", None);
    bad["spec"]["instances"] = json!(true);
    let e = api_error(
        api.create(
            &PostParams {
                dry_run: true,
                ..PostParams::default()
            },
            &serde_json::from_value(bad).unwrap(),
        )
        .await,
    );
    assert_eq!(e.code, 422, "a dry run is validated");
    c.set_controllers(false, false);
    api.create(&PostParams::default(), &obj).await.unwrap();
    let before = c.get("cluster", NS, "db").unwrap();
    let pp = PatchParams {
        dry_run: true,
        ..PatchParams::default()
    };
    let patched = api
        .patch("db", &pp, &Patch::Merge(json!({"spec": {"instances": 3}})))
        .await
        .unwrap();
    assert_eq!(patched.data["spec"]["instances"], 3);
    api.patch("db", &PatchParams::apply("test").force().dry_run(), &Patch::Apply(json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "spec": {"instances": 2}}))).await.unwrap();
    let gone = api
        .delete("db", &DeleteParams::default().dry_run())
        .await
        .unwrap();
    assert!(gone.is_left());
    assert_eq!(c.get("cluster", NS, "db").unwrap(), before);
    let out = kubectl_ok(
        &c,
        dir.path(),
        &["delete", "cluster", "db", "-n", NS, "--dry-run=server"],
    );
    assert!(out.contains("deleted (server dry run)"), "{out}");
    assert_eq!(c.get("cluster", NS, "db").unwrap(), before);
    // The log tells dry runs from real writes: one real POST only.
    let writes: Vec<_> = c
        .mutations()
        .into_iter()
        .filter(|r| r.path.contains("/clusters"))
        .collect();
    assert_eq!(writes.len(), 1, "{writes:#?}");
    assert_eq!(writes[0].method, "POST");
    let dry: Vec<_> = c.requests().into_iter().filter(|r| r.dry_run()).collect();
    assert_eq!(
        dry.iter().map(|r| r.method.as_str()).collect::<Vec<_>>(),
        ["POST", "POST", "PATCH", "PATCH", "DELETE", "DELETE"]
    );
}

#[tokio::test]
async fn patches_merge_json_and_strategic() {
    let c = server();
    let dir = tempdir();
    let client = client(&c, dir.path()).await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), NS);
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "m", "labels": {"a": "1", "b": "2"}}, "data": {"k": "v", "x": "y"}})).unwrap();
    cms.create(&PostParams::default(), &cm).await.unwrap();
    let p = cms
        .patch(
            "m",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"a": null}}, "data": {"k": "w"}})),
        )
        .await
        .unwrap();
    assert_eq!(p.metadata.labels.unwrap().keys().collect::<Vec<_>>(), ["b"]);
    assert_eq!(p.data.as_ref().unwrap()["k"], "w");
    let ops: json_patch::Patch = serde_json::from_value(json!([
        {"op": "test", "path": "/data/x", "value": "y"},
        {"op": "remove", "path": "/data/x"},
        {"op": "add", "path": "/data/n", "value": "1"}
    ]))
    .unwrap();
    let p = cms
        .patch("m", &PatchParams::default(), &Patch::<()>::Json(ops))
        .await
        .unwrap();
    assert_eq!(p.data.unwrap().keys().collect::<Vec<_>>(), ["k", "n"]);
    let failing: json_patch::Patch =
        serde_json::from_value(json!([{"op": "test", "path": "/data/k", "value": "nope"}]))
            .unwrap();
    let e = api_error(
        cms.patch("m", &PatchParams::default(), &Patch::<()>::Json(failing))
            .await,
    );
    assert_eq!(e.code, 422);
    let p = cms
        .patch(
            "m",
            &PatchParams::default(),
            &Patch::Strategic(json!({"data": {"s": "t"}})),
        )
        .await
        .unwrap();
    assert_eq!(p.data.unwrap().len(), 3);
    let e = api_error(
        cms.patch("nope", &PatchParams::default(), &Patch::Merge(json!({})))
            .await,
    );
    assert_eq!(e.code, 404);
    // kubectl patch and annotate use the same paths.
    kubectl_ok(
        &c,
        dir.path(),
        &["annotate", "configmap", "m", "-n", NS, "note=hi"],
    );
    kubectl_ok(
        &c,
        dir.path(),
        &[
            "patch",
            "configmap",
            "m",
            "-n",
            NS,
            "--type",
            "json",
            "-p",
            r#"[{"op":"remove","path":"/data/s"}]"#,
        ],
    );
    let m = c.get("cm", NS, "m").unwrap();
    assert_eq!(m.pointer("/metadata/annotations/note"), Some(&json!("hi")));
    assert!(m.pointer("/data/s").is_none());
}

#[tokio::test]
async fn server_side_apply_has_managers_conflicts_and_force() {
    let c = server();
    c.set_controllers(false, false);
    let dir = tempdir();
    let client = client(&c, dir.path()).await;
    let api = clusters(&client);
    let config = |instances: i64, extra: Value| {
        let mut v = cluster_json("db", initdb(), "db-v1", None);
        v["spec"]["instances"] = json!(instances);
        fields_merge(&mut v, extra);
        v
    };
    api.patch(
        "db",
        &PatchParams::apply("alice"),
        &Patch::Apply(config(1, json!({"spec": {"description": "a"}}))),
    )
    .await
    .unwrap();
    assert_eq!(
        c.requests().last().unwrap().content_type,
        "application/apply-patch+yaml"
    );
    // The same value from another manager is shared, a different one conflicts.
    api.patch(
        "db",
        &PatchParams::apply("bob"),
        &Patch::Apply(config(1, json!({}))),
    )
    .await
    .unwrap();
    let e = api_error(
        api.patch(
            "db",
            &PatchParams::apply("bob"),
            &Patch::Apply(config(2, json!({}))),
        )
        .await,
    );
    assert_eq!((e.code, e.reason.as_str()), (409, "Conflict"));
    assert!(
        e.message.contains("conflict with \"alice\"") && e.message.contains(".spec.instances"),
        "{}",
        e.message
    );
    assert_eq!(c.get("cluster", NS, "db").unwrap()["spec"]["instances"], 1);
    let forced = api
        .patch(
            "db",
            &PatchParams::apply("bob").force(),
            &Patch::Apply(config(2, json!({}))),
        )
        .await
        .unwrap();
    assert_eq!(forced.data["spec"]["instances"], 2);
    // alice no longer owns instances; dropping description from her config removes it.
    api.patch(
        "db",
        &PatchParams::apply("alice"),
        &Patch::Apply(config(2, json!({}))),
    )
    .await
    .unwrap();
    let now = c.get("cluster", NS, "db").unwrap();
    assert!(now.pointer("/spec/description").is_none(), "{now}");
    assert_eq!(now["spec"]["instances"], 2);
    // An update by another manager takes the field: applying the old value conflicts.
    api.patch(
        "db",
        &PatchParams {
            field_manager: Some("kubectl-edit".into()),
            ..PatchParams::default()
        },
        &Patch::Merge(json!({"spec": {"instances": 3}})),
    )
    .await
    .unwrap();
    let e = api_error(
        api.patch(
            "db",
            &PatchParams::apply("bob"),
            &Patch::Apply(config(2, json!({}))),
        )
        .await,
    );
    assert!(e.message.contains("kubectl-edit"), "{}", e.message);
    // kubectl apply --server-side over it: conflict, then --force-conflicts.
    let yaml = serde_yaml::to_string(&config(4, json!({}))).unwrap();
    let out = kubectl_stdin(
        &c,
        dir.path(),
        &["apply", "--server-side", "-f", "-"],
        &yaml,
    );
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("conflict"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = kubectl_stdin(
        &c,
        dir.path(),
        &["apply", "--server-side", "--force-conflicts", "-f", "-"],
        &yaml,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(c.get("cluster", NS, "db").unwrap()["spec"]["instances"], 4);
    // Apply creates a missing object.
    let mut other = config(1, json!({}));
    other["metadata"]["name"] = json!("db2");
    api.patch("db2", &PatchParams::apply("alice"), &Patch::Apply(other))
        .await
        .unwrap();
    assert!(c.get("cluster", NS, "db2").is_some());
}

fn fields_merge(base: &mut Value, over: Value) {
    json_patch::merge(base, &over);
}

#[tokio::test]
async fn status_subresource_and_generation() {
    let c = server();
    c.set_controllers(false, false);
    let dir = tempdir();
    let client = client(&c, dir.path()).await;
    let api = clusters(&client);
    let mut obj = cluster_json("db", initdb(), "db-v1", None);
    obj["status"] = json!({"phase": "made up"});
    let created = api
        .create(
            &PostParams::default(),
            &serde_json::from_value(obj).unwrap(),
        )
        .await
        .unwrap();
    assert!(
        created.data.get("status").is_none(),
        "status is ignored on create"
    );
    assert_eq!(created.metadata.generation, Some(1));
    let s = api
        .patch_status(
            "db",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "x"}, "spec": {"instances": 9}})),
        )
        .await
        .unwrap();
    assert_eq!(s.data["status"]["phase"], "x");
    assert_eq!(
        s.data["spec"]["instances"], 1,
        "the status endpoint changes only status"
    );
    assert_eq!(s.metadata.generation, Some(1));
    let m = api
        .patch(
            "db",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"phase": "y"}, "metadata": {"labels": {"l": "1"}}})),
        )
        .await
        .unwrap();
    assert_eq!(
        m.data["status"]["phase"], "x",
        "the main resource ignores status"
    );
    assert_eq!(m.metadata.generation, Some(1), "metadata is not spec");
    let m = api
        .patch(
            "db",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"instances": 2}})),
        )
        .await
        .unwrap();
    assert_eq!(m.metadata.generation, Some(2));
    let mut replaced = api.get_status("db").await.unwrap();
    replaced.data["status"]["phase"] = json!("z");
    let r = api
        .replace_status("db", &PostParams::default(), &replaced)
        .await
        .unwrap();
    assert_eq!(
        (r.data["status"]["phase"].as_str(), r.metadata.generation),
        (Some("z"), Some(2))
    );
    // Argo CD's Application has no status subresource: status goes through the main resource.
    let apps = Api::<DynamicObject>::namespaced_with(
        client.clone(),
        NS,
        &kube::api::ApiResource {
            group: "argoproj.io".into(),
            version: "v1alpha1".into(),
            api_version: "argoproj.io/v1alpha1".into(),
            kind: "Application".into(),
            plural: "applications".into(),
        },
    );
    let app = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "a"},
        "spec": {"project": "default", "destination": {"server": "https://kubernetes.default.svc"}, "source": {"repoURL": "x", "path": "p"}},
        "status": {"sync": {"status": "Synced"}}});
    let a = apps
        .create(
            &PostParams::default(),
            &serde_json::from_value(app).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(a.data["status"]["sync"]["status"], "Synced");
    let e = api_error(apps.get_status("a").await);
    assert_eq!(e.code, 404);
}

#[tokio::test]
async fn finalizers_hold_deletion_and_preconditions_guard_it() {
    let c = server();
    let dir = tempdir();
    let client = client(&c, dir.path()).await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), NS);
    let cm: ConfigMap =
        serde_json::from_value(json!({"metadata": {"name": "f", "finalizers": ["test/hold"]}}))
            .unwrap();
    let made = cms.create(&PostParams::default(), &cm).await.unwrap();
    let wrong = DeleteParams {
        preconditions: Some(kube::api::Preconditions {
            uid: Some("not-it".into()),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    let e = api_error(cms.delete("f", &wrong).await);
    assert_eq!((e.code, e.reason.as_str()), (409, "Conflict"));
    let right = DeleteParams {
        preconditions: Some(kube::api::Preconditions {
            uid: made.metadata.uid.clone(),
            resource_version: made.metadata.resource_version.clone(),
        }),
        ..DeleteParams::default()
    };
    let held = cms
        .delete("f", &right)
        .await
        .unwrap()
        .left()
        .expect("the object, still there");
    assert!(held.metadata.deletion_timestamp.is_some());
    assert!(cms
        .get("f")
        .await
        .unwrap()
        .metadata
        .deletion_timestamp
        .is_some());
    cms.patch(
        "f",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .unwrap();
    assert_eq!(api_error(cms.get("f").await).code, 404);
    // Owner references: Orphan keeps the dependents, without the reference.
    let owner = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "owner"}})).unwrap(),
        )
        .await
        .unwrap();
    let dep = json!({"metadata": {"name": "dep", "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner.metadata.uid}]}});
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(dep.clone()).unwrap(),
    )
    .await
    .unwrap();
    cms.delete("owner", &DeleteParams::orphan()).await.unwrap();
    let kept = c.wait_until(
        "orphaned dependent",
        std::time::Duration::from_secs(5),
        |c| {
            c.get("cm", NS, "dep")
                .filter(|d| d.pointer("/metadata/ownerReferences").is_none())
        },
    );
    c.wait_ticks(c.speeds().gc_delay.as_millis() as u64 / 5 + 5);
    assert_eq!(
        c.get("cm", NS, "dep").unwrap()["metadata"]["uid"],
        kept["metadata"]["uid"]
    );
    // Background (the default): dependents go after the GC delay.
    let owner = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "owner"}})).unwrap(),
        )
        .await
        .unwrap();
    let mut dep2 = dep;
    dep2["metadata"]["name"] = json!("dep2");
    dep2["metadata"]["ownerReferences"][0]["uid"] = json!(owner.metadata.uid);
    cms.create(
        &PostParams::default(),
        &serde_json::from_value(dep2).unwrap(),
    )
    .await
    .unwrap();
    cms.delete("owner", &DeleteParams::default()).await.unwrap();
    c.wait_until(
        "garbage collection",
        std::time::Duration::from_secs(5),
        |c| c.get("cm", NS, "dep2").is_none().then_some(()),
    );
    // DeleteOptions in the query string are honoured too (kubectl sends a body).
    let out = kubectl_ok(
        &c,
        dir.path(),
        &["delete", "configmap", "dep", "-n", NS, "--cascade=orphan"],
    );
    assert!(out.contains("deleted"), "{out}");
    let del = c
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.method == "DELETE")
        .unwrap();
    assert_eq!(
        del.body.as_ref().and_then(|b| b.get("propagationPolicy")),
        Some(&json!("Orphan"))
    );
    // A collection by label; then a namespace takes its contents along.
    for (n, l) in [("l1", "a"), ("l2", "a"), ("l3", "b")] {
        cms.create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": n, "labels": {"k": l}}})).unwrap(),
        )
        .await
        .unwrap();
    }
    cms.delete_collection(
        &DeleteParams::default(),
        &ListParams::default().labels("k=a"),
    )
    .await
    .unwrap();
    let left: Vec<String> = c
        .list("cm", Some(NS))
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(left, ["l3"]);
    assert_eq!(c.get("ns", "", NS).unwrap()["status"]["phase"], "Active");
    let out = kubectl_ok(
        &c,
        dir.path(),
        &["delete", "namespace", NS, "--wait=true", "--timeout=20s"],
    );
    assert!(out.contains("deleted"), "{out}");
    assert!(c.get("ns", "", NS).is_none() && c.list("cm", Some(NS)).is_empty());
}

#[test]
fn bad_requests_get_a_400_status_not_a_panic() {
    use std::io::{Read, Write};
    let c = TestCluster::start_with(Options {
        tls: false,
        ..Options::default()
    });
    let send = |raw: &str| {
        let mut s = std::net::TcpStream::connect(c.addr()).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        s.write_all(raw.as_bytes()).unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    };
    let auth = format!("Authorization: Bearer {}\r\n", c.token());
    assert!(send("garbage\r\n\r\n").starts_with("HTTP/1.1 400"));
    assert!(send("GET / HTTP/1.1\r\nContent-Length: nope\r\n\r\n").starts_with("HTTP/1.1 400"));
    let r = send(&format!("GET /api/v1/namespaces/x/configmaps?labelSelector=a%20in%20b HTTP/1.1\r\n{auth}Connection: close\r\n\r\n"));
    assert!(
        r.starts_with("HTTP/1.1 400") && r.contains("\"kind\":\"Status\""),
        "{r}"
    );
    let r = send(&format!("POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\n{auth}Content-Length: 3\r\nConnection: close\r\n\r\n{{x}}"));
    assert!(r.starts_with("HTTP/1.1 400"), "{r}");
    let r = send(&format!(
        "GET /apis/nope/v1/things HTTP/1.1\r\n{auth}Connection: close\r\n\r\n"
    ));
    assert!(r.starts_with("HTTP/1.1 404"), "{r}");
    let r = send("GET /api/v1/namespaces HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!(
        r.starts_with("HTTP/1.1 401") && r.contains("\"reason\":\"Unauthorized\""),
        "{r}"
    );
    // Still serving after all that.
    let r = send(&format!(
        "GET /version HTTP/1.1\r\n{auth}Connection: close\r\n\r\n"
    ));
    assert!(r.contains("v1.32"), "{r}");
}

#[test]
fn delete_options_may_come_in_the_query_string() {
    use std::io::{Read, Write};
    let c = TestCluster::start_with(Options {
        tls: false,
        ..Options::default()
    });
    let send = |method: &str, path: &str| {
        let mut s = std::net::TcpStream::connect(c.addr()).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let req = format!("{method} {path} HTTP/1.1\r\nAuthorization: Bearer {}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", c.token());
        s.write_all(req.as_bytes()).unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    };
    let owner = c.create(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "o", "namespace": "default"}})).unwrap();
    c.create(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "d", "namespace": "default",
        "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": owner["metadata"]["uid"]}]}})).unwrap();
    let r = send(
        "DELETE",
        "/api/v1/namespaces/default/configmaps/o?dryRun=All",
    );
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert!(c.get("cm", "default", "o").is_some());
    assert_eq!(c.requests().last().map(|r| r.dry_run()), Some(true));
    let r = send(
        "DELETE",
        "/api/v1/namespaces/default/configmaps/o?&propagationPolicy=Orphan",
    );
    assert!(r.starts_with("HTTP/1.1 200"), "{r}");
    assert!(c.get("cm", "default", "o").is_none());
    let d = c.get("cm", "default", "d").expect("the dependent is kept");
    assert!(d.pointer("/metadata/ownerReferences").is_none());
    let r = send("DELETE", "/api/v1/namespaces/default/configmaps/o");
    assert!(
        r.starts_with("HTTP/1.1 404") && r.contains("\"reason\":\"NotFound\""),
        "{r}"
    );
}

#[test]
fn kubectl_typed_create_commands_send_protobuf_that_is_understood() {
    let c = server();
    let dir = tempdir();
    kubectl_ok(&c, dir.path(), &["create", "namespace", "extra"]);
    kubectl_ok(
        &c,
        dir.path(),
        &[
            "create",
            "secret",
            "generic",
            "s3",
            "-n",
            "extra",
            "--from-literal=AWS_ACCESS_KEY_ID=abc",
        ],
    );
    kubectl_ok(
        &c,
        dir.path(),
        &[
            "create",
            "configmap",
            "cm",
            "-n",
            "extra",
            "--from-literal=k=v",
        ],
    );
    let posts: Vec<_> = c
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST")
        .collect();
    assert!(
        posts
            .iter()
            .all(|r| r.content_type == "application/vnd.kubernetes.protobuf"),
        "{posts:#?}"
    );
    let s = c.get("secret", "extra", "s3").unwrap();
    assert_eq!(
        (s["data"]["AWS_ACCESS_KEY_ID"].as_str(), s["type"].as_str()),
        (Some("YWJj"), Some("Opaque"))
    );
    assert!(s["metadata"].get("generateName").is_none());
    assert_eq!(
        c.get("cm", "extra", "cm").unwrap()["data"],
        json!({"k": "v"})
    );
    assert_eq!(
        c.get("ns", "", "extra").unwrap()["status"]["phase"],
        "Active"
    );
    // A kind it cannot read is a clear 415.
    let out = kubectl(
        &c,
        dir.path(),
        &["create", "job", "j", "--image=busybox", "-n", "extra"],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("protobuf for Namespace, Secret and ConfigMap only"),
        "{err}"
    );
}
