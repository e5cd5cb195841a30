//! The simulated Argo CD: self-heal from git (a directory or a git
//! repository), skip-reconcile, ignoreDifferences on resume, and the
//! cached revision versus a hard refresh.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use super::*;
use crate::cluster::{Git, Options, TestCluster, HEALTHY};

const SKIP: &str = "argocd.argoproj.io/skip-reconcile";

/// The kit's layout: `db/kustomization.yaml` and `db/cluster.yaml`.
fn write_git_files(root: &Path, server_name: &str) {
    std::fs::create_dir_all(root.join("db")).unwrap();
    std::fs::write(root.join("db/kustomization.yaml"), format!("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: {NS}\nresources:\n  - cluster.yaml\n")).unwrap();
    let mut cl = cluster_json("db", initdb(), server_name, None);
    cl["metadata"].as_object_mut().unwrap().remove("namespace");
    std::fs::write(
        root.join("db/cluster.yaml"),
        serde_yaml::to_string(&cl).unwrap(),
    )
    .unwrap();
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=test",
            "-c",
            "user.email=test@example.invalid",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn commit(dir: &Path, server_name: &str) -> String {
    write_git_files(dir, server_name);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", server_name]);
    git(dir, &["rev-parse", "HEAD"])
}

fn application(extra: Value) -> Value {
    let mut app = json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
        "metadata": {"name": "db", "namespace": "argocd"},
        "spec": {"project": "default",
            "source": {"repoURL": "https://git.example.invalid/kit.git", "path": "db", "targetRevision": "HEAD"},
            "destination": {"server": "https://kubernetes.default.svc", "namespace": NS},
            "syncPolicy": {"automated": {"prune": true, "selfHeal": true}}}});
    json_patch::merge(&mut app, &extra);
    app
}

