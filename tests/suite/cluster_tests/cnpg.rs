//! The simulated CloudNativePG operator: recovery and its failures,
//! archiving, Backups and ScheduledBackups.

use std::time::Duration;

use serde_json::{json, Value};

use super::*;
use crate::cluster::{HEALTHY, SETTING_UP, UNRECOVERABLE};

const DEST: &str = "s3://bucket/cnpg";

fn job(c: &crate::cluster::TestCluster, name: &str) -> Value {
    c.get("jobs.batch", NS, name)
        .unwrap_or_else(|| panic!("job {name}"))
}

#[test]
fn recovery_from_the_previous_lineage_comes_up_healthy_on_the_next() {
    let c = server();
    c.seed_backup(DEST, "db-v1", "20250101T020000");
    let v1_before = c.lineage("db-v1");
    c.create(cluster_json("db", recovery(), "db-v2", Some("db-v1")))
        .unwrap();
    let cl = c.wait_for_field("cluster", NS, "db", "/status/phase", SETTING_UP);
    assert_eq!(cl["status"]["readyInstances"], 0);
    let healthy = wait_phase(&c, "db", HEALTHY);
    let conds = healthy["status"]["conditions"].as_array().unwrap();
    let cond = |t: &str| {
        conds
            .iter()
            .find(|x| x["type"] == t)
            .map(|x| x["status"].clone())
    };
    assert_eq!(
        (cond("Ready"), cond("ContinuousArchiving")),
        (Some(json!("True")), Some(json!("True")))
    );
    assert_eq!(healthy["status"]["readyInstances"], 1);
    let j = job(&c, "db-1-full-recovery");
    assert_eq!(j["metadata"]["labels"]["cnpg.io/jobRole"], "full-recovery");
    assert_eq!(j["metadata"]["labels"]["cnpg.io/cluster"], "db");
    assert_eq!(j["status"]["succeeded"], 1);
    for pvc in ["db-1", "db-1-wal"] {
        let p = c.get("pvc", NS, pvc).unwrap();
        assert_eq!(p["metadata"]["labels"]["cnpg.io/cluster"], "db");
        assert_eq!(
            p["metadata"]["ownerReferences"][0]["uid"],
            healthy["metadata"]["uid"]
        );
    }
    assert_eq!(
        c.get("pod", NS, "db-1").unwrap()["status"]["phase"],
        "Running"
    );
    // WAL goes to the new lineage only.
    let v2 = c.wait_until("WAL archived to db-v2", Duration::from_secs(10), |c| {
        Some(c.lineage("db-v2")).filter(|l| !l.wal.is_empty())
    });
    assert!(
        v2.wal[0].starts_with("00000002"),
        "a new timeline: {:?}",
        v2.wal
    );
    assert_eq!(c.lineage("db-v1"), v1_before);
    assert_eq!(c.switch_wal(NS, "db").as_deref().map(|s| s.len()), Some(24));
}

#[test]
fn recovery_without_a_base_backup_finds_no_target_backup() {
    let c = server();
    c.create(cluster_json("db", recovery(), "db-v2", Some("db-v1")))
        .unwrap();
    let cl = wait_phase(&c, "db", UNRECOVERABLE);
    assert_eq!(cl["status"]["phaseReason"], "no target backup found");
    let j = job(&c, "db-1-full-recovery");
    assert_eq!(j["status"]["failed"], 1);
    assert_eq!(j["status"]["conditions"][0]["type"], "Failed");
    let dir = tempdir();
    let log = kubectl_ok(
        &c,
        dir.path(),
        &["logs", "-n", NS, "job/db-1-full-recovery"],
    );
    assert!(log.contains("no target backup found"), "{log}");
    let pods = kubectl_ok(
        &c,
        dir.path(),
        &[
            "get",
            "pods",
            "-n",
            NS,
            "-l",
            "cnpg.io/jobRole=full-recovery",
        ],
    );
    assert!(pods.contains("Failed"), "{pods}");
    assert!(c.lineage("db-v2").is_empty());
}

