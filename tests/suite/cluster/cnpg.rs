//! A simulated CloudNativePG operator (postgresql.cnpg.io/v1), enough for
//! the disaster-recovery runbook: Cluster phases and conditions, the
//! instance's PVCs and Pod, the bootstrap Job (initdb or full-recovery)
//! with CNPG's failures ("no target backup found", "Expected empty
//! archive", unrecoverable after a failed recovery Job), WAL archiving to
//! the bucket; Backups and ScheduledBackups are in backup.rs. One `step`
//! per tick; the durations come from `Speeds`.

use std::collections::HashMap;
use std::time::Instant;

use serde_json::{json, Value};

use super::objstore::{segment, Bucket, Contents};
use super::store::{meta_str, Store, Write};
use super::{backup, time, Speeds};

pub const HEALTHY: &str = "Cluster in healthy state";
pub const SETTING_UP: &str = "Setting up primary";
pub const UNRECOVERABLE: &str = "Cluster is unrecoverable and needs manual intervention";
pub const FINALIZER: &str = "cnpg.io/test-cleanup";

#[derive(Clone, Debug, PartialEq)]
enum Stage {
    /// The bootstrap Job runs (initdb or full-recovery).
    Bootstrap,
    /// The Job is done; the primary Pod starts.
    Starting,
    Healthy,
    /// The recovery Job keeps failing (target lineage not empty).
    Stuck,
    Unrecoverable,
}

pub(super) struct ClusterSim {
    stage: Stage,
    since: Instant,
    recovery: bool,
    /// Why the bootstrap will fail, decided when it starts.
    failure: Option<String>,
    target_had_data: bool,
    timeline: u32,
    wal: u64,
    last_wal: Instant,
    /// What the database holds: restored from a backup, or what initdb
    /// made (no tables; plpgsql and the extensions its SQL creates).
    pub(super) contents: Contents,
}

impl ClusterSim {
    /// Whether WAL archiving works: not for an initdb Cluster whose
    /// target lineage already had data ("Expected empty archive").
    fn archives(&self) -> bool {
        !self.target_had_data || self.recovery
    }
}

#[derive(Default)]
pub struct CnpgState {
    pub(super) clusters: HashMap<String, ClusterSim>,
    pub(super) backups: HashMap<String, Instant>,
    deleting: HashMap<String, Instant>,
    /// Tests: the next recovery Jobs fail.
    pub fail_recovery: bool,
    /// Tests: Backups fail while running.
    pub fail_backups: bool,
}

const MANAGER: &str = "cnpg-controller";

fn w() -> Write {
    Write {
        manager: MANAGER.into(),
        ..Write::default()
    }
}

/// (destinationPath, serverName) of a barmanObjectStore section.
fn lineage_of(store_cfg: Option<&Value>, default_server: &str) -> Option<(String, String)> {
    let b = store_cfg?;
    let dest = b
        .get("destinationPath")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let server = b
        .get("serverName")
        .and_then(Value::as_str)
        .unwrap_or(default_server)
        .to_string();
    Some((dest, server))
}

/// The backup target of a Cluster.
pub fn target(cluster: &Value) -> Option<(String, String)> {
    lineage_of(
        cluster.pointer("/spec/backup/barmanObjectStore"),
        meta_str(cluster, "name"),
    )
}

/// The recovery source of a Cluster (`bootstrap.recovery.source` resolved
/// through `externalClusters`).
pub fn source(cluster: &Value) -> Option<(String, String)> {
    let src = cluster
        .pointer("/spec/bootstrap/recovery/source")?
        .as_str()?;
    let ext = cluster
        .pointer("/spec/externalClusters")?
        .as_array()?
        .iter()
        .find(|e| e.get("name").and_then(Value::as_str) == Some(src))?;
    lineage_of(ext.get("barmanObjectStore"), src)
}

pub fn condition(kind: &str, ok: bool, reason: &str, message: &str) -> Value {
    json!({"type": kind, "status": if ok { "True" } else { "False" }, "reason": reason,
        "message": message, "lastTransitionTime": time::now()})
}

pub fn owner(o: &Value) -> Value {
    json!({"apiVersion": o["apiVersion"], "kind": o["kind"], "name": meta_str(o, "name"),
        "uid": meta_str(o, "uid"), "controller": true, "blockOwnerDeletion": true})
}

