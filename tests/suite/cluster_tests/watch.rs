//! Watches: events in order with bookmarks, selectors, reconnection after
//! the server drops them, 410 Expired and kube-rs' watcher re-listing,
//! and `kubectl wait` for a condition and for deletion.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::runtime::watcher;
use serde_json::json;

use super::*;

fn cm(name: &str, labels: serde_json::Value) -> ConfigMap {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}})).unwrap()
}

#[tokio::test]
async fn watch_streams_events_in_order_with_bookmarks() {
    let c = server();
    c.set_speeds(|s| s.bookmark = Duration::from_millis(50));
    let dir = tempdir();
    let client = client(&c, dir.path()).await;
    let cms: Api<ConfigMap> = Api::namespaced(client, NS);
    let rv = cms
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    let mut stream = cms
        .watch(&WatchParams::default().labels("app=db").timeout(20), &rv)
        .await
        .unwrap()
        .boxed();
    cms.create(&PostParams::default(), &cm("a", json!({"app": "db"})))
        .await
        .unwrap();
    cms.create(&PostParams::default(), &cm("other", json!({"app": "web"})))
        .await
        .unwrap();
    cms.patch(
        "a",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"k": "v"}})),
    )
    .await
    .unwrap();
    cms.delete("a", &DeleteParams::default()).await.unwrap();
    let mut seen = Vec::new();
    let mut last_rv = 0u64;
    // Until a bookmark follows the deletion (bookmarks come after 50 ms of
    // silence, so under load one may also come between the events).
    while seen.last() != Some(&"BOOKMARK") || !seen.contains(&"DELETED") {
        let e = tokio::time::timeout(Duration::from_secs(10), stream.try_next())
            .await
            .expect("an event in time")
            .unwrap()
            .expect("stream open");
        let (kind, rv) = match &e {
            WatchEvent::Added(o) => ("ADDED", o.metadata.resource_version.clone()),
            WatchEvent::Modified(o) => ("MODIFIED", o.metadata.resource_version.clone()),
            WatchEvent::Deleted(o) => ("DELETED", o.metadata.resource_version.clone()),
            WatchEvent::Bookmark(b) => ("BOOKMARK", Some(b.metadata.resource_version.clone())),
            WatchEvent::Error(e) => panic!("{e:?}"),
        };
        let rv: u64 = rv.unwrap().parse().unwrap();
        assert!(rv >= last_rv, "resourceVersions grow");
        last_rv = rv;
        if let WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) = &e {
            assert_eq!(
                o.metadata.name.as_deref(),
                Some("a"),
                "the selector filters"
            );
        }
        seen.push(kind);
    }
    let changes: Vec<&str> = seen.iter().copied().filter(|k| *k != "BOOKMARK").collect();
    assert_eq!(changes, ["ADDED", "MODIFIED", "DELETED"]);
}

#[tokio::test]
async fn a_too_old_resource_version_is_410_expired() {
    let c = server();
    let dir = tempdir();
    let client = client(&c, dir.path()).await;
    let cms: Api<ConfigMap> = Api::namespaced(client, NS);
    let rv = cms
        .list(&ListParams::default())
        .await
        .unwrap()
        .metadata
        .resource_version
        .unwrap();
    cms.create(&PostParams::default(), &cm("a", json!({})))
        .await
        .unwrap();
    c.compact_history();
    let mut stream = cms
        .watch(&WatchParams::default(), &rv)
        .await
        .unwrap()
        .boxed();
    match stream.try_next().await.unwrap() {
        Some(WatchEvent::Error(e)) => assert_eq!((e.code, e.reason.as_str()), (410, "Expired")),
        other => panic!("expected 410, got {other:?}"),
    }
    // A bounded history: with room for one event, older versions expire.
    c.set_history(1);
    let rv = c.resource_version().to_string();
    cms.create(&PostParams::default(), &cm("b", json!({})))
        .await
        .unwrap();
    cms.create(&PostParams::default(), &cm("c", json!({})))
        .await
        .unwrap();
    let mut stream = cms
        .watch(&WatchParams::default(), &rv)
        .await
        .unwrap()
        .boxed();
    assert!(
        matches!(stream.try_next().await.unwrap(), Some(WatchEvent::Error(e)) if e.code == 410)
    );
}

