//! The simulated CNPG operator's Backups and ScheduledBackups: a Backup
//! goes pending → running → completed (a base backup in the Cluster's
//! target lineage, with the database's contents) or failed (no such or
//! no healthy Cluster, or the test says so); a ScheduledBackup with
//! `immediate: true` makes one at once, labelled `cnpg.io/cluster` and
//! `cnpg.io/scheduled-backup`. The cron schedule itself is not run.

use std::time::{Instant, SystemTime};

use serde_json::{json, Value};

use super::cnpg::{ensure, merge, owner, target, CnpgState, HEALTHY};
use super::objstore::{segment, BaseBackup, Bucket, Contents};
use super::store::{meta_str, Store};
use super::{time, Speeds};

/// A failed Backup's status.
pub fn failed(why: &str) -> Value {
    json!({"phase": "failed", "error": why, "stoppedAt": time::now()})
}

/// A Backup's status once barman-cloud-backup runs on the primary.
pub fn running(cluster: &str, dest: &str, server: &str, start: SystemTime) -> Value {
    json!({"phase": "running",
        "method": "barmanObjectStore", "startedAt": time::rfc3339(start), "backupId": time::backup_id(start),
        "serverName": server, "destinationPath": dest, "instanceID": {"podName": format!("{cluster}-1")}})
}