fn start(git: Git) -> TestCluster {
    let c = TestCluster::start_with(Options {
        git: Some(git),
        ..Options::default()
    });
    c.seed_yaml(&format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {NS}\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: argocd\n"));
    c
}

fn app_field(c: &TestCluster, pointer: &str) -> Option<String> {
    c.get("applications", "argocd", "db")?
        .pointer(pointer)?
        .as_str()
        .map(String::from)
}

fn server_name(c: &TestCluster) -> Option<String> {
    c.get("cluster", NS, "db")?
        .pointer("/spec/backup/barmanObjectStore/serverName")?
        .as_str()
        .map(String::from)
}

#[test]
fn self_heal_recreates_from_git_unless_reconcile_is_skipped() {
    let dir = tempdir();
    write_git_files(dir.path(), "db-v1");
    let c = start(Git::Dir(dir.path().to_path_buf()));
    c.create(application(json!({}))).unwrap();
    wait_phase(&c, "db", HEALTHY);
    c.wait_until("Synced", Duration::from_secs(10), |c| {
        (app_field(c, "/status/sync/status").as_deref() == Some("Synced")).then_some(())
    });
    assert_eq!(
        app_field(&c, "/status/health/status").as_deref(),
        Some("Healthy")
    );
    assert!(app_field(&c, "/status/reconciledAt").is_some());
    // Paused: a deleted Cluster stays deleted.
    c.patch(
        "applications",
        "argocd",
        "db",
        json!({"metadata": {"annotations": {SKIP: "true"}}}),
    )
    .unwrap();
    let kdir = tempdir();
    kubectl_ok(&c, kdir.path(), &["delete", "cluster", "db", "-n", NS]);
    let paused_app = c.get("applications", "argocd", "db").unwrap();
    let rounds = (c.speeds().self_heal.as_millis() / c.speeds().tick.as_millis()) as u64 * 3 + 10;
    c.wait_ticks(rounds);
    assert!(
        c.get("cluster", NS, "db").is_none(),
        "recreated while paused"
    );
    assert_eq!(
        c.get("applications", "argocd", "db").unwrap(),
        paused_app,
        "no processing at all, not even status"
    );
    // Resumed: recreated from git, with git's bootstrap (initdb).
    c.patch(
        "applications",
        "argocd",
        "db",
        json!({"metadata": {"annotations": {SKIP: null}}}),
    )
    .unwrap();
    let back = c.wait_until("the Cluster recreated", Duration::from_secs(10), |c| {
        c.get("cluster", NS, "db")
    });
    assert_eq!(back["spec"]["bootstrap"], initdb());
    assert!(
        c.requests()
            .iter()
            .all(|r| !r.path.contains("/clusters") || r.method != "POST"),
        "by the controller, not over HTTP"
    );
}

#[test]
fn ignore_differences_keep_the_recovered_bootstrap_on_resume() {
    let dir = tempdir();
    write_git_files(dir.path(), "db-v2");
    let c = start(Git::Dir(dir.path().to_path_buf()));
    c.seed_backup("s3://bucket/cnpg", "db-v1", "20250101T020000");
    c.create(application(json!({
        "metadata": {"annotations": {SKIP: "true"}},
        "spec": {"ignoreDifferences": [{"group": "postgresql.cnpg.io", "kind": "Cluster", "jsonPointers": ["/spec/bootstrap", "/spec/externalClusters"]}],
            "syncPolicy": {"syncOptions": ["RespectIgnoreDifferences=true"]}}}))).unwrap();
    // The runbook creates the recovery Cluster directly, one instance more than git.
    let mut recovered = cluster_json("db", recovery(), "db-v2", Some("db-v1"));
    recovered["spec"]["instances"] = json!(2);
    c.create(recovered).unwrap();
    wait_phase(&c, "db", HEALTHY);
    c.patch(
        "applications",
        "argocd",
        "db",
        json!({"metadata": {"annotations": {SKIP: null}}}),
    )
    .unwrap();
    // Reconciled (instances back to git's) but bootstrap and externalClusters kept.
    let live = c.wait_until("instances healed to 1", Duration::from_secs(10), |c| {
        c.get("cluster", NS, "db")
            .filter(|o| o["spec"]["instances"] == 1)
    });
    assert_eq!(live["spec"]["bootstrap"], recovery(), "no initdb merged in");
    assert!(live["spec"]["externalClusters"].is_array());
    c.wait_until("Synced", Duration::from_secs(10), |c| {
        (app_field(c, "/status/sync/status").as_deref() == Some("Synced")).then_some(())
    });
}

#[test]
fn a_stale_revision_heals_back_to_the_old_lineage_until_a_hard_refresh() {
    let dir = tempdir();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    let old = commit(dir.path(), "db-v1");
    let c = start(Git::Bare {
        git_dir: dir.path().join(".git"),
        branch: "main".into(),
    });
    c.create(application(json!({}))).unwrap();
    c.wait_until("synced at the first commit", Duration::from_secs(10), |c| {
        (app_field(c, "/status/sync/revision").as_deref() == Some(old.as_str())
            && server_name(c).is_some())
        .then_some(())
    });
    // Pause, move git to the next lineage, and recover into it.
    c.patch(
        "applications",
        "argocd",
        "db",
        json!({"metadata": {"annotations": {SKIP: "true"}}}),
    )
    .unwrap();
    let new = commit(dir.path(), "db-v2");
    c.patch(
        "cluster",
        NS,
        "db",
        json!({"spec": {"backup": {"barmanObjectStore": {"serverName": "db-v2"}}}}),
    )
    .unwrap();
    // Resume without a refresh: the cached revision wins.
    c.patch(
        "applications",
        "argocd",
        "db",
        json!({"metadata": {"annotations": {SKIP: null}}}),
    )
    .unwrap();
    c.wait_until(
        "serverName healed back to db-v1",
        Duration::from_secs(10),
        |c| (server_name(c).as_deref() == Some("db-v1")).then_some(()),
    );
    assert_eq!(
        app_field(&c, "/status/sync/revision").as_deref(),
        Some(old.as_str())
    );
    // A hard refresh reads the branch again: db-v2 it is.
    c.patch(
        "applications",
        "argocd",
        "db",
        json!({"metadata": {"annotations": {"argocd.argoproj.io/refresh": "hard"}}}),
    )
    .unwrap();
    c.wait_until("the new revision", Duration::from_secs(10), |c| {
        (app_field(c, "/status/sync/revision").as_deref() == Some(new.as_str())).then_some(())
    });
    c.wait_until("serverName db-v2", Duration::from_secs(10), |c| {
        (server_name(c).as_deref() == Some("db-v2")).then_some(())
    });
    let app = c.get("applications", "argocd", "db").unwrap();
    assert!(
        app.pointer("/metadata/annotations/argocd.argoproj.io~1refresh")
            .is_none(),
        "the annotation is removed"
    );
}