#[test]
fn a_failed_recovery_job_leaves_the_cluster_unrecoverable() {
    let c = server();
    c.seed_backup(DEST, "db-v1", "20250101T020000");
    c.fail_recovery_jobs(true);
    c.create(cluster_json("db", recovery(), "db-v2", Some("db-v1")))
        .unwrap();
    let cl = wait_phase(&c, "db", UNRECOVERABLE);
    assert_ne!(cl["status"]["phaseReason"], "no target backup found");
    assert!(c.get("pod", NS, "db-1").is_none());
}

#[test]
fn recovery_into_a_used_lineage_expects_an_empty_archive() {
    let c = server();
    c.seed_backup(DEST, "db-v1", "20250101T020000");
    c.create(cluster_json("db", recovery(), "db-v1", Some("db-v1")))
        .unwrap();
    let cl = c.wait_until("Expected empty archive", Duration::from_secs(10), |c| {
        c.get("cluster", NS, "db").filter(|o| {
            o.pointer("/status/phaseReason")
                .and_then(Value::as_str)
                .is_some_and(|r| r.contains("Expected empty archive"))
        })
    });
    assert_eq!(cl["status"]["phase"], SETTING_UP);
    c.wait_ticks(20);
    assert_eq!(phase(&c, "db"), SETTING_UP, "it stays there");
    let dir = tempdir();
    let log = kubectl_ok(
        &c,
        dir.path(),
        &["logs", "-n", NS, "job/db-1-full-recovery"],
    );
    assert!(log.contains("Expected empty archive"), "{log}");
}

