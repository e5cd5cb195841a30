//! Faults: latency whose effect is stored before the answer, 500s for N
//! requests, refused connections, and the request log.

use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, ListParams, PostParams};
use serde_json::json;

use super::*;

#[test]
fn a_slow_answer_is_applied_when_the_request_arrives() {
    let c = server();
    let dir = tempdir();
    c.delay("create", "configmaps", Duration::from_secs(30));
    let manifest =
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: slow\n  namespace: cloudnative-pg\n";
    let out = kubectl_stdin(
        &c,
        dir.path(),
        &["create", "--request-timeout=2s", "-f", "-"],
        manifest,
    );
    assert!(!out.status.success(), "the client gave up waiting");
    // The effect is there although the client never saw the answer.
    assert!(c.get("cm", NS, "slow").is_some());
    let posts: Vec<_> = c
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/configmaps"))
        .collect();
    assert_eq!(posts.len(), 1, "sent once");
    assert_eq!(posts[0].body.as_ref().unwrap()["metadata"]["name"], "slow");
    // Other verbs are not slowed down.
    let out = kubectl_ok(
        &c,
        dir.path(),
        &["get", "cm", "slow", "-n", NS, "-o", "name"],
    );
    assert_eq!(out.trim(), "configmap/slow");
}

#[tokio::test]
async fn server_errors_for_a_number_of_requests_or_until_cleared() {
    let c = server();
    let dir = tempdir();
    let client = client(&c, dir.path()).await;
    let cms: Api<ConfigMap> = Api::namespaced(client, NS);
    c.fail("list", "configmaps", Some(2));
    for _ in 0..2 {
        assert_eq!(api_error(cms.list(&ListParams::default()).await).code, 500);
    }
    cms.list(&ListParams::default()).await.unwrap();
    c.fail("create", "*", None);
    for _ in 0..3 {
        let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "x"}})).unwrap();
        assert_eq!(
            api_error(cms.create(&PostParams::default(), &cm).await).code,
            500
        );
    }
    assert!(c.get("cm", NS, "x").is_none(), "a 500 stores nothing");
    c.clear_faults();
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "x"}})).unwrap();
    cms.create(&PostParams::default(), &cm).await.unwrap();
}

#[tokio::test]
async fn refused_connections_are_connection_errors_until_restored() {
    let c = server();
    let dir = tempdir();
    let client = client(&c, dir.path()).await;
    let cms: Api<ConfigMap> = Api::namespaced(client, NS);
    cms.list(&ListParams::default()).await.unwrap();
    c.refuse_connections(true);
    match cms.list(&ListParams::default()).await {
        Err(kube::Error::Api(s)) => panic!("expected a connection error, got {s:?}"),
        Err(_) => {}
        Ok(_) => panic!("a refusing server answered"),
    }
    let out = kubectl(&c, dir.path(), &["get", "cm", "-n", NS]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("connection refused"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    c.refuse_connections(false);
    let url = c.url();
    let out = kubectl_ok(&c, dir.path(), &["get", "cm", "-n", NS, "-o", "name"]);
    assert!(out.is_empty(), "{out}");
    assert_eq!(c.url(), url, "same port");
    cms.list(&ListParams::default()).await.unwrap();
}

#[test]
fn the_request_log_tells_what_was_sent() {
    let c = server();
    let dir = tempdir();
    let manifest = serde_yaml::to_string(&cluster_json("db", initdb(), "db-v1", None)).unwrap();
    let out = kubectl_stdin(
        &c,
        dir.path(),
        &["create", "--dry-run=server", "-f", "-"],
        &manifest,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(c.get("cluster", NS, "db").is_none());
    assert!(c.mutations().is_empty(), "{:#?}", c.mutations());
    let out = kubectl_stdin(&c, dir.path(), &["create", "-f", "-"], &manifest);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = format!("/apis/postgresql.cnpg.io/v1/namespaces/{NS}/clusters");
    assert_eq!(c.count("POST", &path), 2);
    let m = c.mutations();
    assert_eq!(m.len(), 1);
    assert_eq!(
        (m[0].method.as_str(), m[0].path.as_str()),
        ("POST", path.as_str())
    );
    assert_eq!(m[0].param("fieldManager"), Some("kubectl-create"));
    assert_eq!(m[0].body.as_ref().unwrap()["spec"]["bootstrap"], initdb());
    assert!(m[0].code == 201 && m[0].content_type.starts_with("application/json"));
    assert!(
        !c.requests().iter().any(|r| r.is_apply()),
        "never server-side apply"
    );
    kubectl_stdin(
        &c,
        dir.path(),
        &["apply", "--server-side", "-f", "-"],
        &manifest,
    );
    let applies: Vec<_> = c.requests().into_iter().filter(|r| r.is_apply()).collect();
    assert_eq!(applies.len(), 1);
    assert_eq!(
        applies[0].body.as_ref().unwrap()["metadata"]["name"],
        "db",
        "the YAML body is parsed"
    );
}
