//! The CloudNativePG operator, played through the API of a cluster that
//! has CNPG's CRDs but no operator: what CNPG would write for the drill,
//! with the rules of the suite's simulator (tests/suite/cluster/cnpg.rs,
//! backup.rs), whose data-only parts it calls.
//!
//! A Cluster gets its instance's PVCs and its bootstrap Job (initdb or
//! full-recovery), "Setting up primary", then, once the Job completed,
//! "Cluster in healthy state" with `Ready` and `ContinuousArchiving`; a
//! recovery from a lineage without a base backup fails ("no target backup
//! found"), one into a lineage that holds data stops at "Expected empty
//! archive". Backups go pending → running → completed into the player's
//! own record of the object store; a ScheduledBackup with `immediate`
//! makes its first Backup. Level-triggered: each round reads what the API
//! says and takes the next step; a write that lost a race (Conflict) is
//! tried again next round.
//!
//! Nothing runs: the Job is created suspended and managed by the player
//! (`spec.managedBy`), so a real cluster's Job controller starts no Pod;
//! no instance Pod exists (steps that exec into it are not played). The
//! PVCs go with the Cluster through the cluster's garbage collector
//! (their ownerReference), as with CNPG.

use std::collections::HashMap;
use std::time::SystemTime;

use serde_json::{json, Value};

use super::kube::{Kube, Result, Wrote};
use crate::cluster::cnpg::{
    bootstrap, healthy, instance_pvcs, owner, setting_up, target, Bootstrap, HEALTHY, SETTING_UP,
    UNRECOVERABLE,
};
use crate::cluster::{backup, segment, Bucket, Contents};

const CNPG: &str = "postgresql.cnpg.io/v1";
/// Who manages the bootstrap Jobs (a real Job controller leaves them be).
pub const MANAGED_BY: &str = "docs.test/operator-player";

/// What the player remembers between rounds: the object store it plays,
/// and how each Cluster's bootstrap ends (decided when first seen).
#[derive(Default)]
pub struct Cnpg {
    bucket: Bucket,
    clusters: HashMap<String, Bootstrap>,
}

fn meta<'a>(v: &'a Value, field: &str) -> &'a str {
    v.pointer(&format!("/metadata/{field}"))
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn phase(v: &Value) -> &str {
    v.pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("")
}

fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// `obj` with `status` merged into its status (its resourceVersion kept).
fn with_status(obj: &Value, status: Value) -> Value {
    let mut o = obj.clone();
    if !o.get("status").is_some_and(Value::is_object) {
        o["status"] = json!({});
    }
    json_patch::merge(&mut o["status"], &status);
    o
}

impl Cnpg {
    /// One round over the namespace `ns`.
    pub async fn round(&mut self, k: &mut Kube, ns: &str) -> Result<()> {
        let clusters = k.list(CNPG, "Cluster", ns, None).await?;
        let live: Vec<&str> = clusters.iter().map(|c| meta(c, "uid")).collect();
        self.clusters.retain(|uid, _| live.contains(&uid.as_str()));
        for c in &clusters {
            if meta(c, "deletionTimestamp").is_empty() {
                self.cluster(k, c).await?;
            }
        }
        for sb in k.list(CNPG, "ScheduledBackup", ns, None).await? {
            self.scheduled(k, &sb).await?;
        }
        for b in k.list(CNPG, "Backup", ns, None).await? {
            self.backup(k, &b).await?;
        }
        Ok(())
    }