pub(super) fn ensure(store: &mut Store, kind: &str, obj: Value) {
    let Some(res) = store.resolve(kind) else {
        return;
    };
    let (ns, name) = (
        meta_str(&obj, "namespace").to_string(),
        meta_str(&obj, "name").to_string(),
    );
    if store.get(res, &ns, &name).is_none() {
        let _ = store.create(res, &ns, obj, &w());
    }
}

/// Merges `patch` into an object (controllers write status this way).
pub(super) fn merge(store: &mut Store, kind: &str, ns: &str, name: &str, patch: Value) {
    let Some(res) = store.resolve(kind) else {
        return;
    };
    let Some(mut o) = store.get(res, ns, name).cloned() else {
        return;
    };
    json_patch::merge(&mut o, &patch);
    let _ = store.update(res, ns, name, o, &w());
}

/// How a new Cluster's bootstrap ends, decided from the bucket when the
/// operator first sees it: what CNPG's bootstrap Job would find there.
#[derive(Clone, Debug)]
pub struct Bootstrap {
    pub recovery: bool,
    /// Why the bootstrap Job will fail ("no target backup found").
    pub failure: Option<String>,
    /// The backup target already held backups or WAL: a recovery stops
    /// at "Expected empty archive", an initdb Cluster cannot archive.
    pub target_had_data: bool,
    pub timeline: u32,
    /// WAL segments already in the restored history.
    pub wal: u64,
    /// What the database holds once bootstrapped.
    pub contents: Contents,
}

impl Bootstrap {
    /// Whether WAL archiving works: not for an initdb Cluster whose
    /// target lineage already had data ("Expected empty archive").
    pub fn archives(&self) -> bool {
        !self.target_had_data || self.recovery
    }
}

pub fn bootstrap(c: &Value, bucket: &Bucket) -> Bootstrap {
    let recovery = c.pointer("/spec/bootstrap/recovery").is_some();
    let mut b = Bootstrap {
        recovery,
        failure: None,
        target_had_data: target(c).is_some_and(|(d, s)| bucket.has_data(&d, &s)),
        timeline: 1,
        wal: 0,
        contents: initdb_contents(c),
    };
    if recovery {
        match source(c).and_then(|(d, s)| bucket.get(&d, &s).cloned()) {
            Some(l) if !l.base_backups.is_empty() => {
                b.timeline = 2;
                b.wal = l.wal.len() as u64 + 1;
                b.contents = l
                    .base_backups
                    .last()
                    .map(|x| x.contents.clone())
                    .unwrap_or_default();
            }
            _ => b.failure = Some("no target backup found".to_string()),
        }
    }
    b
}

/// The data and WAL PVCs of a Cluster's first instance, owned by it.
pub fn instance_pvcs(c: &Value) -> Vec<Value> {
    let (ns, name) = (meta_str(c, "namespace"), meta_str(c, "name"));
    let primary = format!("{name}-1");
    [
        (primary.clone(), "PG_DATA", "storage"),
        (format!("{primary}-wal"), "PG_WAL", "walStorage"),
    ]
    .into_iter()
    .map(|(pvc, role, spec)| {
        let mut o = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": pvc, "namespace": ns, "ownerReferences": [owner(c)],
                "labels": {"cnpg.io/cluster": name, "cnpg.io/instanceName": primary, "cnpg.io/pvcRole": role}},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
            "status": {"phase": "Bound"}});
        if let Some(class) = c.pointer(&format!("/spec/{spec}/storageClass")) {
            o["spec"]["storageClassName"] = class.clone();
        }
        o
    })
    .collect()
}

/// A Cluster's status while its bootstrap Job runs.
pub fn setting_up(c: &Value, timeline: u32) -> Value {
    let primary = format!("{}-1", meta_str(c, "name"));
    json!({"phase": SETTING_UP, "phaseReason": format!("Creating primary instance {primary}"),
        "instances": instances(c), "readyInstances": 0, "latestGeneratedNode": 1,
        "targetPrimary": primary, "instanceNames": [primary], "timelineID": timeline,
        "conditions": [condition("Ready", false, "ClusterIsNotReady", "Cluster Is Not Ready")]})
}