/// Ends a running Backup `b`: its base backup (holding `contents`) goes
/// into the bucket. The Backup's status, and the Cluster's.
pub fn complete(
    b: &Value,
    cluster: Option<&Value>,
    bucket: &mut Bucket,
    contents: Contents,
) -> (Value, Value) {
    let s = |p: &str| {
        b.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let (dest, server, id) = (
        s("/status/destinationPath"),
        s("/status/serverName"),
        s("/status/backupId"),
    );
    let stopped = time::now();
    let lineage = bucket.entry(&dest, &server);
    let wal = lineage.wal.last().cloned().unwrap_or_else(|| segment(1, 1));
    lineage.base_backups.push(BaseBackup {
        id,
        time: stopped.clone(),
        by: format!("{}/{}", meta_str(b, "namespace"), meta_str(b, "name")),
        contents,
    });
    let first = cluster
        .and_then(|c| c.pointer("/status/firstRecoverabilityPoint"))
        .cloned()
        .unwrap_or(json!(stopped));
    (
        json!({"phase": "completed", "stoppedAt": stopped, "beginWal": wal, "endWal": wal}),
        json!({"lastSuccessfulBackup": stopped, "firstRecoverabilityPoint": first}),
    )
}

pub fn backups(store: &mut Store, bucket: &mut Bucket, st: &mut CnpgState, sp: &Speeds) {
    let (Some(bres), Some(cres)) = (
        store.by_kind("postgresql.cnpg.io/v1", "Backup"),
        store.by_kind("postgresql.cnpg.io/v1", "Cluster"),
    ) else {
        return;
    };
    let all: Vec<Value> = store.list(bres, None).into_iter().cloned().collect();
    for b in all {
        let (ns, name, uid) = (
            meta_str(&b, "namespace").to_string(),
            meta_str(&b, "name").to_string(),
            meta_str(&b, "uid").to_string(),
        );
        let phase = b
            .pointer("/status/phase")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let since = *st.backups.entry(uid.clone()).or_insert_with(Instant::now);
        let cname = b
            .pointer("/spec/cluster/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let c = store.get(cres, &ns, &cname).cloned();
        let healthy = c
            .as_ref()
            .is_some_and(|c| c.pointer("/status/phase").and_then(Value::as_str) == Some(HEALTHY));
        let fail = |store: &mut Store, why: String| {
            merge(
                store,
                "backups.postgresql.cnpg.io",
                &ns,
                &name,
                json!({"status": failed(&why)}),
            );
            if c.is_some() {
                merge(
                    store,
                    "clusters.postgresql.cnpg.io",
                    &ns,
                    &cname,
                    json!({"status": {"lastFailedBackup": time::now()}}),
                );
            }
        };
        match phase.as_str() {
            "" => {
                merge(
                    store,
                    "backups.postgresql.cnpg.io",
                    &ns,
                    &name,
                    json!({"status": {"phase": "pending"}}),
                );
                st.backups.insert(uid, Instant::now());
            }
            "pending" if since.elapsed() >= sp.backup_step => {
                let Some(c) = &c else {
                    fail(store, format!("unknown cluster {cname}"));
                    continue;
                };
                let Some((dest, server)) = target(c).filter(|_| healthy) else {
                    let why = if healthy {
                        "no barmanObjectStore section defined on the target cluster"
                    } else {
                        "cannot proceed with the backup as the cluster is not ready"
                    };
                    fail(store, why.to_string());
                    continue;
                };
                let start = SystemTime::now();
                merge(
                    store,
                    "backups.postgresql.cnpg.io",
                    &ns,
                    &name,
                    json!({"status": running(&cname, &dest, &server, start)}),
                );
                st.backups.insert(uid, Instant::now());
            }
            "running" if since.elapsed() >= sp.backup_step => {
                if st.fail_backups || !healthy {
                    fail(
                        store,
                        "barman-cloud-backup: exit status 1 (simulated)".into(),
                    );
                    continue;
                }
                let contents = c
                    .as_ref()
                    .and_then(|c| st.clusters.get(meta_str(c, "uid")))
                    .map(|s| s.contents.clone())
                    .unwrap_or_default();
                let (status, cluster_status) = complete(&b, c.as_ref(), bucket, contents);
                merge(
                    store,
                    "backups.postgresql.cnpg.io",
                    &ns,
                    &name,
                    json!({ "status": status }),
                );
                merge(
                    store,
                    "clusters.postgresql.cnpg.io",
                    &ns,
                    &cname,
                    json!({ "status": cluster_status }),
                );
            }
            _ => {}
        }
    }
}

/// What CNPG does when it first sees a ScheduledBackup `sb` (not
/// suspended): with `immediate: true`, the Backup it creates at once
/// (`cluster`: the Cluster, for `backupOwnerReference: cluster`); and the
/// ScheduledBackup's status.
pub fn first_schedule(
    sb: &Value,
    cluster: Option<&Value>,
    now: SystemTime,
) -> (Option<Value>, Value) {
    let (ns, name) = (meta_str(sb, "namespace"), meta_str(sb, "name"));
    let cname = sb
        .pointer("/spec/cluster/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut status = json!({"lastCheckTime": time::rfc3339(now)});
    if sb.pointer("/spec/immediate") != Some(&json!(true)) {
        return (None, status);
    }
    let mut meta = json!({"name": format!("{name}-{}", time::backup_id(now).replace('T', "")), "namespace": ns,
        "labels": {"cnpg.io/cluster": cname, "cnpg.io/scheduled-backup": name}});
    match sb
        .pointer("/spec/backupOwnerReference")
        .and_then(Value::as_str)
    {
        Some("self") => meta["ownerReferences"] = json!([owner(sb)]),
        Some("cluster") => {
            if let Some(c) = cluster {
                meta["ownerReferences"] = json!([owner(c)]);
            }
        }
        _ => {}
    }
    let method = sb
        .pointer("/spec/method")
        .cloned()
        .unwrap_or(json!("barmanObjectStore"));
    status["lastScheduleTime"] = json!(time::rfc3339(now));
    let backup = json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Backup",
        "metadata": meta, "spec": {"cluster": {"name": cname}, "method": method}});
    (Some(backup), status)
}

pub fn scheduled(store: &mut Store) {
    let Some(sres) = store.by_kind("postgresql.cnpg.io/v1", "ScheduledBackup") else {
        return;
    };
    let all: Vec<Value> = store.list(sres, None).into_iter().cloned().collect();
    for sb in all {
        if sb.pointer("/status/lastCheckTime").is_some()
            || sb.pointer("/spec/suspend") == Some(&json!(true))
        {
            continue;
        }
        let (ns, name) = (meta_str(&sb, "namespace"), meta_str(&sb, "name"));
        let cname = sb
            .pointer("/spec/cluster/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let cluster = store
            .by_kind("postgresql.cnpg.io/v1", "Cluster")
            .and_then(|r| store.get(r, ns, cname))
            .cloned();
        let (backup, status) = first_schedule(&sb, cluster.as_ref(), SystemTime::now());
        if let Some(backup) = backup {
            ensure(store, "backups.postgresql.cnpg.io", backup);
        }
        merge(
            store,
            "scheduledbackups.postgresql.cnpg.io",
            ns,
            name,
            json!({ "status": status }),
        );
    }
}