#[tokio::test]
async fn the_watcher_reconnects_and_relists_after_410() {
    let c = server();
    let dir = tempdir();
    let client = client(&c, dir.path()).await;
    let cms: Api<ConfigMap> = Api::namespaced(client, NS);
    cms.create(&PostParams::default(), &cm("first", json!({})))
        .await
        .unwrap();
    let mut events = watcher(cms.clone(), watcher::Config::default()).boxed();
    assert_eq!(next_named(&mut events, "first").await, 1);
    // The server ends every watch: the watcher resumes from its version.
    c.drop_watches();
    cms.create(&PostParams::default(), &cm("second", json!({})))
        .await
        .unwrap();
    assert_eq!(
        next_named(&mut events, "second").await,
        0,
        "resumed without a new list"
    );
    // 410 on the next watch: the watcher lists again.
    let lists_before = c
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && !r.is_watch() && r.path.ends_with("/configmaps"))
        .count();
    c.expire_next_watch();
    c.drop_watches();
    // The watcher reconnects, gets 410 Expired, and starts over (Init).
    loop {
        let e = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("watcher event in time")
            .expect("stream");
        if matches!(e, Ok(watcher::Event::Init)) {
            break;
        }
    }
    cms.create(&PostParams::default(), &cm("third", json!({})))
        .await
        .unwrap();
    next_named(&mut events, "third").await;
    let lists_after = c
        .requests()
        .iter()
        .filter(|r| r.method == "GET" && !r.is_watch() && r.path.ends_with("/configmaps"))
        .count();
    assert_eq!(lists_after, lists_before + 1);
}

#[test]
fn kubectl_waits_for_a_condition_and_for_garbage_collection() {
    let c = server();
    let dir = tempdir();
    let manifest = serde_yaml::to_string(&cluster_json("db", initdb(), "db-v1", None)).unwrap();
    let out = kubectl_stdin(&c, dir.path(), &["create", "-f", "-"], &manifest);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = kubectl_ok(
        &c,
        dir.path(),
        &[
            "wait",
            "--for=condition=Ready",
            "cluster/db",
            "-n",
            NS,
            "--timeout=20s",
        ],
    );
    assert!(out.contains("condition met"), "{out}");
    assert!(c
        .requests()
        .iter()
        .any(|r| r.is_watch() && r.path.ends_with("/clusters")));
    // Delete the Cluster with the garbage collector paused: the PVCs stay
    // until it runs, and kubectl waits for them through a watch.
    c.set_gc(false);
    kubectl_ok(
        &c,
        dir.path(),
        &["delete", "cluster", "db", "-n", NS, "--wait=false"],
    );
    assert_eq!(c.list("pvc", Some(NS)).len(), 2);
    let kubeconfig = c.kubeconfig(dir.path());
    let cache = dir.path().join("cache");
    let watching = std::thread::spawn(move || {
        std::process::Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .arg("--cache-dir")
            .arg(&cache)
            .args([
                "wait",
                "--for=delete",
                "pvc",
                "-l",
                "cnpg.io/cluster=db",
                "-n",
                NS,
                "--timeout=30s",
            ])
            .output()
    });
    c.wait_until("kubectl to watch the PVCs", Duration::from_secs(20), |c| {
        (c.requests()
            .iter()
            .filter(|r| r.is_watch() && r.path.ends_with("/persistentvolumeclaims"))
            .count()
            >= 1)
            .then_some(())
    });
    assert_eq!(c.list("pvc", Some(NS)).len(), 2);
    c.set_gc(true);
    let out = watching.join().unwrap().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("persistentvolumeclaim/db-1 condition met") && stdout.contains("db-1-wal"),
        "{stdout}"
    );
    assert!(c.list("pvc", Some(NS)).is_empty());
    // The bootstrap Job's Pod goes one level later (Cluster → Job → Pod).
    c.wait_until(
        "the cascade to reach the pods",
        Duration::from_secs(10),
        |c| c.list("pods", Some(NS)).is_empty().then_some(()),
    );
}

type Events =
    futures::stream::BoxStream<'static, Result<watcher::Event<ConfigMap>, watcher::Error>>;

/// Reads watcher events until one names `want`; how many Init events came.
async fn next_named(events: &mut Events, want: &str) -> usize {
    let mut inits = 0;
    loop {
        let e = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("watcher event in time")
            .expect("stream");
        match e {
            Ok(watcher::Event::Init) => inits += 1,
            Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o))
                if o.metadata.name.as_deref() == Some(want) =>
            {
                return inits
            }
            _ => {}
        }
    }
}