/// A Cluster's status once its primary runs: Ready, and whether WAL
/// archiving to its backup target works.
pub fn healthy(c: &Value, archives: bool) -> Value {
    let mut conditions = vec![condition(
        "Ready",
        true,
        "ClusterIsReady",
        "Cluster is Ready",
    )];
    if let Some((_, server)) = target(c) {
        conditions.push(if archives {
            condition("ContinuousArchiving", true, "ContinuousArchivingSuccess", "Continuous archiving is working")
        } else {
            condition("ContinuousArchiving", false, "ContinuousArchivingFailing",
                &format!("unexpected failure invoking barman-cloud-wal-archive: WAL archive check failed for server {server}: Expected empty archive"))
        });
    }
    json!({"phase": HEALTHY, "phaseReason": null, "readyInstances": instances(c),
        "currentPrimary": format!("{}-1", meta_str(c, "name")),
        "currentPrimaryTimestamp": time::now(), "conditions": conditions})
}

fn instances(c: &Value) -> i64 {
    c.pointer("/spec/instances")
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

pub fn step(store: &mut Store, bucket: &mut Bucket, st: &mut CnpgState, sp: &Speeds) {
    let Some(cres) = store.by_kind("postgresql.cnpg.io/v1", "Cluster") else {
        return;
    };
    let clusters: Vec<Value> = store.list(cres, None).into_iter().cloned().collect();
    let live: Vec<String> = clusters
        .iter()
        .map(|c| meta_str(c, "uid").to_string())
        .collect();
    st.clusters.retain(|uid, _| live.contains(uid));
    for c in &clusters {
        cluster(store, bucket, st, sp, c);
    }
    backup::backups(store, bucket, st, sp);
    backup::scheduled(store);
}

fn cluster(store: &mut Store, bucket: &mut Bucket, st: &mut CnpgState, sp: &Speeds, c: &Value) {
    let (ns, name, uid) = (
        meta_str(c, "namespace").to_string(),
        meta_str(c, "name").to_string(),
        meta_str(c, "uid").to_string(),
    );
    let finalizers: Vec<String> = c
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|f| f.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    if !meta_str(c, "deletionTimestamp").is_empty() {
        let since = *st.deleting.entry(uid.clone()).or_insert_with(Instant::now);
        if finalizers.iter().any(|f| f == FINALIZER)
            && since.elapsed() >= sp.cluster_finalizer.unwrap_or_default()
        {
            let rest: Vec<&String> = finalizers.iter().filter(|f| *f != FINALIZER).collect();
            merge(
                store,
                "clusters.postgresql.cnpg.io",
                &ns,
                &name,
                json!({"metadata": {"finalizers": rest}}),
            );
        }
        return;
    }
    if sp.cluster_finalizer.is_some() && !finalizers.iter().any(|f| f == FINALIZER) {
        let mut all = finalizers.clone();
        all.push(FINALIZER.into());
        merge(
            store,
            "clusters.postgresql.cnpg.io",
            &ns,
            &name,
            json!({"metadata": {"finalizers": all}}),
        );
    }
    let primary = format!("{name}-1");
    let tgt = target(c);
    let Some(sim) = st.clusters.get_mut(&uid) else {
        // A new Cluster: decide how its bootstrap ends, create its PVCs
        // and bootstrap Job.
        let Bootstrap {
            recovery,
            failure,
            target_had_data,
            timeline,
            wal,
            contents,
        } = bootstrap(c, bucket);
        for pvc in instance_pvcs(c) {
            ensure(store, "pvc", pvc);
        }
        let role = if recovery { "full-recovery" } else { "initdb" };
        ensure(
            store,
            "jobs.batch",
            json!({"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": format!("{primary}-{role}"), "namespace": ns, "ownerReferences": [owner(c)],
                "labels": {"cnpg.io/cluster": name, "cnpg.io/jobRole": role, "cnpg.io/instanceName": primary}},
            "spec": {"selector": {"matchLabels": {"job-name": format!("{primary}-{role}")}},
                "template": {"spec": {"containers": [{"name": role, "image": "ghcr.io/cloudnative-pg/postgresql"}]}}},
            "status": {"active": 1}}),
        );
        job_pod(store, &ns, &format!("{primary}-{role}"), "Running", None);
        merge(
            store,
            "clusters.postgresql.cnpg.io",
            &ns,
            &name,
            json!({"status": setting_up(c, timeline)}),
        );
        st.clusters.insert(
            uid,
            ClusterSim {
                stage: Stage::Bootstrap,
                since: Instant::now(),
                recovery,
                failure,
                target_had_data,
                timeline,
                wal,
                last_wal: Instant::now(),
                contents,
            },
        );
        return;
    };
    let job = format!(
        "{primary}-{}",
        if sim.recovery {
            "full-recovery"
        } else {
            "initdb"
        }
    );
    let elapsed = sim.since.elapsed();
    match sim.stage {
        Stage::Bootstrap if elapsed >= sp.phase => {
            let failure = sim.failure.clone().or_else(|| {
                (sim.recovery && st.fail_recovery)
                    .then(|| "recovery job failed (simulated)".to_string())
            });
            let reason = if let Some(why) = failure {
                sim.stage = Stage::Unrecoverable;
                merge(
                    store,
                    "jobs.batch",
                    &ns,
                    &job,
                    json!({"status": {"active": 0, "failed": 1, "conditions": [
                    condition("Failed", true, "BackoffLimitExceeded", &format!("Job has reached the specified backoff limit: {why}"))]}}),
                );
                job_pod(store, &ns, &job, "Failed", Some(&why));
                merge(
                    store,
                    "clusters.postgresql.cnpg.io",
                    &ns,
                    &name,
                    json!({"status": {"phase": UNRECOVERABLE,
                    "phaseReason": why}}),
                );
                return;
            } else if sim.recovery && sim.target_had_data {
                sim.stage = Stage::Stuck;
                let server = tgt.as_ref().map(|t| t.1.clone()).unwrap_or_default();
                format!("WAL archive check failed for server {server}: Expected empty archive")
            } else {
                sim.stage = Stage::Starting;
                merge(
                    store,
                    "jobs.batch",
                    &ns,
                    &job,
                    json!({"status": {"active": 0, "succeeded": 1,
                    "conditions": [condition("Complete", true, "", "")]}}),
                );
                job_pod(store, &ns, &job, "Succeeded", None);
                return;
            };
            merge(
                store,
                "jobs.batch",
                &ns,
                &job,
                json!({"status": {"active": 1, "failed": 1}}),
            );
            job_pod(store, &ns, &job, "Running", Some(&reason));
            merge(
                store,
                "clusters.postgresql.cnpg.io",
                &ns,
                &name,
                json!({"status": {"phaseReason": reason}}),
            );
            sim.since = Instant::now();
        }
        Stage::Starting if elapsed >= sp.phase => {
            sim.stage = Stage::Healthy;
            sim.since = Instant::now();
            ensure(
                store,
                "pods",
                json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": primary, "namespace": ns, "ownerReferences": [owner(c)],
                    "labels": {"cnpg.io/cluster": name, "cnpg.io/instanceName": primary, "cnpg.io/instanceRole": "primary",
                        "role": "primary", "cnpg.io/podRole": "instance"}},
                "spec": {"containers": [{"name": "postgres", "image": "ghcr.io/cloudnative-pg/postgresql"}]},
                "status": {"phase": "Running", "podIP": "127.0.0.1",
                    "conditions": [condition("Ready", true, "", "")]}}),
            );
            merge(
                store,
                "clusters.postgresql.cnpg.io",
                &ns,
                &name,
                json!({"status": healthy(c, sim.archives())}),
            );
        }
        Stage::Healthy if sim.last_wal.elapsed() >= sp.wal_interval => {
            sim.last_wal = Instant::now();
            if let Some((d, s)) = &tgt {
                if sim.archives() {
                    sim.wal += 1;
                    bucket.entry(d, s).wal.push(segment(sim.timeline, sim.wal));
                }
            }
        }
        _ => {}
    }
}