    async fn cluster(&mut self, k: &mut Kube, c: &Value) -> Result<()> {
        let boot = self
            .clusters
            .entry(meta(c, "uid").to_string())
            .or_insert_with(|| bootstrap(c, &self.bucket))
            .clone();
        let role = if boot.recovery {
            "full-recovery"
        } else {
            "initdb"
        };
        let ns = meta(c, "namespace");
        let job_name = format!("{}-1-{role}", meta(c, "name"));
        match phase(c) {
            "" => {
                for pvc in instance_pvcs(c) {
                    k.create(&pvc).await?;
                }
                k.create(&job(c, role)).await?;
                k.replace_status(&with_status(c, setting_up(c, boot.timeline)))
                    .await?;
            }
            SETTING_UP => {
                let Some(j) = k.get("batch/v1", "Job", ns, &job_name).await? else {
                    k.create(&job(c, role)).await?;
                    return Ok(());
                };
                if job_done(&j, "Complete") {
                    let done = k
                        .replace_status(&with_status(c, healthy(c, boot.archives())))
                        .await?;
                    if let (Wrote::Done(_), Some((d, s))) = (done, target(c)) {
                        if boot.archives() {
                            // The first WAL segment of the new primary.
                            let first = segment(boot.timeline, boot.wal + 1);
                            self.bucket.entry(&d, &s).wal.push(first);
                        }
                    }
                } else if job_done(&j, "Failed") {
                    k.replace_status(&with_status(
                        c,
                        json!({"phase": UNRECOVERABLE, "phaseReason": boot.failure}),
                    ))
                    .await?;
                } else if let Some(why) = &boot.failure {
                    k.replace_status(&with_status(&j, job_failed(why))).await?;
                } else if boot.recovery && boot.target_had_data {
                    // The restore Job checks the target before anything:
                    // it fails and is retried, the Cluster stays here.
                    let server = target(c).map(|t| t.1).unwrap_or_default();
                    let why = format!(
                        "WAL archive check failed for server {server}: Expected empty archive"
                    );
                    if c.pointer("/status/phaseReason") != Some(&json!(why)) {
                        k.replace_status(&with_status(c, json!({"phaseReason": why})))
                            .await?;
                    }
                } else {
                    k.replace_status(&with_status(&j, job_complete())).await?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    async fn scheduled(&mut self, k: &mut Kube, sb: &Value) -> Result<()> {
        if sb.pointer("/status/lastCheckTime").is_some()
            || sb.pointer("/spec/suspend") == Some(&json!(true))
        {
            return Ok(());
        }
        let cname = sb
            .pointer("/spec/cluster/name")
            .and_then(Value::as_str)
            .unwrap_or("");
        let cluster = k.get(CNPG, "Cluster", meta(sb, "namespace"), cname).await?;
        let (made, status) = backup::first_schedule(sb, cluster.as_ref(), SystemTime::now());
        if let Some(b) = made {
            k.create(&b).await?;
        }
        k.replace_status(&with_status(sb, status)).await?;
        Ok(())
    }

    async fn backup(&mut self, k: &mut Kube, b: &Value) -> Result<()> {
        let ns = meta(b, "namespace");
        let cname = b
            .pointer("/spec/cluster/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let status = match phase(b) {
            "" => json!({"phase": "pending"}),
            "pending" | "running" => {
                let c = k.get(CNPG, "Cluster", ns, &cname).await?;
                let ready = c.as_ref().filter(|c| phase(c) == HEALTHY);
                match (phase(b), ready, ready.and_then(target)) {
                    (_, None, _) if c.is_none() => {
                        backup::failed(&format!("unknown cluster {cname}"))
                    }
                    (_, None, _) => {
                        backup::failed("cannot proceed with the backup as the cluster is not ready")
                    }
                    (_, Some(_), None) => {
                        backup::failed("no barmanObjectStore section defined on the target cluster")
                    }
                    ("pending", Some(_), Some((dest, server))) => {
                        backup::running(&cname, &dest, &server, SystemTime::now())
                    }
                    (_, Some(c), Some(_)) => {
                        // The base backup lands in the store only once the
                        // Cluster's status says so: a lost race leaves it out.
                        let mut bucket = self.bucket.clone();
                        let (status, cstatus) =
                            backup::complete(b, Some(c), &mut bucket, Contents::default());
                        if k.replace_status(&with_status(c, cstatus)).await? == Wrote::Stale {
                            return Ok(());
                        }
                        self.bucket = bucket;
                        status
                    }
                }
            }
            _ => return Ok(()),
        };
        k.replace_status(&with_status(b, status)).await?;
        Ok(())
    }
}

/// The bootstrap Job of a Cluster: suspended, and managed by the player,
/// so that no Job controller starts its Pod.
fn job(c: &Value, role: &str) -> Value {
    let (ns, name) = (meta(c, "namespace"), meta(c, "name"));
    let primary = format!("{name}-1");
    let image = c
        .pointer("/spec/imageName")
        .and_then(Value::as_str)
        .unwrap_or("ghcr.io/cloudnative-pg/postgresql");
    let labels =
        json!({"cnpg.io/cluster": name, "cnpg.io/jobRole": role, "cnpg.io/instanceName": primary});
    json!({"apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": format!("{primary}-{role}"), "namespace": ns,
            "ownerReferences": [owner(c)], "labels": labels},
        "spec": {"suspend": true, "managedBy": MANAGED_BY, "backoffLimit": 0,
            "template": {"metadata": {"labels": labels},
                "spec": {"restartPolicy": "Never",
                    "containers": [{"name": role, "image": image}]}}}})
}

fn job_done(j: &Value, condition: &str) -> bool {
    j.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == condition && c["status"] == "True")
        })
}

fn job_condition(kind: &str, reason: &str, message: &str) -> Value {
    let t = now();
    json!({"type": kind, "status": "True", "reason": reason, "message": message,
        "lastProbeTime": t, "lastTransitionTime": t})
}

/// A finished Job's status as current API servers accept it (1.31+ want
/// the interim condition first, and both times).
fn job_complete() -> Value {
    let (reason, message) = (
        "CompletionsReached",
        "Reached expected number of succeeded pods",
    );
    json!({"active": 0, "succeeded": 1, "startTime": now(), "completionTime": now(),
        "conditions": [job_condition("SuccessCriteriaMet", reason, message),
            job_condition("Complete", reason, message)]})
}

fn job_failed(why: &str) -> Value {
    let message = format!("Job has reached the specified backoff limit: {why}");
    json!({"active": 0, "failed": 1, "startTime": now(),
        "conditions": [job_condition("FailureTarget", "BackoffLimitExceeded", &message),
            job_condition("Failed", "BackoffLimitExceeded", &message)]})
}