#[test]
fn initdb_into_a_used_lineage_runs_but_does_not_archive() {
    let c = server();
    c.seed_backup(DEST, "db-v1", "20250101T020000");
    let before = c.lineage("db-v1");
    c.create(cluster_json("db", initdb(), "db-v1", None))
        .unwrap();
    let cl = wait_phase(&c, "db", HEALTHY);
    let arch = cl["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["type"] == "ContinuousArchiving")
        .unwrap()
        .clone();
    assert_eq!(arch["status"], "False");
    assert!(arch["message"]
        .as_str()
        .unwrap()
        .contains("Expected empty archive"));
    c.wait_ticks(20);
    assert_eq!(c.lineage("db-v1"), before);
    assert!(job(&c, "db-1-initdb")["status"]["succeeded"] == 1);
}

#[test]
fn backups_complete_into_the_target_lineage_and_scheduled_ones_are_labelled() {
    let c = server();
    let dir = tempdir();
    c.create(cluster_json("db", initdb(), "db-v1", None))
        .unwrap();
    wait_phase(&c, "db", HEALTHY);
    let manual = "apiVersion: postgresql.cnpg.io/v1\nkind: Backup\nmetadata:\n  name: manual\n  namespace: cloudnative-pg\nspec:\n  cluster:\n    name: db\n";
    let out = kubectl_stdin(&c, dir.path(), &["create", "-f", "-"], manual);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let phases = std::cell::RefCell::new(Vec::<String>::new());
    let b = c.wait_until("the Backup to complete", Duration::from_secs(10), |c| {
        let b = c.get("backups.postgresql.cnpg.io", NS, "manual")?;
        let p = b
            .pointer("/status/phase")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if phases.borrow().last() != Some(&p) {
            phases.borrow_mut().push(p.clone());
        }
        (p == "completed").then_some(b)
    });
    let phases = phases.into_inner();
    assert!(
        phases.contains(&"running".to_string()) && phases.ends_with(&["completed".to_string()]),
        "{phases:?}"
    );
    let s = &b["status"];
    assert_eq!(
        (s["serverName"].as_str(), s["destinationPath"].as_str()),
        (Some("db-v1"), Some(DEST))
    );
    assert!(
        s["backupId"].as_str().is_some_and(|i| i.len() == 15)
            && s["startedAt"].is_string()
            && s["stoppedAt"].is_string()
    );
    assert!(
        b.pointer("/metadata/labels/cnpg.io~1cluster").is_none(),
        "a manual Backup has no cluster label"
    );
    let l = c.lineage("db-v1");
    assert_eq!(l.base_backups.len(), 1);
    assert_eq!(l.base_backups[0].id, s["backupId"].as_str().unwrap());
    let cl = c.get("cluster", NS, "db").unwrap();
    assert!(
        cl["status"]["firstRecoverabilityPoint"].is_string()
            && cl["status"]["lastSuccessfulBackup"].is_string()
    );
    // A ScheduledBackup with immediate: true makes a labelled Backup at once.
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/manifests/infrastructure/database/cnpg/immich/scheduled-backup.yaml"
    ))
    .unwrap();
    let text = text.replace("immich-database", "db");
    let out = kubectl_stdin(&c, dir.path(), &["create", "-f", "-"], &text);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let scheduled = c.wait_until("a scheduled Backup", Duration::from_secs(10), |c| {
        c.list("backups.postgresql.cnpg.io", Some(NS))
            .into_iter()
            .find(|b| {
                b.pointer("/metadata/labels/cnpg.io~1scheduled-backup")
                    .is_some()
            })
    });
    assert_eq!(scheduled["metadata"]["labels"]["cnpg.io/cluster"], "db");
    assert_eq!(
        scheduled["metadata"]["ownerReferences"][0]["kind"],
        "ScheduledBackup"
    );
    let name = scheduled["metadata"]["name"].as_str().unwrap().to_string();
    c.wait_for_field(
        "backups.postgresql.cnpg.io",
        NS,
        &name,
        "/status/phase",
        "completed",
    );
    let out = kubectl_ok(
        &c,
        dir.path(),
        &[
            "get",
            "backups",
            "-n",
            NS,
            "-l",
            "cnpg.io/cluster=db",
            "-o",
            "name",
        ],
    );
    assert_eq!(out.lines().count(), 1, "{out}");
    // A Backup of an unhealthy (missing) cluster fails; so does one the test fails.
    c.create(json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Backup", "metadata": {"name": "orphan", "namespace": NS}, "spec": {"cluster": {"name": "nope"}}})).unwrap();
    c.wait_for_field(
        "backups.postgresql.cnpg.io",
        NS,
        "orphan",
        "/status/phase",
        "failed",
    );
    c.fail_backups(true);
    c.create(json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Backup", "metadata": {"name": "doomed", "namespace": NS}, "spec": {"cluster": {"name": "db"}}})).unwrap();
    c.wait_for_field(
        "backups.postgresql.cnpg.io",
        NS,
        "doomed",
        "/status/phase",
        "failed",
    );
    assert_eq!(c.lineage("db-v1").base_backups.len(), 2);
}

#[test]
fn kubectl_exec_psql_switches_wal_in_the_simulated_primary() {
    let c = server();
    let dir = tempdir();
    c.create(cluster_json("db", initdb(), "db-v1", None))
        .unwrap();
    wait_phase(&c, "db", HEALTHY);
    c.set_speeds(|s| s.wal_interval = Duration::from_secs(3600));
    c.wait_ticks(2);
    let before = c.lineage("db-v1").wal.len();
    let out = kubectl_ok(
        &c,
        dir.path(),
        &[
            "exec",
            "-n",
            NS,
            "db-1",
            "--",
            "psql",
            "-c",
            "SELECT pg_switch_wal()",
        ],
    );
    assert!(
        out.contains("pg_switch_wal") && out.contains("(1 row)"),
        "{out}"
    );
    let lsn = kubectl_ok(
        &c,
        dir.path(),
        &[
            "exec",
            "-n",
            NS,
            "db-1",
            "--",
            "psql",
            "-tA",
            "-c",
            "select pg_switch_wal();",
        ],
    );
    assert!(lsn.trim().starts_with("0/"), "{lsn}");
    let wal = c.lineage("db-v1").wal;
    assert_eq!(wal.len(), before + 2, "one segment per switch");
    let last = kubectl_ok(
        &c,
        dir.path(),
        &[
            "exec",
            "-n",
            NS,
            "db-1",
            "--",
            "psql",
            "-tA",
            "-c",
            "select last_archived_wal from pg_stat_archiver",
        ],
    );
    assert_eq!(last.trim(), wal.last().unwrap());
    let out = kubectl(
        &c,
        dir.path(),
        &["exec", "-n", NS, "db-1", "--", "rm", "-rf", "/"],
    );
    assert_eq!(out.status.code(), Some(127));
    let upgrade = c
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/pods/db-1/exec"))
        .unwrap();
    assert_eq!(
        upgrade
            .params
            .iter()
            .filter(|(k, _)| k == "command")
            .count(),
        3
    );
}

#[test]
fn deleting_a_cluster_waits_for_its_finalizer_then_collects_its_pvcs() {
    let c = server();
    c.set_speeds(|s| s.cluster_finalizer = Some(Duration::from_millis(50)));
    c.create(cluster_json("db", initdb(), "db-v1", None))
        .unwrap();
    wait_phase(&c, "db", HEALTHY);
    assert!(
        c.get("cluster", NS, "db").unwrap()["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty())
    );
    let deleted = c.delete("cluster", NS, "db").unwrap();
    assert!(deleted["metadata"]["deletionTimestamp"].is_string());
    c.wait_until("the Cluster to go", Duration::from_secs(10), |c| {
        c.get("cluster", NS, "db").is_none().then_some(())
    });
    c.wait_until("the PVCs and Pod to go", Duration::from_secs(10), |c| {
        (c.list("pvc", Some(NS)).is_empty() && c.list("pod", Some(NS)).is_empty()).then_some(())
    });
}

#[test]
fn a_recovered_database_holds_what_its_backup_held() {
    let c = server();
    let dir = tempdir();
    c.create(cluster_json("old", initdb(), "old-v1", None))
        .unwrap();
    wait_phase(&c, "old", HEALTHY);
    let data = crate::cluster::Contents {
        tables: vec![("photos".into(), 42)],
        extensions: vec!["plpgsql".into(), "vchord".into()],
    };
    assert!(c.set_contents(NS, "old", data.clone()));
    c.create(json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Backup", "metadata": {"name": "b", "namespace": NS}, "spec": {"cluster": {"name": "old"}}})).unwrap();
    c.wait_for_field(
        "backups.postgresql.cnpg.io",
        NS,
        "b",
        "/status/phase",
        "completed",
    );
    c.create(cluster_json("new", recovery(), "new-v2", Some("old-v1")))
        .unwrap();
    wait_phase(&c, "new", HEALTHY);
    assert_eq!(c.contents(NS, "new"), Some(data));
    let query = "SELECT relname AS table, reltuples::bigint AS rows FROM pg_class WHERE relkind = 'r' ORDER BY reltuples DESC LIMIT 10;";
    let out = kubectl_ok(
        &c,
        dir.path(),
        &[
            "exec", "-n", NS, "new-1", "-c", "postgres", "--", "psql", "-d", "app", "-c", query,
        ],
    );
    assert_eq!(
        out,
        " table  | rows \n--------+------\n photos |   42\n(1 row)\n\n"
    );
    let out = kubectl_ok(
        &c,
        dir.path(),
        &[
            "exec",
            "-n",
            NS,
            "new-1",
            "--",
            "psql",
            "-c",
            "SELECT extname, extversion FROM pg_extension",
        ],
    );
    assert!(out.contains("vchord") && out.contains("(2 rows)"), "{out}");
    // An initdb Cluster is empty: what a recovery through Argo CD would give.
    c.create(cluster_json("empty", initdb(), "empty-v1", None))
        .unwrap();
    wait_phase(&c, "empty", HEALTHY);
    let out = kubectl_ok(
        &c,
        dir.path(),
        &["exec", "-n", NS, "empty-1", "--", "psql", "-c", query],
    );
    assert!(out.contains("(0 rows)"), "{out}");
}