/// The Pod of a bootstrap Job (`kubectl logs job/<name>` finds it through
/// the Job's selector): its phase, and an error for its log.
fn job_pod(store: &mut Store, ns: &str, job: &str, phase: &str, error: Option<&str>) {
    let (Some(jres), Some(pres)) = (store.resolve("jobs.batch"), store.resolve("pods")) else {
        return;
    };
    let Some(j) = store.get(jres, ns, job).cloned() else {
        return;
    };
    let uid = meta_str(&j, "uid");
    let name = format!("{job}-{}", &uid[uid.len().saturating_sub(5)..]);
    let mut log = String::from("{\"level\":\"info\",\"msg\":\"Starting the bootstrap\"}\n");
    if let Some(e) = error {
        log.push_str(&format!("{{\"level\":\"error\",\"msg\":\"{e}\"}}\n"));
    }
    let mut pod = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "ownerReferences": [owner(&j)],
            "labels": {"job-name": job, "batch.kubernetes.io/job-name": job,
                "cnpg.io/jobRole": j.pointer("/metadata/labels/cnpg.io~1jobRole").cloned().unwrap_or(Value::Null)},
            "annotations": {"test.docs/log": log}},
        "spec": {"restartPolicy": "Never", "containers": [{"name": "bootstrap", "image": "ghcr.io/cloudnative-pg/postgresql"}]},
        "status": {"phase": phase}});
    match store.get(pres, ns, &name).cloned() {
        None => {
            let _ = store.create(pres, ns, pod, &w());
        }
        Some(old) => {
            pod["metadata"] = old["metadata"].clone();
            pod["metadata"]["annotations"]["test.docs/log"] = json!(log);
            let _ = store.update(pres, ns, &name, pod, &w());
        }
    }
}

