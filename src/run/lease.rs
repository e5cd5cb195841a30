//! One run of a runbook against a cluster at a time: a
//! `coordination.k8s.io/v1` Lease in the runbook's namespace, held for the
//! run's duration (renewed in the background, released at the end). A
//! lease another live run renews refuses the start; a stale one (its
//! holder stopped renewing, a killed run) is reported with its holder and
//! age, then taken over. The run that holds it may resume through it.

use std::time::Duration;

use serde_json::{json, Value as J};
use tokio::task::JoinHandle;

use super::kube::{ObjectKey, Session};
use crate::cluster::ClusterError;

/// A lease not renewed for this long belongs to a run that is gone.
pub const DURATION: Duration = Duration::from_secs(30);
const RENEW_EVERY: Duration = Duration::from_secs(10);

pub struct Held {
    key: ObjectKey,
    uid: Option<String>,
    renewer: JoinHandle<()>,
    /// A stale lease that was taken over: holder and age, for the operator.
    pub took_over: Option<String>,
}

/// Why a lease could not be taken.
#[derive(Debug)]
pub enum Refused {
    /// Another run renews it.
    Busy {
        holder: String,
        age: Duration,
    },
    Cluster(ClusterError),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Busy { holder, age } => write!(
                f,
                "another run of this runbook holds the cluster's lease: {holder}, renewed {} ago; wait for it to end (or, if it is dead, for the lease to go stale after {} s)",
                super::term::format_duration(*age),
                DURATION.as_secs()
            ),
            Refused::Cluster(e) => write!(f, "cannot take the run's lease: {e}"),
        }
    }
}

pub fn key(namespace: &str, runbook: &str) -> ObjectKey {
    ObjectKey {
        api_version: "coordination.k8s.io/v1".into(),
        kind: "Lease".into(),
        namespace: Some(namespace.into()),
        name: format!("docs-run-{runbook}")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c.to_ascii_lowercase()
                } else {
                    '-'
                }
            })
            .take(63)
            .collect(),
    }
}

fn micro_time() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string()
}

/// Age of a lease from its `renewTime` (or `acquireTime`).
fn age(lease: &J) -> Option<Duration> {
    let t = lease
        .pointer("/spec/renewTime")
        .or_else(|| lease.pointer("/spec/acquireTime"))
        .and_then(J::as_str)?;
    let then: jiff::Timestamp = t.parse().ok()?;
    let secs = jiff::Timestamp::now().duration_since(then).as_secs_f64();
    Some(Duration::from_secs_f64(secs.max(0.0)))
}

/// A conflict while taking the lease: another run took it just now.
fn lost_race(e: ClusterError) -> Refused {
    match e {
        ClusterError::Conflict { .. } => Refused::Busy {
            holder: "another run, just now".into(),
            age: Duration::ZERO,
        },
        other => Refused::Cluster(other),
    }
}

/// Whether a holder (`<run> <user>@<host> pid <N>`) is a process of this
/// machine that no longer exists: its lease is stale at once.
fn holder_is_gone(holder: &str) -> bool {
    let mut words = holder.split_whitespace();
    let (Some(_run), Some(who), Some("pid"), Some(pid)) =
        (words.next(), words.next(), words.next(), words.next())
    else {
        return false;
    };
    let host = who.rsplit('@').next().unwrap_or("");
    let Ok(pid) = pid.parse::<i32>() else {
        return false;
    };
    if host != super::preflight::hostname() || pid <= 0 {
        return false;
    }
    // SAFETY: signal 0 only checks that the process exists.
    let alive = unsafe { libc::kill(pid, 0) } == 0
        || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
    !alive
}

/// Takes the lease for `holder` (which starts with the run id, so the same
/// run may take it again when it resumes).
pub async fn acquire(
    session: &std::sync::Arc<Session>,
    key: ObjectKey,
    holder: &str,
    run_id: &str,
) -> Result<Held, Refused> {
    let now = micro_time();
    let spec = json!({
        "holderIdentity": holder,
        "leaseDurationSeconds": DURATION.as_secs(),
        "acquireTime": now,
        "renewTime": now,
    });
    let mut took_over = None;
    let live = session.get(&key).await.map_err(Refused::Cluster)?;
    let obj = match live {
        None => {
            let body = json!({
                "apiVersion": key.api_version, "kind": key.kind,
                "metadata": {"name": key.name, "namespace": key.namespace},
                "spec": spec,
            });
            session
                .create(&key, &body, false)
                .await
                .map_err(lost_race)?
        }
        Some(lease) => {
            let current = lease
                .pointer("/spec/holderIdentity")
                .and_then(J::as_str)
                .unwrap_or("")
                .to_string();
            let age = age(&lease).unwrap_or(DURATION);
            let ours = current.starts_with(&format!("{run_id} "));
            let dead = holder_is_gone(&current);
            if !ours && !current.is_empty() && age < DURATION && !dead {
                return Err(Refused::Busy {
                    holder: current,
                    age,
                });
            }
            if !ours && !current.is_empty() {
                took_over = Some(if dead && age < DURATION {
                    format!(
                        "took over the lease of {current}: that process is gone from this machine (renewed {} ago)",
                        super::term::format_duration(age)
                    )
                } else {
                    format!(
                        "took over a stale lease of {current} (last renewed {} ago)",
                        super::term::format_duration(age)
                    )
                });
            }
            // The resourceVersion makes this a compare-and-swap.
            let rv = lease
                .pointer("/metadata/resourceVersion")
                .cloned()
                .unwrap_or(J::Null);
            let patch = json!({"metadata": {"resourceVersion": rv}, "spec": spec});
            session
                .merge_patch(&key, &patch, false)
                .await
                .map_err(lost_race)?
        }
    };
    let uid = obj
        .pointer("/metadata/uid")
        .and_then(J::as_str)
        .map(str::to_string);
    let renewer = {
        let session = session.clone();
        let key = key.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(RENEW_EVERY).await;
                let patch = json!({"spec": {"renewTime": micro_time()}});
                // A failed renewal is not retried: the next one comes.
                let _ = session.merge_patch(&key, &patch, false).await;
            }
        })
    };
    Ok(Held {
        key,
        uid,
        renewer,
        took_over,
    })
}

impl Held {
    /// Stops renewing and deletes the lease (only if it is still ours).
    pub async fn release(self, session: &Session) {
        self.renewer.abort();
        let _ = session.delete(&self.key, self.uid.as_deref(), false).await;
    }
}
