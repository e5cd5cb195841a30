//! A tiny kubelet and Deployment controller: pods that nothing else runs,
//! and Deployments, get the status a real cluster gives them, so that a
//! runbook's shell steps (a one-off pod listing the object store,
//! `kubectl rollout restart/status`) behave as they would.
//!
//! - A standalone Pod (no owner) whose first container runs
//!   `barman-cloud-backup-list … DESTINATION SERVER` succeeds, its log
//!   listing the lineage's base backups from the simulated bucket (like
//!   the real tool: a header line, then one line per backup); any other
//!   standalone Pod is `Running`.
//! - A Deployment gets `observedGeneration`, all replicas updated, ready
//!   and available, and the `Available` condition.

use serde_json::{json, Value};

use super::objstore::Bucket;
use super::store::{meta_str, Store, Sub, Write};

fn w() -> Write {
    Write {
        manager: "kubelet".into(),
        sub: Sub::Any,
        ..Write::default()
    }
}

pub fn step(store: &mut Store, bucket: &Bucket) {
    pods(store, bucket);
    deployments(store);
}

fn pods(store: &mut Store, bucket: &Bucket) {
    let Some(res) = store.resolve("pods") else {
        return;
    };
    let waiting: Vec<Value> = store
        .list(res, None)
        .into_iter()
        .filter(|p| p.pointer("/metadata/ownerReferences").is_none())
        .filter(|p| p.pointer("/status/phase").is_none())
        .cloned()
        .collect();
    for pod in waiting {
        let ns = meta_str(&pod, "namespace").to_string();
        let name = meta_str(&pod, "name").to_string();
        let command: Vec<String> = pod
            .pointer("/spec/containers/0/command")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let (phase, log) = match command.first().map(String::as_str) {
            Some("barman-cloud-backup-list") => backup_list(&command, bucket),
            _ => ("Running", String::new()),
        };
        let mut updated = pod.clone();
        updated["status"] = json!({"phase": phase});
        if !log.is_empty() {
            // The server answers `pods/log` from this annotation.
            if !updated["metadata"]["annotations"].is_object() {
                updated["metadata"]["annotations"] = json!({});
            }
            updated["metadata"]["annotations"]["test.docs/log"] = json!(log);
        }
        let _ = store.update(res, &ns, &name, updated, &w());
    }
}

/// What `barman-cloud-backup-list [options] DESTINATION SERVER` prints.
fn backup_list(args: &[String], bucket: &Bucket) -> (&'static str, String) {
    let positional: Vec<&String> = {
        let mut out = Vec::new();
        let mut skip = false;
        for a in &args[1..] {
            if skip {
                skip = false;
            } else if a.starts_with("--") {
                skip = !a.contains('=') && a != "--cloud-provider=aws-s3";
            } else {
                out.push(a);
            }
        }
        out
    };
    let [dest, server] = positional.as_slice() else {
        return (
            "Failed",
            "usage: barman-cloud-backup-list DESTINATION SERVER_NAME\n".into(),
        );
    };
    let mut log = String::from("Backup ID           End Time                 Begin Wal                     Archival Status  Name\n");
    if let Some(l) = bucket.get(dest, server) {
        for b in &l.base_backups {
            log.push_str(&format!(
                "{:<19} {:<24} {:<29} {:<16} {}\n",
                b.id, b.time, "000000010000000000000001", "", b.by
            ));
        }
    }
    ("Succeeded", log)
}

fn deployments(store: &mut Store) {
    let Some(res) = store.resolve("deployments.apps") else {
        return;
    };
    let stale: Vec<Value> = store
        .list(res, None)
        .into_iter()
        .filter(|d| d.pointer("/status/observedGeneration") != d.pointer("/metadata/generation"))
        .cloned()
        .collect();
    for d in stale {
        let ns = meta_str(&d, "namespace").to_string();
        let name = meta_str(&d, "name").to_string();
        let replicas = d
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let mut updated = d.clone();
        updated["status"] = json!({
            "observedGeneration": d.pointer("/metadata/generation").cloned().unwrap_or(json!(1)),
            "replicas": replicas, "updatedReplicas": replicas, "readyReplicas": replicas,
            "availableReplicas": replicas,
            "conditions": [
                {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
                {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]});
        let _ = store.update(res, &ns, &name, updated, &w());
    }
}