/// What `bootstrap.initdb` makes: no tables, plpgsql and the extensions
/// of `CREATE EXTENSION` statements in its post-init SQL.
fn initdb_contents(c: &Value) -> Contents {
    let mut extensions = vec!["plpgsql".to_string()];
    for key in [
        "postInitApplicationSQL",
        "postInitSQL",
        "postInitTemplateSQL",
    ] {
        let sql = c
            .pointer(&format!("/spec/bootstrap/initdb/{key}"))
            .and_then(Value::as_array);
        for s in sql.into_iter().flatten().filter_map(Value::as_str) {
            let words: Vec<String> = s
                .to_ascii_lowercase()
                .split_whitespace()
                .map(String::from)
                .collect();
            if words.len() >= 3 && words[0] == "create" && words[1] == "extension" {
                let name = if words[2] == "if" {
                    words.get(5)
                } else {
                    words.get(2)
                };
                if let Some(n) = name {
                    extensions.push(n.trim_matches(|c: char| c == ';' || c == '"').to_string());
                }
            }
        }
    }
    if extensions.iter().any(|e| e == "earthdistance") && !extensions.iter().any(|e| e == "cube") {
        extensions.push("cube".into());
    }
    extensions.sort();
    extensions.dedup();
    Contents {
        tables: Vec::new(),
        extensions,
    }
}

pub fn set_contents(
    store: &Store,
    st: &mut CnpgState,
    ns: &str,
    cluster: &str,
    contents: Contents,
) -> bool {
    let Some(uid) = cluster_uid(store, ns, cluster) else {
        return false;
    };
    match st.clusters.get_mut(&uid) {
        Some(sim) => {
            sim.contents = contents;
            true
        }
        None => false,
    }
}

pub fn contents(store: &Store, st: &CnpgState, ns: &str, cluster: &str) -> Option<Contents> {
    st.clusters
        .get(&cluster_uid(store, ns, cluster)?)
        .map(|s| s.contents.clone())
}

fn cluster_uid(store: &Store, ns: &str, cluster: &str) -> Option<String> {
    let res = store.by_kind("postgresql.cnpg.io/v1", "Cluster")?;
    Some(meta_str(store.get(res, ns, cluster)?, "uid").to_string())
}

/// Archives one WAL segment now (`SELECT pg_switch_wal()`); the segment
/// name, or None when the cluster does not archive.
pub fn switch_wal(
    store: &Store,
    bucket: &mut Bucket,
    st: &mut CnpgState,
    ns: &str,
    cluster: &str,
) -> Option<String> {
    let res = store.by_kind("postgresql.cnpg.io/v1", "Cluster")?;
    let c = store.get(res, ns, cluster)?;
    let sim = st.clusters.get_mut(meta_str(c, "uid"))?;
    let (d, s) = target(c)?;
    if sim.stage != Stage::Healthy || !sim.archives() {
        return None;
    }
    sim.wal += 1;
    let seg = segment(sim.timeline, sim.wal);
    bucket.entry(&d, &s).wal.push(seg.clone());
    Some(seg)
}
